import { z } from 'zod';
import type { ArgsOf, InvokeChannel } from '../../preload/contract.js';

/**
 * The argument schema of every invoke channel. Objects are strict (an unexpected field is an
 * error, not silently dropped), numbers are finite, strings bounded, so a handler only ever sees
 * an argument of its contract type. The `satisfies` clause below ties each schema's output to the
 * contract: a schema that drifts from preload/contract.ts fails the type check.
 */
const id = z.number().int().positive();
const shortText = (max: number) => z.string().trim().min(1).max(max);
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD');
const method = z.enum(['ssse', 'ssse-expected']);
const positive = z.number().finite().positive();

const epsilon = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('calibration') }),
  z.strictObject({ source: z.literal('sweep'), grid: z.array(z.number().finite().nonnegative()).min(1).max(200).nullable() }),
  z.strictObject({ source: z.literal('value'), value: z.number().finite().nonnegative() }),
]);

const nothing = z.null().optional().transform(() => null);

export const SCHEMAS = {
  'app:info': nothing,
  'models:list': nothing,
  'models:train': z.strictObject({
    actor: shortText(200),
    name: shortText(100).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash and underscore, starting with a letter or digit'),
    datasetDir: z.string().min(1).max(4096).nullable(),
    limitTrain: z.number().int().positive().nullable(),
    limitTest: z.number().int().positive().nullable(),
    l2: positive,
    seed: z.number().int().nonnegative(),
  }),
  'models:certify': z.strictObject({
    modelVersionId: id,
    actor: shortText(200),
    method,
    damping: positive.nullable(),
    calibrate: z.boolean(),
  }),
  'requests:list': nothing,
  'requests:validate': z.strictObject({ modelVersionId: id, sampleIds: z.array(z.string().min(1).max(500)).max(1_000_000) }),
  'requests:create': z.strictObject({
    modelVersionId: id,
    sampleIds: z.array(z.string().trim().min(1).max(500)).min(1).max(1_000_000),
    subjectRef: shortText(500),
    legalGround: shortText(500),
    actor: shortText(200),
    method,
    epsilon,
    verify: z.enum(['retrain', 'none']),
    receivedOn: isoDate.nullable(),
  }),
  'requests:report': z.strictObject({ requestId: id }),
  'reports:export': z.strictObject({ requestId: id, actor: shortText(200) }),
  'jobs:list': nothing,
  'jobs:cancel': z.strictObject({ jobId: z.string().min(1).max(100) }),
  'audit:list': z.strictObject({ requestId: id.nullable(), limit: z.number().int().min(1).max(100_000) }),
  'audit:verify': nothing,
} satisfies { [C in InvokeChannel]: z.ZodType<ArgsOf<C>, unknown> };

/** One line per problem: "sampleIds[3]: Too small…", so the renderer can show where. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 10)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : 'argument'}: ${i.message}`)
    .join('; ');
}
