import { parseArgs } from 'node:util';
import { assertWritable } from '../../../db/connection.js';
import { DEFAULT_CONFIG } from '../../engine/erase.js';
import { DEFAULT_FISHER_METHOD, type Curvature, type FisherMethod } from '../../engine/linear/fisher.js';
import { parseEpsilonList } from '../../engine/linear/sweep.js';
import { calibrate, certifyModel } from '../../store/certify.js';
import { modelLabel, requireModel } from '../../store/models.js';
import { parseChoice, parseNumber, usageError, type CliIo } from '../options.js';
import { STORE_OPTIONS, withCliStore, withProgress } from '../storeOptions.js';

export const CERTIFY_USAGE = `  ssse certify --model NAME[@VERSION] [--curvature empirical|expected] [--damping λ_F]
               [--fisher-method blocked|cholesky|sherman-morrison] [--calibrate
               [--calibrate-fraction 0.02] [--calibrate-seed 0] [--epsilon-sweep a,b,c]] [--json]
      computes F̂⁻¹ of the version (default: the latest) and stores it next to the database;
      --calibrate also erases a random fraction in simulation, retrains, and records the ε with
      the largest γ_S, which later requests use with --verify none
`;

const OPTIONS = {
  ...STORE_OPTIONS,
  model: { type: 'string' },
  curvature: { type: 'string' },
  damping: { type: 'string' },
  'fisher-method': { type: 'string' },
  calibrate: { type: 'boolean' },
  'calibrate-fraction': { type: 'string' },
  'calibrate-seed': { type: 'string' },
  'epsilon-sweep': { type: 'string' },
  tolerance: { type: 'string' },
  backend: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function commandCertify(args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    io.out.write(CERTIFY_USAGE);
    return;
  }
  if (!values.model) throw usageError('certify: --model NAME[@VERSION] is required');
  const ref = values.model;
  const curvature = parseChoice<Curvature>('curvature', values.curvature, 'empirical', ['empirical', 'expected']);
  const method = parseChoice<FisherMethod>('fisher-method', values['fisher-method'], DEFAULT_FISHER_METHOD, ['blocked', 'cholesky', 'sherman-morrison']);
  const damping = values.damping === undefined ? null : parseNumber('damping', values.damping, 0, (v) => v > 0, 'a number > 0');
  const fraction = parseNumber('calibrate-fraction', values['calibrate-fraction'], 0.02, (v) => v > 0 && v < 1, 'a fraction between 0 and 1');
  const seed = parseNumber('calibrate-seed', values['calibrate-seed'], 0, (v) => Number.isInteger(v) && v >= 0, 'a whole number ≥ 0');
  const tolerance = parseNumber('tolerance', values.tolerance, DEFAULT_CONFIG.tolerance, (v) => v > 0 && v < 1, 'a number between 0 and 1');
  const grid = values['epsilon-sweep'] === undefined ? null : parseEpsilonList(values['epsilon-sweep']);
  if (!values.calibrate && (values['calibrate-fraction'] !== undefined || values['calibrate-seed'] !== undefined || grid !== null)) {
    throw usageError('certify: --calibrate-fraction, --calibrate-seed and --epsilon-sweep need --calibrate');
  }

  await withCliStore(values, 'write', async (store) => {
    assertWritable(store);
    const model = requireModel(store, ref);
    const result = await withProgress(io, values.backend, async (control) => {
      const { certification, created } = await certifyModel(store, model, { curvature, damping, method, ...control });
      const calibration = values.calibrate ? await calibrate(store, model, certification, { fraction, seed, epsilonGrid: grid, tolerance, ...control }) : null;
      return { certification, created, calibration };
    });
    const { certification: c, created, calibration } = result;
    if (values.json) {
      io.out.write(`${JSON.stringify({ model: modelLabel(model), certification: c, created, calibration: calibration && { ...calibration, sweep: JSON.parse(calibration.sweep) as unknown } }, null, 2)}\n`);
      return;
    }
    io.out.write(
      `${created ? 'Certified' : 'Already certified'} ${modelLabel(model)}: certification #${c.id} (${c.curvature} Fisher, λ_F = ${c.damping}, ${c.method}, ` +
        `${c.terms} terms${created ? `, ${c.seconds} s` : ''}); recorded in ${store.file}\n`,
    );
    if (calibration) {
      io.out.write(
        `Calibrated: ε = ${calibration.epsilon} (γ_S = ${calibration.gamma_S === null ? 'undefined' : calibration.gamma_S.toFixed(3)} erasing a random ` +
          `${(100 * fraction).toFixed(1)}%, k = ${calibration.k}, seed ${seed}); calibration #${calibration.id}\n`,
      );
    }
  });
}
