/**
 * One erasure request on a network, from data to verdict (the non-convex half of the paper):
 * θ* (trained from the seed, cached, or loaded) → the Fisher's rows G at θ* (mini-batch-averaged
 * gradients) → Σ_{i∈S}∇ℓ_i(θ*) → F̂⁻¹ applied block by block → θ̂_ε = θ* + ε/(n−k)·F̂⁻¹Σ∇ℓ_i →
 * optionally θ*_{−S} retrained with the same seed, order and settings, and R more retrainings
 * with other seeds for the spread → the ε sweep and every metric of SSSE.md.
 *
 * With `calibrateTrials` T > 0, ε is chosen held-out (calibrate.ts): T calibration removals of the
 * request's kind, their removal gradients solved in the same Fisher pass as S's, each retrained
 * once, and ε_cal minimizes their mean accuracy difference; θ̂ is θ* + ε_cal·Δ. The request's own
 * retrained model only reports how good ε_cal was (and gives the in-sample rule's choice, kept
 * as `epsilon_in_sample`).
 *
 * With `forgetThreshold` τ (whole classes only, forgetRule.ts), ε is the smallest grid value at
 * which θ̂ classifies at most τ of S correctly: no retraining is needed, so it works with verify
 * 'none'; with 'retrain' the request is still measured against θ*_{−S}.
 *
 * The Fisher's memory is planned and checked against the budget before any training starts.
 */
import * as path from 'node:path';
import { currentBackend } from '../backend.js';
import { ArtefactCache } from '../cache.js';
import type { Dataset } from '../data/types.js';
import { classCounts } from '../data/removal.js';
import { datasetFingerprint, ENGINE_VERSION } from '../erase.js';
import { SsseError } from '../errors.js';
import { sha256Bytes, sha256Json } from '../hash.js';
import { chooseEpsilon, type SplitAccuracy, type SweepRow } from '../linear/sweep.js';
import { report, throwIfCancelled, type RunControl } from '../progress.js';
import {
  CALIBRATION_RULE,
  calibrationDraws,
  chooseCalibratedEpsilon,
  describeCalibrationKind,
  trialBestEpsilon,
  type CalibrationTrial,
  type CurvePoint,
} from './calibrate.js';
import { describePlan, planBlockFisher, type BlockPlan, type NetworkFisherMethod } from './blockFisher.js';
import { fisherCacheKeys, solveBlockFisherCached, type FisherCacheState } from './fisherCache.js';
import { checkForgetThreshold, chooseForgetEpsilon, FORGET_RULE, wholeClassesOf, type ForgetChoice } from './forgetRule.js';
import { BLOCK_ORDERS, blockPermutation, DEFAULT_BLOCK_ORDER, describeBlockOrder, type BlockOrder } from './blockOrder.js';
import {
  accuracyDifference,
  complementRows,
  evaluateParams,
  networkEpsilonGrid,
  NetworkStepEvaluator,
  removalSplits,
  retrainSpread,
  stepParams,
  type AccuracyDifference,
  type EvalSplit,
  type ModelEval,
  type PerClass,
  type RetrainSpread,
  type SplitKey,
} from './evaluate.js';
import { fisherGroups, fisherRows, removalGradient } from './gradients.js';
import { loadLayersModelFromFiles } from './loadModel.js';
import { checkData, disposeNetwork, getParams, setParams, type Network, type ParamTensor } from './network.js';
import { checkEarlierCalibration, checkEarlierThetaStar, epsilonFromRecord, readEarlierCalibration, type EarlierCalibrationFile, type EpsilonFrom } from './earlierCalibration.js';
import { buildNetwork, formatModelSpec, inputShapeFor, type ModelSpec } from './spec.js';
import { checkSgd, trainNetwork, type ClassData, type SgdConfig } from './train.js';
import { checkWorkers, defaultWorkers } from '../linear/fisherBuild.js';
import type { NnTrainSource } from '../workers/nnTrainMessages.js';
import { runNnTrainings } from '../workers/nnTrainPool.js';
import { WorkerPool } from '../workers/pool.js';

export type NetworkSource =
  | { kind: 'spec'; spec: ModelSpec; imageShape: number[] | null }
  /** weights 'trained': the file's weights are θ*; 'initial': they are where training starts. */
  | { kind: 'file'; path: string; weights: 'trained' | 'initial' };

/** How S was chosen, recorded in summary.json. */
export type RemovalDescription =
  | { kind: 'file'; file: string }
  | { kind: 'class'; class: number; fraction: number; seed: number }
  | { kind: 'random'; fraction: number; seed: number };

export interface NetworkEraseConfig extends RunControl {
  source: NetworkSource;
  sgd: SgdConfig;
  /** m: samples per Fisher row (the paper: 10). */
  fisherBatch: number;
  blockSize: number;
  damping: number;
  fisherMethod: NetworkFisherMethod;
  /** How θ is ordered before it is cut into blocks (blockOrder.ts); absent: DEFAULT_BLOCK_ORDER, unit-major. */
  blockOrder?: BlockOrder;
  /** Bytes the Fisher may use. */
  memoryBudget: number;
  epsilon: number | null;
  epsilonGrid: number[] | null;
  verify: 'retrain' | 'none';
  /** R retrainings on D \ S with seeds seed+1 … seed+R, for the spread (0: none). */
  retrainSeeds: number;
  cacheDir: string | null;
  removal?: RemovalDescription;
  /**
   * T: choose ε on T held-out calibration removals of the request's kind (calibrate.ts) instead
   * of the in-sample rule (0 or absent: off). Needs verify 'retrain' and no given ε.
   */
  calibrateTrials?: number;
  /**
   * τ: ε is the smallest grid value at which θ̂ classifies at most τ of S correctly (forgetRule.ts;
   * S must hold whole classes). Null or absent: off. Not with a given ε or calibration.
   */
  forgetThreshold?: number | null;
  /**
   * ε from an earlier run's calibration (earlierCalibration.ts: its summary.json, read by the
   * caller), for the same model, data, Fisher settings and kind of removal: no calibration and, with
   * verify 'none', no retraining at all. Null or absent: off. Not with a given ε, calibration or τ.
   */
  epsilonFrom?: EarlierCalibrationFile | null;
  /** One-line statements made before long work (the memory plan). */
  log?: (line: string) => void;
  /**
   * Worker threads beside this one for the factors of F̂⁻¹ (nnFactorPool.ts) and for the
   * retrainings of the calibration trials and of the spread (nnTrainPool.ts); the same bits for
   * any count. Absent: one per further core (none on tfjs-node, whose kernels use every core);
   * for F̂⁻¹, fewer where the memory plan has no room for them.
   */
  workers?: number;
  /**
   * Where the workers come from (pool.ts); default: a pool of this erasure's own, which the Fisher
   * pass and the trainings share and which is closed at its end.
   */
  pool?: WorkerPool;
}

export const DEFAULT_NETWORK_CONFIG = {
  fisherBatch: 10,
  blockSize: 2048,
  fisherMethod: 'auto' as NetworkFisherMethod,
  retrainSeeds: 0,
};

export interface NetworkEraseSummary {
  engine_version: string;
  model_kind: 'network';
  model: {
    source: string;
    weights: 'trained-here' | 'file-as-theta-star' | 'file-as-initial';
    softmax_output_removed: boolean;
    input_shape: number[];
    classes: number;
    p: number;
    parameter_order: string;
    parameters: ParamTensor[];
  };
  dataset: { dir: string; format: string; fingerprint: string; files: { path: string; sha256: string; bytes: number }[] };
  n: number;
  k: number;
  d: number;
  class_names: string[];
  removal: RemovalDescription | null;
  removed_ids: string[];
  removed_class_counts: number[];
  sgd: SgdConfig;
  l2: number;
  damping: number;
  seed: number;
  fisher: {
    batch: number;
    N: number;
    block_size: number;
    blocks: number;
    /** Threads that factored F̂⁻¹'s blocks (this one and its workers; the result is the same for any count). */
    threads: number;
    /** 'unit-major' or 'input-major' (blockOrder.ts). */
    block_order: BlockOrder;
    block_order_description: string;
    method: NetworkFisherMethod;
    block_methods: BlockPlan['methodCounts'];
    memory_bytes: number;
    memory_budget_bytes: number;
  };
  verify: 'retrain' | 'none';
  epsilon: number;
  epsilon_rule: 'given' | 'max_gamma_S' | 'min_accuracy_difference' | 'calibrated' | 'calibrated_earlier' | 'forget_threshold';
  gamma_S: number | null;
  normalized_distance: number | null;
  auc: { star: (number | null)[]; hat: (number | null)[]; retrained: (number | null)[] | null };
  accuracy: { star: SplitAccuracy; hat: SplitAccuracy; retrained: SplitAccuracy | null };
  per_class_accuracy: { star: PerClass; hat: PerClass; retrained: PerClass | null };
  accuracy_difference: { star: AccuracyDifference; hat: AccuracyDifference } | null;
  sweep: SweepRow[];
  retrain_spread?: RetrainSpread;
  /** With --calibrate-trials: how ε was chosen held-out, and the request at that ε. */
  epsilon_calibration?: EpsilonCalibration;
  /** With --epsilon-from: the earlier calibration whose ε this run applied (file, its SHA-256, ε, trials, kind). */
  epsilon_from?: EpsilonFrom;
  /** With --forget-threshold: the rule, τ, the classes S removes, and the chosen ε with θ̂'s accuracy on S there. */
  epsilon_forget?: ForgetChoice & { rule: string; classes: number[] };
  /** With --calibrate-trials or --forget-threshold and a retrained model: the in-sample rule's choice (it uses S's own retrained model), for comparison. */
  epsilon_in_sample?: InSampleChoice;
  training: { epoch_loss: number[] | null; steps: number | null };
  retraining: { epoch_loss: number[]; steps: number } | null;
  parameter_sha256: { star: string; hat: string; retrained: string | null };
  /** θ* and F̂⁻¹ (its factored blocks and G's columns) read from the cache ('hit'), computed and stored ('miss'), or no cache ('off'). */
  cache: { dir: string | null; theta_star: 'hit' | 'miss' | 'off'; fisher: FisherCacheState; fisher_columns: FisherCacheState; fisher_bytes: number | null };
  backend: string;
  backend_provider: string;
  timings_s: {
    train: number;
    fisher: number;
    erase: number;
    retrain: number | null;
    retrain_spread: number | null;
    /** The calibration trials' retrainings and sweeps (null without --calibrate-trials). */
    calibrate: number | null;
    evaluate: number;
  };
}

/** The request S evaluated at one ε against its own retrained model. */
export interface EpsilonResult {
  epsilon: number;
  gamma_S: number | null;
  normalized_distance: number | null;
  accuracy: SplitAccuracy;
  accuracy_difference: AccuracyDifference | null;
  per_class_accuracy: PerClass;
}

export interface EpsilonCalibration {
  rule: string;
  /** How the calibration removals were drawn for this request's kind. */
  trial_kind: string;
  trials: CalibrationTrial[];
  /** The mean over trials of their curves, the quantity ε_cal minimizes. */
  mean_curve: CurvePoint[];
  epsilon: number;
  /** S at ε_cal, against S's own retrained model (reported, never used to choose). */
  result: EpsilonResult;
}

export interface InSampleChoice extends EpsilonResult {
  rule: 'max_gamma_S' | 'min_accuracy_difference';
  note: string;
}

export interface NetworkEraseOutcome {
  summary: NetworkEraseSummary;
  net: Network;
  thetaStar: Float32Array;
  thetaHat: Float32Array;
  thetaRetrained: Float32Array | null;
}

export const PARAMETER_ORDER =
  'model.trainableWeights in order (layer by layer from input to output, kernel before bias), each flattened row-major in its TensorFlow.js shape (Dense kernel [inputs, units], Conv2D kernel [height, width, in channels, filters])';

function seconds(since: number): number {
  return Math.round(performance.now() - since) / 1e3;
}

/** How a run's θ* relates to its model source, as summary.json's model.weights says it. */
function modelWeights(source: NetworkSource): 'trained-here' | 'file-as-theta-star' | 'file-as-initial' {
  return source.kind === 'spec' ? 'trained-here' : source.weights === 'trained' ? 'file-as-theta-star' : 'file-as-initial';
}

/** Builds or loads the network the config names, for this dataset. */
export async function networkFor(dataset: Dataset, source: NetworkSource): Promise<{ net: Network; softmaxRemoved: boolean; sourceKey: unknown }> {
  const classes = dataset.numClasses;
  if (classes === null) {
    throw new SsseError('BAD_INPUT', `${dataset.dir}: a network needs class ids as labels (one per row); this dataset has binary attributes`);
  }
  if (source.kind === 'spec') {
    const net = buildNetwork(source.spec, inputShapeFor(source.spec, dataset.d, source.imageShape), classes);
    return { net, softmaxRemoved: false, sourceKey: { spec: formatModelSpec(source.spec), inputShape: net.inputShape } };
  }
  const loaded = await loadLayersModelFromFiles(source.path);
  return { net: loaded.net, softmaxRemoved: loaded.softmaxRemoved, sourceKey: { file: loaded.sha256, weights: source.weights } };
}

/** A dataset's test split with its class ids, or null where it has none. */
function classTestSplit(dataset: Dataset): { features: Float32Array; classIds: Int32Array; n: number } | null {
  return dataset.test && dataset.test.classIds ? { features: dataset.test.features, classIds: dataset.test.classIds, n: dataset.test.n } : null;
}

/** The three evaluation splits of a dataset for a removal (evaluate.ts removalSplits). */
export function evaluationSplits(dataset: Dataset, removed: Int32Array, retained: Int32Array): Record<SplitKey, EvalSplit | null> {
  return removalSplits({ features: dataset.train.features, classIds: dataset.train.classIds as Int32Array }, classTestSplit(dataset), removed, retained);
}

export { complementRows };

export async function eraseNetwork(dataset: Dataset, removedRows: number[], config: NetworkEraseConfig): Promise<NetworkEraseOutcome> {
  const n = dataset.train.n;
  const k = removedRows.length;
  if (k === 0) throw new SsseError('BAD_REQUEST', 'the removal request is empty (k = 0)');
  if (k >= n) throw new SsseError('BAD_REQUEST', `the removal request names ${k} of n = ${n} samples; at least one must remain (k < n)`);
  if (new Set(removedRows).size !== k || removedRows.some((i) => !(Number.isInteger(i) && i >= 0 && i < n))) {
    throw new SsseError('BAD_REQUEST', `the removal request must name distinct rows in [0, ${n})`);
  }
  const forgetThreshold = config.forgetThreshold ?? null;
  const earlier = config.epsilonFrom ? readEarlierCalibration(config.epsilonFrom) : null;
  if (earlier) {
    if (config.epsilon !== null) throw new SsseError('BAD_ARGUMENT', `--epsilon-from: ε is either given (--epsilon ${config.epsilon}) or taken from ${earlier.file}, not both`);
    if ((config.calibrateTrials ?? 0) > 0) throw new SsseError('BAD_ARGUMENT', `--epsilon-from: ε is either calibrated now (--calibrate-trials) or taken from ${earlier.file}, not both`);
    if (forgetThreshold !== null) throw new SsseError('BAD_ARGUMENT', `--epsilon-from: ε is either chosen by --forget-threshold or taken from ${earlier.file}, not both`);
  }
  /** ε when it is not chosen here: given, or an earlier run's calibration. */
  const fixedEpsilon = config.epsilon ?? earlier?.epsilon ?? null;
  if (forgetThreshold !== null) {
    checkForgetThreshold(forgetThreshold);
    if (config.epsilon !== null) throw new SsseError('BAD_ARGUMENT', `--forget-threshold: ε is either given (--epsilon ${config.epsilon}) or chosen by the threshold, not both`);
    if ((config.calibrateTrials ?? 0) > 0) throw new SsseError('BAD_ARGUMENT', '--forget-threshold: choose ε by the threshold or by --calibrate-trials, not both');
  }
  if (fixedEpsilon === null && config.verify !== 'retrain' && forgetThreshold === null) {
    throw new SsseError(
      'BAD_ARGUMENT',
      '--epsilon: choosing ε by a sweep needs --verify retrain; give --epsilon E to erase without retraining, or --forget-threshold τ for whole classes',
    );
  }
  if (!Number.isSafeInteger(config.retrainSeeds) || config.retrainSeeds < 0) {
    throw new SsseError('BAD_ARGUMENT', `--retrain-seeds: expected a whole number ≥ 0, got ${config.retrainSeeds}`);
  }
  const calibrateTrials = config.calibrateTrials ?? 0;
  const blockOrder = config.blockOrder ?? DEFAULT_BLOCK_ORDER;
  if (!BLOCK_ORDERS.includes(blockOrder)) {
    throw new SsseError('BAD_ARGUMENT', `--block-order: expected one of ${BLOCK_ORDERS.join(', ')}, got ${String(blockOrder)}`);
  }
  if (!Number.isSafeInteger(calibrateTrials) || calibrateTrials < 0) {
    throw new SsseError('BAD_ARGUMENT', `--calibrate-trials: expected a whole number ≥ 0, got ${calibrateTrials}`);
  }
  if (calibrateTrials > 0 && config.verify !== 'retrain') {
    throw new SsseError(
      'BAD_ARGUMENT',
      '--calibrate-trials: calibration reports ε_cal against the request\'s retrained model, which --verify none skips; use --verify retrain, or give --epsilon E',
    );
  }
  if (calibrateTrials > 0 && config.epsilon !== null) {
    throw new SsseError('BAD_ARGUMENT', `--calibrate-trials: ε is either given (--epsilon ${config.epsilon}) or calibrated, not both`);
  }
  if (config.retrainSeeds === 1) {
    throw new SsseError('BAD_ARGUMENT', '--retrain-seeds: a spread needs at least 2 retrainings (a standard deviation of one value is undefined)');
  }
  checkSgd(config.sgd);
  const backend = currentBackend();
  if (!backend) throw new SsseError('RESOURCE', 'eraseNetwork: call initBackend() first');

  // Before the network is built: a request the forget rule cannot serve is refused at once.
  const forgetClasses =
    forgetThreshold !== null && dataset.train.classIds && dataset.numClasses !== null
      ? wholeClassesOf(dataset.train.classIds, removedRows, dataset.numClasses)
      : null;
  const { net, softmaxRemoved, sourceKey } = await networkFor(dataset, config.source);
  // The worker threads of the Fisher pass and the trainings, started once for both (pool.ts).
  const pool = config.pool ?? new WorkerPool(backend.name);
  // Whatever fails or is cancelled from here on, the network built above is released with it.
  try {
    const classIds = checkData(net, dataset.d, dataset.train.classIds, dataset.dir);
    if (dataset.test) checkData(net, dataset.d, dataset.test.classIds, `${dataset.dir} (test split)`);
    const data: ClassData = { features: dataset.train.features, classIds, n };
    const removed = Int32Array.from(removedRows).sort();
    const retained = complementRows(n, removed);
    // The calibration removals are drawn before any work, so a request that has none is refused at once.
    const draws =
      calibrateTrials > 0
        ? calibrationDraws(classIds, net.numClasses, { rows: Array.from(removed), removal: config.removal ?? null }, calibrateTrials, config.sgd.seed)
        : [];

    // The memory plan comes first: nothing is trained for a Fisher that will not fit.
    const groups = fisherGroups(n, config.fisherBatch, config.sgd.seed);
    // One per further core; the Fisher pass takes no more than it has blocks to share (planBlockFisher).
    const requestedWorkers = checkWorkers(config.workers ?? defaultWorkers(backend.name, Number.MAX_SAFE_INTEGER));
    const plan = planBlockFisher(groups.length, net.p, config.blockSize, config.fisherMethod, config.memoryBudget, 1 + draws.length, 1 + requestedWorkers);
    config.log?.(describePlan(plan));

    const fileWeights = config.source.kind === 'file' ? getParams(net) : null;
    const init = config.source.kind === 'file' && config.source.weights === 'initial' ? fileWeights ?? undefined : undefined;

    // θ*.
    const fingerprint = datasetFingerprint(dataset);
    if (earlier) {
      // Before any training: a calibration made for another setting is refused at once.
      checkEarlierCalibration(earlier, {
        fingerprint,
        weights: modelWeights(config.source),
        source: net.source,
        p: net.p,
        sgd: config.sgd,
        fisherBatch: config.fisherBatch,
        blockSize: config.blockSize,
        blockOrder,
        damping: config.damping,
        trialKind: describeCalibrationKind(config.removal ?? null),
      });
      if (!earlier.trialSizes.includes(k)) {
        config.log?.(`--epsilon-from: ε was calibrated on removals of ${[...new Set(earlier.trialSizes)].join(', ')} samples; this request removes ${k}`);
      }
    }
    const cache = config.cacheDir ? new ArtefactCache(config.cacheDir) : null;
    let t0 = performance.now();
    let thetaStar: Float32Array;
    let training: NetworkEraseSummary['training'] = { epoch_loss: null, steps: null };
    let starCache: 'hit' | 'miss' | 'off' = 'off';
    if (config.source.kind === 'file' && config.source.weights === 'trained') {
      thetaStar = fileWeights as Float32Array;
      report(config, 'train', 1, 1);
    } else {
      const key = sha256Json({ kind: 'nn-theta-star', v: ENGINE_VERSION, fingerprint, source: sourceKey, sgd: config.sgd, backend: backend.name });
      starCache = cache ? 'miss' : 'off';
      const cached = cache?.read<{ epochLoss: number[]; steps: number }>('nn-theta-star', key);
      const first = cached?.arrays[0];
      if (cached && first instanceof Float32Array && first.length === net.p) {
        thetaStar = Float32Array.from(first);
        training = { epoch_loss: cached.meta.epochLoss, steps: cached.meta.steps };
        starCache = 'hit';
        report(config, 'train', 1, 1);
      } else {
        const result = await trainNetwork(net, data, config.sgd, { ...config, phase: 'train', ...(init ? { init } : {}) });
        thetaStar = result.theta;
        training = { epoch_loss: result.epochLoss, steps: result.steps };
        cache?.write('nn-theta-star', key, { epochLoss: result.epochLoss, steps: result.steps }, [thetaStar]);
      }
    }
    const trainSeconds = seconds(t0);
    const thetaStarSha256 = sha256Bytes(thetaStar);
    if (earlier) checkEarlierThetaStar(earlier, thetaStarSha256);

    // The removal gradient; then F̂⁻¹ block by block, from the cache where this model's F̂⁻¹ is
    // stored, else from the Fisher's rows at θ* (and stored for the next request).
    setParams(net, thetaStar);
    t0 = performance.now();
    const gradient = await removalGradient(net, data, removed, config.sgd.l2, thetaStar, config);
    const eraseSeconds = seconds(t0);
    // The calibration removals' gradients ride in the same block pass as S's (one Fisher, shared).
    const trialGradients: Float64Array[] = [];
    for (const draw of draws) trialGradients.push(await removalGradient(net, data, draw.rows, config.sgd.l2, thetaStar, config));
    t0 = performance.now();
    const fisherSolve = await solveBlockFisherCached([gradient, ...trialGradients], {
      ...config,
      cache,
      keys: fisherCacheKeys(
        {
          engineVersion: ENGINE_VERSION,
          thetaStarSha256,
          fingerprint,
          source: sourceKey,
          fisherBatch: config.fisherBatch,
          seed: config.sgd.seed,
          N: plan.N,
          p: net.p,
          blockSize: config.blockSize,
          blockOrder,
          backend: backend.name,
        },
        config.damping,
        config.fisherMethod,
      ),
      N: plan.N,
      p: net.p,
      blockSize: config.blockSize,
      damping: config.damping,
      method: config.fisherMethod,
      order: blockPermutation(net.params, blockOrder),
      workers: plan.threads - 1,
      backend: backend.name,
      pool,
      // G is the largest allocation of the run: it lives only inside the block pass.
      rows: () => {
        setParams(net, thetaStar);
        return fisherRows(net, data, groups, config.fisherBatch, config);
      },
    });
    const directions = fisherSolve.solved.map((u, v) => {
      const kv = v === 0 ? k : (draws[v - 1]?.rows.length as number);
      for (let i = 0; i < u.length; i++) u[i] = (u[i] as number) / (n - kv);
      return u;
    });
    const direction = directions[0] as Float64Array;
    const fisherSeconds = seconds(t0);
    report(config, 'erase', 1, 1);
    throwIfCancelled(config, 'erasure');

    const grid = config.epsilonGrid ?? (fixedEpsilon !== null ? [fixedEpsilon] : networkEpsilonGrid());

    // Trainings on D minus some rows: on this thread and worker threads, each run on whichever is
    // free, with the bits it has on this thread alone (nnTrainPool.ts). The workers build the
    // network from its spec, or load its file and check that it is the one loaded here.
    const trainSource: NnTrainSource =
      config.source.kind === 'spec'
        ? { kind: 'spec', spec: config.source.spec, inputShape: net.inputShape, classes: net.numClasses }
        : { kind: 'file', path: config.source.path, sha256: (sourceKey as { file: string }).file };
    const trainOptions = (phase: string) => ({
      backend: backend.name,
      workers: requestedWorkers,
      pool,
      phase,
      ...(config.signal ? { signal: config.signal } : {}),
      ...(config.onProgress ? { onProgress: config.onProgress } : {}),
    });

    // Held-out calibration, before S's own retraining (which it never sees): each trial retrained
    // with the same seed, order (minus S_t) and settings, then swept over the grid.
    let calibrationTrials: CalibrationTrial[] | null = null;
    let calibrateSeconds: number | null = null;
    if (draws.length > 0) {
      t0 = performance.now();
      calibrationTrials = [];
      // Each trial retrained and swept by the thread that took it.
      const trained = await runNnTrainings(
        net,
        data,
        trainSource,
        draws.map((draw, t) => ({ sgd: config.sgd, exclude: Int32Array.from(draw.rows), init: init ?? null, direction: directions[t + 1] as Float64Array })),
        {
          ...trainOptions('calibrate-retrain'),
          evaluation: { thetaStar, grid, test: classTestSplit(dataset) },
        },
      );
      draws.forEach((draw, t) => {
        const curve = trained.curves[t] as CurvePoint[];
        calibrationTrials?.push({ removal: draw.removal, k: draw.rows.length, best_epsilon: trialBestEpsilon(curve), curve });
      });
      calibrateSeconds = seconds(t0);
    }
    const calibrated = calibrationTrials ? chooseCalibratedEpsilon(calibrationTrials.map((t) => t.curve)) : null;

    // θ*_{−S}: same seed, same order without S, same settings.
    let thetaRetrained: Float32Array | null = null;
    let retraining: NetworkEraseSummary['retraining'] = null;
    let retrainSeconds: number | null = null;
    if (config.verify === 'retrain') {
      t0 = performance.now();
      const result = await trainNetwork(net, data, config.sgd, { ...config, exclude: removed, phase: 'retrain', ...(init ? { init } : {}) });
      thetaRetrained = result.theta;
      retraining = { epoch_loss: result.epochLoss, steps: result.steps };
      retrainSeconds = seconds(t0);
    }

    const splits = evaluationSplits(dataset, removed, retained);

    // The spread: R retrainings with other seeds (each evaluated at once, then dropped).
    let spreadEvals: ModelEval[] | null = null;
    let spreadSeeds: number[] = [];
    let spreadSeconds: number | null = null;
    if (config.retrainSeeds > 0) {
      t0 = performance.now();
      spreadSeeds = Array.from({ length: config.retrainSeeds }, (_, r) => config.sgd.seed + 1 + r);
      const trained = await runNnTrainings(
        net,
        data,
        trainSource,
        spreadSeeds.map((seed) => ({ sgd: { ...config.sgd, seed }, exclude: removed, init: null, direction: null })),
        trainOptions('retrain-spread'),
      );
      spreadEvals = trained.results.map((result) => evaluateParams(net, result.theta, splits));
      spreadSeconds = seconds(t0);
    }

    // The sweep and the metrics.
    t0 = performance.now();
    const evaluator = new NetworkStepEvaluator(net, thetaStar, direction, thetaRetrained, splits);
    const sweep: SweepRow[] = [];
    const hats = new Map<number, ModelEval>();
    for (let i = 0; i < grid.length; i++) {
      throwIfCancelled(config, 'sweep');
      const { row, hat } = evaluator.evaluate(grid[i] as number);
      sweep.push(row);
      hats.set(row.epsilon, hat);
      report(config, 'sweep', i + 1, grid.length);
    }
    // The in-sample rule reads S's own retrained model: it decides when nothing else does, and is
    // reported beside the held-out and forget rules. The start of this function made sure that
    // without a given ε one of the three applies.
    const inSample = fixedEpsilon === null && thetaRetrained !== null ? chooseEpsilon(sweep) : null;
    const forget: ForgetChoice | null = forgetThreshold !== null ? chooseForgetEpsilon(sweep, forgetThreshold) : null;
    let epsilon: number;
    let rule: NetworkEraseSummary['epsilon_rule'];
    if (config.epsilon !== null) {
      epsilon = config.epsilon;
      rule = 'given';
    } else if (earlier) {
      epsilon = earlier.epsilon;
      rule = 'calibrated_earlier';
    } else if (calibrated) {
      epsilon = calibrated.epsilon;
      rule = 'calibrated';
    } else if (forget) {
      epsilon = forget.epsilon;
      rule = 'forget_threshold';
    } else if (inSample) {
      epsilon = inSample.row.epsilon;
      rule = inSample.rule;
    } else {
      throw new SsseError('BAD_ARGUMENT', 'eraseNetwork: no rule chooses ε (give --epsilon, --verify retrain or --forget-threshold)');
    }
    const applied = sweep.find((r) => r.epsilon === epsilon) ?? evaluator.evaluate(epsilon).row;
    const hatEval = hats.get(epsilon) ?? evaluator.evaluate(epsilon).hat;
    const thetaHat = Float32Array.from(stepParams(thetaStar, direction, epsilon));
    setParams(net, thetaHat);
    const evaluateSeconds = seconds(t0);

    const removedClassCounts = classCounts(classIds, net.numClasses, removed);
    const star = evaluator.star;
    const retrainedEval = evaluator.retrained;
    const resultAt = (row: SweepRow, hat: ModelEval): EpsilonResult => ({
      epsilon: row.epsilon,
      gamma_S: row.gamma_S,
      normalized_distance: row.normalized_distance,
      accuracy: hat.accuracy,
      accuracy_difference: retrainedEval ? accuracyDifference(hat.accuracy, retrainedEval.accuracy) : null,
      per_class_accuracy: hat.perClass,
    });

    const summary: NetworkEraseSummary = {
      engine_version: ENGINE_VERSION,
      model_kind: 'network',
      model: {
        source: net.source,
        weights: modelWeights(config.source),
        softmax_output_removed: softmaxRemoved,
        input_shape: net.inputShape,
        classes: net.numClasses,
        p: net.p,
        parameter_order: PARAMETER_ORDER,
        parameters: net.params,
      },
      dataset: { dir: dataset.dir, format: dataset.format, fingerprint, files: dataset.files.map((f) => ({ ...f, path: path.resolve(f.path) })) },
      n,
      k,
      d: dataset.d,
      class_names: dataset.attributeNames,
      removal: config.removal ?? null,
      removed_ids: Array.from(removed, (i) => dataset.ids[i] as string),
      removed_class_counts: removedClassCounts,
      sgd: config.sgd,
      l2: config.sgd.l2,
      damping: config.damping,
      seed: config.sgd.seed,
      fisher: {
        batch: config.fisherBatch,
        N: plan.N,
        block_size: config.blockSize,
        blocks: plan.blocks,
        threads: fisherSolve.threads,
        block_order: blockOrder,
        block_order_description: describeBlockOrder(blockOrder),
        method: config.fisherMethod,
        block_methods: plan.methodCounts,
        memory_bytes: plan.bytes.total,
        memory_budget_bytes: plan.budget,
      },
      verify: config.verify,
      epsilon,
      epsilon_rule: rule,
      gamma_S: applied.gamma_S,
      normalized_distance: applied.normalized_distance,
      auc: { star: star.aucs, hat: hatEval.aucs, retrained: retrainedEval?.aucs ?? null },
      accuracy: { star: star.accuracy, hat: hatEval.accuracy, retrained: retrainedEval?.accuracy ?? null },
      per_class_accuracy: { star: star.perClass, hat: hatEval.perClass, retrained: retrainedEval?.perClass ?? null },
      accuracy_difference: retrainedEval
        ? { star: accuracyDifference(star.accuracy, retrainedEval.accuracy), hat: accuracyDifference(hatEval.accuracy, retrainedEval.accuracy) }
        : null,
      sweep,
      training,
      retraining,
      parameter_sha256: { star: thetaStarSha256, hat: sha256Bytes(thetaHat), retrained: thetaRetrained ? sha256Bytes(thetaRetrained) : null },
      cache: {
        dir: config.cacheDir,
        theta_star: starCache,
        fisher: fisherSolve.factors,
        fisher_columns: fisherSolve.columns,
        fisher_bytes: cache ? fisherSolve.bytes : null,
      },
      backend: backend.name,
      backend_provider: backend.provider,
      timings_s: {
        train: trainSeconds,
        fisher: fisherSeconds,
        erase: eraseSeconds,
        retrain: retrainSeconds,
        retrain_spread: spreadSeconds,
        calibrate: calibrateSeconds,
        evaluate: evaluateSeconds,
      },
    };
    if (calibrated && calibrationTrials) {
      summary.epsilon_calibration = {
        rule: CALIBRATION_RULE,
        trial_kind: describeCalibrationKind(config.removal ?? null),
        trials: calibrationTrials,
        mean_curve: calibrated.mean_curve,
        epsilon: calibrated.epsilon,
        result: resultAt(applied, hatEval),
      };
    }
    if (earlier) summary.epsilon_from = epsilonFromRecord(earlier, k);
    if (forget && forgetClasses) summary.epsilon_forget = { ...forget, rule: FORGET_RULE, classes: forgetClasses };
    if ((calibrated || forget) && inSample) {
      const hat = hats.get(inSample.row.epsilon) as ModelEval;
      summary.epsilon_in_sample = {
        ...resultAt(inSample.row, hat),
        rule: inSample.rule,
        note: 'in-sample: chosen with the request\'s own retrained model, which a deployment does not have at erasure time; for comparison only',
      };
    }
    if (spreadEvals) {
      summary.retrain_spread = retrainSpread(spreadSeeds, spreadEvals, {
        star: star.accuracy,
        hat: hatEval.accuracy,
        retrained: retrainedEval?.accuracy ?? null,
      });
    }
    return { summary, net, thetaStar, thetaHat, thetaRetrained };
  } catch (e) {
    disposeNetwork(net);
    throw e;
  } finally {
    if (!config.pool) await pool.close();
  }
}
