import { parseArgs } from 'node:util';
import { getMeta, getRequest, listRequests, type RequestStatus } from '../../../db/queries.js';
import { SsseError } from '../../engine/errors.js';
import { subjectHash } from '../../store/subjects.js';
import { requestDetail, requestSummary } from '../../store/views.js';
import { parseChoice, usageError, type CliIo } from '../options.js';
import { STORE_OPTIONS, parseId, withCliStore } from '../storeOptions.js';

export const REQUESTS_USAGE = `  ssse requests [--status S] [--model NAME] [--subject REF] [--json]
      lists erasure requests (--json: an array of objects with id, status, model,
      result_model, received_at, due_at, overdue, k, epsilon, gamma_S, reason, …)
  ssse request ID [--json]
      shows one request: samples (id and feature SHA-256), settings, ε and its source,
      every metric, the ε sweep, timings and its audit entries
`;

const OPTIONS = {
  ...STORE_OPTIONS,
  status: { type: 'string' },
  model: { type: 'string' },
  subject: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const STATUSES: readonly RequestStatus[] = ['received', 'computing', 'applied', 'verified', 'failed', 'rejected'];

const fmt = (v: number | null, digits = 3): string => (v === null ? '-' : v.toFixed(digits));

export async function commandRequests(args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    io.out.write(REQUESTS_USAGE);
    return;
  }
  const status = values.status === undefined ? undefined : parseChoice<RequestStatus>('status', values.status, 'received', STATUSES);
  await withCliStore(values, 'read', (store) => {
    const salt = getMeta(store.db, 'subject_salt');
    const filter = {
      ...(status ? { status } : {}),
      ...(values.model ? { modelName: values.model } : {}),
      ...(values.subject !== undefined && salt ? { subjectHash: subjectHash(salt, values.subject) } : {}),
    };
    const views = listRequests(store.db, filter).map((r) => requestSummary(store, r));
    if (values.json) {
      io.out.write(`${JSON.stringify(views, null, 2)}\n`);
      return;
    }
    if (views.length === 0) {
      io.out.write(`No requests in ${store.file}${Object.keys(filter).length ? ' match' : ''}.\n`);
      return;
    }
    io.out.write(`${'id'.padStart(4)}  ${'status'.padEnd(9)}  ${'model'.padEnd(22)}  ${'result'.padEnd(22)}  ${'k'.padStart(5)}  ${'γ_S'.padStart(6)}  ${'received'.padEnd(10)}  due\n`);
    for (const v of views) {
      io.out.write(
        `${String(v.id).padStart(4)}  ${v.status.padEnd(9)}  ${v.model.padEnd(22)}  ${(v.result_model ?? '-').padEnd(22)}  ${String(v.k ?? '-').padStart(5)}  ` +
          `${fmt(v.gamma_S).padStart(6)}  ${v.received_at.slice(0, 10)}  ${v.due_at.slice(0, 10)}${v.overdue ? ' OVERDUE' : ''}` +
          `${v.reason ? `\n      ${v.reason}` : ''}\n`,
      );
    }
  });
}

export async function commandRequest(args: string[], io: CliIo): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: true });
  if (values.help) {
    io.out.write(REQUESTS_USAGE);
    return;
  }
  if (positionals.length !== 1) throw usageError('request: give one request number, e.g. ssse request 3');
  const id = parseId('request', positionals[0]);
  await withCliStore(values, 'read', (store) => {
    const row = getRequest(store.db, id);
    if (!row) throw new SsseError('BAD_ARGUMENT', `request: there is no request #${id} in ${store.file}`);
    const v = requestDetail(store, row);
    if (values.json) {
      io.out.write(`${JSON.stringify(v, null, 2)}\n`);
      return;
    }
    const lines = [
      `Request #${v.id}: ${v.status}${v.overdue ? ' (OVERDUE)' : ''}`,
      `  model            ${v.model}${v.result_model ? ` → ${v.result_model}` : ''}  (asked: ${v.model_ref})`,
      `  received         ${v.received_at} by ${v.entered_by}; due ${v.due_at}`,
      `  subject          ${v.subject_hash ? `${v.subject_hash} (salted hash of the reference)` : '(not given)'}`,
      `  legal ground     ${v.legal_ground ?? '(not given)'}`,
      `  removal list     ${v.removal_source ?? '-'}${v.removal_sha256 ? ` (SHA-256 ${v.removal_sha256})` : ''}`,
      `  samples          ${v.samples.length}${v.samples.length ? `: ${v.samples.slice(0, 5).map((s) => s.id).join(', ')}${v.samples.length > 5 ? ', …' : ''}` : ''}`,
      `  method           ${v.method}, settings ${JSON.stringify(v.settings)}`,
      `  certification    ${v.certification ? `#${v.certification.id} (${v.certification.curvature}, λ_F = ${v.certification.damping}, ${v.certification.method})` : '-'}`,
      `  ε                ${v.epsilon ?? '-'}${v.epsilon_source ? ` (${v.epsilon_source})` : ''}`,
      `  γ_S              ${fmt(v.gamma_S)}`,
      `  normalized dist. ${fmt(v.normalized_distance)}`,
    ];
    if (v.reason) lines.push(`  reason           ${v.reason}`);
    if (v.timings_s) lines.push(`  timings (s)      ${JSON.stringify(v.timings_s)}`);
    lines.push(`  ε sweep          ${v.sweep.length} values`);
    lines.push('  audit entries:');
    for (const e of v.audit) lines.push(`    ${String(e.seq).padStart(5)}  ${e.at}  ${e.actor}  ${e.action}`);
    io.out.write(`${lines.join('\n')}\n`);
  });
}
