import { commandEraseNetwork, wantsNetwork } from './eraseNetwork.js';
import { parseArgs } from 'node:util';
import { assertWritable, type Store } from '../../../db/connection.js';
import { isSsseError } from '../../engine/errors.js';
import { DEFAULT_CONFIG } from '../../engine/erase.js';
import { DEFAULT_FISHER_METHOD, type Curvature, type FisherMethod } from '../../engine/linear/fisher.js';
import { parseEpsilonList } from '../../engine/linear/sweep.js';
import { checkOutputDir, commitOutputDir } from '../../engine/output.js';
import { parseDate } from '../../store/dates.js';
import { resumeErasure, submitErasure, type ErasureResult, type ErasureSettings } from '../../store/erasure.js';
import { recordExport } from '../../store/exports.js';
import { requestDetail, requestSummary } from '../../store/views.js';
import { parseChoice, parseNumber, usageError, type CliIo } from '../options.js';
import { STORE_OPTIONS, parseId, withCliStore, withProgress } from '../storeOptions.js';
import { commandErase, outputFiles } from './erase.js';

export const ERASURE_USAGE = `  ssse erase --model NAME[@VERSION] --remove FILE [--subject REF] [--ground TEXT]
             [--received DATE] [--due DATE] [--verify retrain|none] [--epsilon E |
             --epsilon-sweep a,b,c] [--damping λ_F] [--curvature C] [--fisher-method M]
             [--out DIR [--overwrite]] [--json]
      records an erasure request and runs it against the stored θ and F̂⁻¹ of the version
      (default: the latest), producing the next version. Without --epsilon, ε comes from the
      sweep (--verify retrain, the default) or the certification's calibration (--verify none).
      --subject is stored only as a salted hash; --due defaults to one month after --received
      (default: now). A bad request is rejected with its reason, and recorded as rejected.
  ssse erase --resume ID
      runs a failed (interrupted or cancelled) request again
`;

const OPTIONS = {
  ...STORE_OPTIONS,
  model: { type: 'string' },
  remove: { type: 'string' },
  resume: { type: 'string' },
  subject: { type: 'string' },
  ground: { type: 'string' },
  received: { type: 'string' },
  due: { type: 'string' },
  verify: { type: 'string' },
  epsilon: { type: 'string' },
  'epsilon-sweep': { type: 'string' },
  damping: { type: 'string' },
  curvature: { type: 'string' },
  'fisher-method': { type: 'string' },
  tolerance: { type: 'string' },
  backend: { type: 'string' },
  out: { type: 'string' },
  overwrite: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Whether `ssse erase` arguments ask for the store (--model or --resume) rather than a --dataset run. */
export function usesStore(args: string[]): boolean {
  return args.some((a) => a === '--model' || a.startsWith('--model=') || a === '--resume' || a.startsWith('--resume='));
}

/** `ssse erase`: against the store with --model/--resume, else the stand-alone --dataset form. */
export async function commandEraseAny(args: string[], io: CliIo): Promise<void | number> {
  if (wantsNetwork(args)) return commandEraseNetwork(args, io);
  return usesStore(args) ? commandEraseModel(args, io) : commandErase(args, io);
}

const pct = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : `${(100 * v).toFixed(2)}%`);
const num = (v: number | null): string => (v === null ? 'undefined' : v.toFixed(3));

/** What happened to a request, for people. */
export function describeResult(store: Store, result: ErasureResult): string {
  const r = requestSummary(store, result.request);
  const lines: string[] = [];
  if (r.status === 'rejected') {
    lines.push(`Request #${r.id} REJECTED: ${r.reason}`, `  recorded in ${store.file} (status rejected)`);
    return `${lines.join('\n')}\n`;
  }
  if (r.status === 'failed') {
    lines.push(`Request #${r.id} FAILED: ${r.reason}`, `  recorded in ${store.file} (status failed)`);
    return `${lines.join('\n')}\n`;
  }
  const o = result.outcome;
  lines.push(`Request #${r.id} ${r.status}: erased k = ${r.k} samples from ${r.model}; the result is ${r.result_model}. Recorded in ${store.file}`);
  if (o) {
    const s = o.summary;
    lines.push(`  n = ${s.n} samples in ${r.model}'s training set, d = ${s.d}, ${s.attributes} attributes; backend ${s.backend}`);
    lines.push(`  ε = ${s.epsilon} (${r.epsilon_source})`);
    if (s.verify === 'retrain') {
      lines.push(`  γ_S = ${num(s.gamma_S)}  (0: behaves like the original, 1: like the retrained model)`);
      lines.push(`  normalized parameter distance to retraining = ${num(s.normalized_distance)}  (0 is best)`);
    } else {
      lines.push('  not verified against a retrained model (--verify none)');
    }
    const acc = (key: 'removed' | 'retained' | 'test', label: string): string => {
      const rt = s.accuracy.retrained ? `, retrained ${pct(s.accuracy.retrained[key])}` : '';
      return `  attribute accuracy on ${label}: original ${pct(s.accuracy.star[key])}, erased ${pct(s.accuracy.hat[key])}${rt}`;
    };
    lines.push(acc('removed', 'S'), acc('retained', 'D \\ S'));
    if (s.accuracy.star.test !== null) lines.push(acc('test', 'test'));
  }
  lines.push(`  due ${r.due_at}; check the record with: ssse request ${r.id} --db ${store.file}`);
  return `${lines.join('\n')}\n`;
}

function settingsOf(values: { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean }): ErasureSettings {
  const epsilon = values.epsilon === undefined ? null : parseNumber('epsilon', values.epsilon, 0, (v) => v >= 0, 'a number ≥ 0');
  if (epsilon !== null && values['epsilon-sweep'] !== undefined) throw usageError('erase: give --epsilon or --epsilon-sweep, not both');
  return {
    epsilon,
    epsilonGrid: values['epsilon-sweep'] === undefined ? null : parseEpsilonList(values['epsilon-sweep']),
    verify: parseChoice('verify', values.verify, 'retrain', ['retrain', 'none'] as const),
    damping: values.damping === undefined ? null : parseNumber('damping', values.damping, 0, (v) => v > 0, 'a number > 0'),
    curvature: values.curvature === undefined ? null : parseChoice<Curvature>('curvature', values.curvature, 'empirical', ['empirical', 'expected']),
    fisherMethod: values['fisher-method'] === undefined ? null : parseChoice<FisherMethod>('fisher-method', values['fisher-method'], DEFAULT_FISHER_METHOD, ['blocked', 'cholesky', 'sherman-morrison']),
    tolerance: parseNumber('tolerance', values.tolerance, DEFAULT_CONFIG.tolerance, (v) => v > 0 && v < 1, 'a number between 0 and 1'),
  };
}

export async function commandEraseModel(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    io.out.write(ERASURE_USAGE);
    return 0;
  }
  const resume = values.resume === undefined ? null : parseId('--resume', values.resume);
  if (resume === null) {
    if (!values.model) throw usageError('erase: --model NAME[@VERSION] is required');
    if (!values.remove) throw usageError('erase: --remove FILE is required');
  } else if (values.model || values.remove) {
    throw usageError('erase: --resume runs a recorded request as it was; do not give --model or --remove');
  }
  const settings = settingsOf(values);
  const receivedAt = values.received === undefined ? null : parseDate('received', values.received);
  const dueAt = values.due === undefined ? null : parseDate('due', values.due);
  if (values.out) checkOutputDir(values.out, Boolean(values.overwrite));

  return withCliStore(values, 'write', async (store) => {
    assertWritable(store);
    const result = await withProgress(io, values.backend, (control) =>
      resume !== null
        ? resumeErasure(store, resume, control)
        : submitErasure(
            store,
            {
              modelRef: values.model as string,
              removal: { file: values.remove as string },
              subject: values.subject ?? null,
              legalGround: values.ground ?? null,
              receivedAt,
              dueAt,
              settings,
            },
            control,
          ),
    );
    if (result.outcome && values.out) {
      const files = outputFiles(result.outcome);
      commitOutputDir(values.out, files, Boolean(values.overwrite));
      recordExport(store, result.request.id, values.out, files);
    }
    if (values.json) io.out.write(`${JSON.stringify(requestDetail(store, result.request), null, 2)}\n`);
    else io.out.write(describeResult(store, result));
    // A failure the engine did not expect is a bug: recorded as failed above, and shown in full.
    if (result.error !== null && !isSsseError(result.error)) throw result.error;
    if (isSsseError(result.error) && result.error.code === 'CANCELLED') return 130;
    return result.request.status === 'applied' || result.request.status === 'verified' ? 0 : 1;
  });
}
