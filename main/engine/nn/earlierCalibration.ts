/**
 * ε from an earlier calibration (`ssse erase --model … --epsilon-from FILE`): a network's held-out
 * ε (calibrate.ts, `--calibrate-trials T`) costs T retrainings; it depends on the model, its
 * training, the Fisher's settings and the kind of removal, not on which samples one request
 * names. So a later request of the same kind on the same θ* can reuse it and erase without any
 * retraining. FILE is the earlier run's summary.json.
 *
 * Reuse is refused, naming FILE and the field, unless everything ε depends on is the same:
 * the data (fingerprint), the model (its spec, or for a model.json how its weights are used; and p), the SGD settings, the Fisher's rows (batch m),
 * blocks (size and order) and dampening, the calibration removals' kind, and in the end θ* itself
 * (its SHA-256, checked once θ* is trained or read from the cache).
 */
import { SsseError } from '../errors.js';
import type { BlockOrder } from './blockOrder.js';
import type { SgdConfig } from './train.js';

/** The earlier run's summary.json as read by the caller: its path, the SHA-256 of its bytes, its parsed JSON. */
export interface EarlierCalibrationFile {
  file: string;
  sha256: string;
  summary: unknown;
}

/** What ε_cal depends on, as a run knows it before it trains. */
export interface CalibrationSetting {
  fingerprint: string;
  /** summary.json's model.weights: 'trained-here' (a spec), 'file-as-theta-star' or 'file-as-initial'. */
  weights: string;
  /** The spec, or the model.json's path: compared for specs only (a file's path may differ; θ*'s SHA-256 decides). */
  source: string;
  p: number;
  sgd: SgdConfig;
  fisherBatch: number;
  blockSize: number;
  blockOrder: BlockOrder;
  damping: number;
  /** describeCalibrationKind() of the request. */
  trialKind: string;
}

/** An earlier calibration, read and checked for shape. */
export interface EarlierCalibration {
  file: string;
  sha256: string;
  epsilon: number;
  /** How many calibration removals chose it. */
  trials: number;
  /** Their sizes k_t. */
  trialSizes: number[];
  rule: string;
  setting: CalibrationSetting;
  thetaStarSha256: string;
}

/** Recorded in summary.json as `epsilon_from`. */
export interface EpsilonFrom {
  file: string;
  sha256: string;
  epsilon: number;
  trials: number;
  /** The calibration removals' sizes, beside this request's k (the kind is checked, the size is not). */
  trial_k: number[];
  k: number;
  trial_kind: string;
  rule: string;
}

const SGD_KEYS: (keyof SgdConfig)[] = ['epochs', 'batchSize', 'lr', 'momentum', 'lrSchedule', 'l2', 'seed'];
const SGD_OPTIONS: Record<keyof SgdConfig, string> = { epochs: '--epochs', batchSize: '--batch-size', lr: '--lr', momentum: '--momentum', lrSchedule: '--lr-schedule', l2: '--l2', seed: '--seed' };

function bad(file: string, problem: string): SsseError {
  return new SsseError('BAD_INPUT', `--epsilon-from ${file}: ${problem}`);
}

function field(file: string, root: unknown, dotted: string): unknown {
  let at: unknown = root;
  for (const key of dotted.split('.')) {
    if (at === null || typeof at !== 'object' || Array.isArray(at) || !(key in at)) {
      throw bad(file, `has no field ${dotted}; expected the summary.json of an earlier \`ssse erase --model … --calibrate-trials T\``);
    }
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

function numberField(file: string, root: unknown, dotted: string, ok: (v: number) => boolean, expected: string): number {
  const v = field(file, root, dotted);
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw bad(file, `field ${dotted} is ${JSON.stringify(v)}; expected ${expected}`);
  return v;
}

function stringField(file: string, root: unknown, dotted: string): string {
  const v = field(file, root, dotted);
  if (typeof v !== 'string' || v === '') throw bad(file, `field ${dotted} is ${JSON.stringify(v)}; expected a non-empty string`);
  return v;
}

/** Reads an earlier run's calibration from its summary.json; a file of another shape is refused, naming the field. */
export function readEarlierCalibration(from: EarlierCalibrationFile): EarlierCalibration {
  const { file, summary } = from;
  if (summary === null || typeof summary !== 'object' || Array.isArray(summary)) throw bad(file, 'is not a JSON object');
  const kind = field(file, summary, 'model_kind');
  if (kind !== 'network') throw bad(file, `is the summary of a ${JSON.stringify(kind)} model; --epsilon-from takes a network's (ssse erase --model …)`);
  if (!('epsilon_calibration' in summary)) {
    const rule = (summary as Record<string, unknown>)['epsilon_rule'];
    throw bad(file, `has no epsilon_calibration (its ε was chosen by ${JSON.stringify(rule)}); only a run with --calibrate-trials T chose ε without the request's own retraining`);
  }
  const trials = field(file, summary, 'epsilon_calibration.trials');
  if (!Array.isArray(trials) || trials.length === 0) throw bad(file, 'field epsilon_calibration.trials is not a non-empty list');
  const trialSizes = trials.map((t, i) => numberField(file, t, 'k', (v) => Number.isSafeInteger(v) && v > 0, `a whole number > 0 (epsilon_calibration.trials[${i}].k)`));
  const sgd = {} as Record<string, unknown>;
  for (const key of SGD_KEYS) sgd[key] = field(file, summary, `sgd.${key}`);
  const blockOrder = stringField(file, summary, 'fisher.block_order');
  return {
    file,
    sha256: from.sha256,
    epsilon: numberField(file, summary, 'epsilon_calibration.epsilon', (v) => v >= 0, 'a number ≥ 0'),
    trials: trials.length,
    trialSizes,
    rule: stringField(file, summary, 'epsilon_calibration.rule'),
    setting: {
      fingerprint: stringField(file, summary, 'dataset.fingerprint'),
      weights: stringField(file, summary, 'model.weights'),
      source: stringField(file, summary, 'model.source'),
      p: numberField(file, summary, 'model.p', (v) => Number.isSafeInteger(v) && v > 0, 'a whole number > 0'),
      sgd: sgd as unknown as SgdConfig,
      fisherBatch: numberField(file, summary, 'fisher.batch', (v) => Number.isSafeInteger(v) && v > 0, 'a whole number > 0'),
      blockSize: numberField(file, summary, 'fisher.block_size', (v) => Number.isSafeInteger(v) && v > 0, 'a whole number > 0'),
      blockOrder: blockOrder as BlockOrder,
      damping: numberField(file, summary, 'damping', (v) => v > 0, 'a number > 0'),
      trialKind: stringField(file, summary, 'epsilon_calibration.trial_kind'),
    },
    thetaStarSha256: stringField(file, summary, 'parameter_sha256.star'),
  };
}

const show = (v: unknown): string => JSON.stringify(v);

/**
 * Refuses an earlier calibration made for another setting, naming the first field that differs
 * (with both values and the option that sets it here).
 */
export function checkEarlierCalibration(earlier: EarlierCalibration, here: CalibrationSetting): void {
  const there = earlier.setting;
  const differs = (what: string, option: string, a: unknown, b: unknown): void => {
    if (show(a) !== show(b)) {
      throw new SsseError(
        'BAD_REQUEST',
        `--epsilon-from ${earlier.file}: its ε was calibrated with ${what} ${show(a)}, this run has ${show(b)} (${option}); ` +
          'a calibration carries over only to the same model, data and Fisher settings, and removals of the same kind',
      );
    }
  };
  differs('the dataset fingerprint', '--dataset', there.fingerprint, here.fingerprint);
  differs('model weights', '--model, --model-weights', there.weights, here.weights);
  if (here.weights === 'trained-here') differs('the model', '--model', there.source, here.source);
  differs('p =', '--model', there.p, here.p);
  for (const key of SGD_KEYS) differs(`sgd.${key} =`, SGD_OPTIONS[key], there.sgd[key], here.sgd[key]);
  differs('Fisher rows of m =', '--fisher-batch', there.fisherBatch, here.fisherBatch);
  differs('blocks of B =', '--block-size', there.blockSize, here.blockSize);
  differs('the block order', '--block-order', there.blockOrder, here.blockOrder);
  differs('λ_F =', '--damping', there.damping, here.damping);
  differs('calibration removals of the kind', 'the removal options', there.trialKind, here.trialKind);
}

/** The last check, once θ* is known: the same settings must have given the same θ*. */
export function checkEarlierThetaStar(earlier: EarlierCalibration, thetaStarSha256: string): void {
  if (earlier.thetaStarSha256 !== thetaStarSha256) {
    throw new SsseError(
      'BAD_REQUEST',
      `--epsilon-from ${earlier.file}: its θ* had SHA-256 ${earlier.thetaStarSha256}, this run's θ* has ${thetaStarSha256} ` +
        '(the same settings trained another model: another backend or engine version); its ε does not carry over',
    );
  }
}

export function epsilonFromRecord(earlier: EarlierCalibration, k: number): EpsilonFrom {
  return { file: earlier.file, sha256: earlier.sha256, epsilon: earlier.epsilon, trials: earlier.trials, trial_k: earlier.trialSizes, k, trial_kind: earlier.setting.trialKind, rule: earlier.rule };
}
