import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../main/cli/ssse.js';
import { initBackend } from '../../main/engine/backend.js';
import { encodeNpy, parseNpy } from '../../main/engine/data/npy.js';
import { loadLayersModelFromFiles } from '../../main/engine/nn/loadModel.js';
import { disposeNetwork, getParams } from '../../main/engine/nn/network.js';
import { randomFeatures, xorshift32 } from '../helpers/reference.js';

let root = '';
let data = '';

/** A small npy dataset: 60 training and 20 test rows of 8 features, 3 classes. */
function writeDataset(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const write = (name: string, n: number, seed: number) => {
    const u = xorshift32(seed);
    const ids = Int32Array.from({ length: n }, () => Math.floor(u() * 3));
    const x = randomFeatures(n, 8, seed);
    for (let i = 0; i < n; i++) x[i * 8 + (ids[i] as number)] = (x[i * 8 + (ids[i] as number)] as number) + 2;
    fs.writeFileSync(path.join(dir, `${name === 'train' ? '' : 'test_'}features.npy`), encodeNpy({ dtype: 'float32', shape: [n, 8], data: x }));
    fs.writeFileSync(path.join(dir, `${name === 'train' ? '' : 'test_'}labels.npy`), encodeNpy({ dtype: 'int32', shape: [n], data: ids }));
  };
  write('train', 60, 1);
  write('test', 20, 2);
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough() as unknown as NodeJS.WriteStream;
  let o = '';
  let e = '';
  out.on('data', (c: Buffer) => (o += c.toString()));
  (err as unknown as PassThrough).on('data', (c: Buffer) => (e += c.toString()));
  const code = await main(args, { out, err });
  return { code, out: o, err: e };
}

const FAST = ['--epochs', '3', '--batch-size', '10', '--lr', '0.1', '--fisher-batch', '3', '--block-size', '32', '--epsilon-sweep', '0.01,0.1,1', '--no-cache', '--backend', 'wasm'];

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-cli-nn-'));
  data = path.join(root, 'data');
  writeDataset(data);
  await initBackend('wasm');
});

after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

test('ssse erase --model mlp:… --remove-class writes summary.json with per-class accuracies, θ files and a loadable erased model', async () => {
  const out = path.join(root, 'out-class');
  const r = await run(['erase', '--model', 'mlp:5', '--dataset', data, '--out', out, '--remove-class', '2', '--retrain-seeds', '2', ...FAST]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /ssse: Fisher: N = 20 rows × p = \d+ parameters/);
  assert.match(r.out, /Erased all of class 2 .*: k = \d+ of n = 60 samples from mlp:5/);
  assert.match(r.out, /blocks of \d+ \(unit-major\)/);
  assert.match(r.out, /retrainings over 2 seeds/);
  const files = fs.readdirSync(out).sort();
  assert.deepEqual(files, ['erased_model.json', 'erased_model.weights.bin', 'removed_ids.txt', 'summary.json', 'theta_hat.npy', 'theta_retrained.npy', 'theta_star.npy']);
  const s = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as Record<string, unknown> & {
    model: { p: number };
    removal: unknown;
    per_class_accuracy: Record<string, { removed: unknown[]; retained: unknown[]; test: unknown[] }>;
    retrain_spread: { seeds: number[] };
  };
  assert.deepEqual(s.removal, { kind: 'class', class: 2, fraction: 1, seed: 0 });
  for (const m of ['star', 'hat', 'retrained']) {
    assert.equal(s.per_class_accuracy[m]?.test.length, 3);
  }
  assert.deepEqual(s.retrain_spread.seeds, [1, 2]);
  const hat = parseNpy(fs.readFileSync(path.join(out, 'theta_hat.npy')), 'theta_hat.npy');
  assert.deepEqual(hat.shape, [s.model.p]);
  const loaded = await loadLayersModelFromFiles(path.join(out, 'erased_model.json'));
  try {
    assert.deepEqual(getParams(loaded.net), hat.data);
  } finally {
    disposeNetwork(loaded.net);
  }
});

test('a model.json can be brought in: its weights are θ*', async () => {
  const first = path.join(root, 'out-first');
  assert.equal((await run(['erase', '--model', 'mlp:4', '--dataset', data, '--out', first, '--remove-fraction', '0.1', ...FAST])).code, 0);
  const out = path.join(root, 'out-file');
  const r = await run(['erase', '--model', path.join(first, 'erased_model.json'), '--dataset', data, '--out', out, '--remove-fraction', '0.1', '--json', '--block-order', 'input-major', ...FAST]);
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out) as { model: { weights: string; source: string }; removal: { kind: string }; timings_s: { train: number }; fisher: { block_order: string } };
  assert.equal(s.model.weights, 'file-as-theta-star');
  assert.equal(s.fisher.block_order, 'input-major');
  assert.equal(s.removal.kind, 'random');
  const star = parseNpy(fs.readFileSync(path.join(out, 'theta_star.npy')), 'theta_star.npy');
  const given = parseNpy(fs.readFileSync(path.join(first, 'theta_hat.npy')), 'theta_hat.npy');
  assert.deepEqual(star.data, given.data);
});

test('bad network options are usage errors naming the flag, and nothing is written', async () => {
  const out = path.join(root, 'out-bad');
  const cases: [string[], RegExp][] = [
    [['--remove-class', '7'], /--remove-class: expected a class id in 0\.\.2, got "7"/],
    [['--remove-class', '1', '--remove-fraction', '0.1'], /give one of --remove, --remove-class and --remove-fraction/],
    [['--class-fraction', '0.5'], /--class-fraction: only applies with --remove-class/],
    [['--remove-class', '1', '--retrain-seeds', '1'], /--retrain-seeds: expected a whole number ≥ 2/],
    [['--remove-class', '1', '--fisher-method', 'qr'], /--fisher-method: expected auto or woodbury or cholesky or sherman-morrison/],
    [['--remove-class', '1', '--lr-schedule', 'step'], /--lr-schedule/],
    [['--remove-class', '1', '--block-order', 'pytorch'], /--block-order: expected unit-major or input-major, got "pytorch"/],
    [['--remove-class', '1', '--forget-threshold', '1.5'], /--forget-threshold: expected a fraction in \[0, 1\), e\.g\. 0\.01, got "1\.5"/],
    [['--remove-class', '1', '--forget-threshold', '0.01', '--epsilon', '0.1'], /--forget-threshold: ε is either given/],
    [[], /name the samples to erase/],
    [['--remove-class', '1', '--calibrate-trials', '1.5'], /--calibrate-trials: expected a whole number ≥ 0 \(0: no calibration\), got "1\.5"/],
    [['--remove-class', '1', '--calibrate-trials=-2'], /--calibrate-trials: expected a whole number ≥ 0/],
    [['--remove-class', '1', '--workers', 'two'], /--workers: expected a whole number ≥ 0, got "two"/],
    [['--remove-fraction', '0.1', '--calibrate-trials', '2', '--verify', 'none', '--epsilon', '0.1'], /--calibrate-trials: .*--verify none skips; use --verify retrain/],
    [['--remove-fraction', '0.1', '--calibrate-trials', '2', '--epsilon', '0.1'], /--calibrate-trials: ε is either given \(--epsilon 0\.1\) or calibrated/],
    [['--remove-class', '1', '--calibrate-trials', '3'], /--calibrate-trials 3: a whole-class request is calibrated on other whole classes, but only 2 of the 2 other classes have training samples/],
  ];
  for (const [extra, message] of cases) {
    const r = await run(['erase', '--model', 'mlp:4', '--dataset', data, '--out', out, ...FAST, ...extra]);
    assert.equal(r.code, 2, `${extra.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
  }
  const bad = await run(['erase', '--model', 'rnn:3', '--dataset', data, '--out', out, '--remove-class', '1']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--model rnn:3: expected mlp:H1,H2,…/);
  const tooBig = await run(['erase', '--model', 'mlp:4', '--dataset', data, '--out', out, '--remove-class', '1', '--memory-budget', '0.000001', ...FAST]);
  assert.equal(tooBig.code, 1);
  assert.match(tooBig.err, /the Fisher needs [\d.]+ KiB .* but the memory budget is 1\.0 KiB/);
  assert.equal(fs.existsSync(out), false, 'no output folder after a refusal');
});

test('--forget-threshold erases a whole class with --verify none: ε from θ̂’s accuracy on S, nothing retrained', async () => {
  const out = path.join(root, 'out-forget');
  const r = await run(['erase', '--model', 'mlp:5', '--dataset', data, '--out', out, '--remove-class', '2', '--verify', 'none', '--forget-threshold', '0.2', ...FAST, '--epsilon-sweep', '0.01,0.1,1,10']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /ε = [\d.]+ \(smallest of 4 values at which θ̂ classifies at most 20\.00% of S correctly: [\d.]+%; no retraining needed\)/);
  const s = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as {
    epsilon: number;
    epsilon_rule: string;
    epsilon_forget: { threshold: number; epsilon: number; classes: number[]; rule: string };
    accuracy: { retrained: unknown };
  };
  assert.equal(s.epsilon_rule, 'forget_threshold');
  assert.equal(s.epsilon, s.epsilon_forget.epsilon);
  assert.deepEqual(s.epsilon_forget.classes, [2]);
  assert.equal(s.accuracy.retrained, null);
  assert.deepEqual(fs.readdirSync(out).includes('theta_retrained.npy'), false);
  const partial = await run(['erase', '--model', 'mlp:5', '--dataset', data, '--out', path.join(root, 'out-forget-part'), '--remove-class', '2', '--class-fraction', '0.5', '--verify', 'none', '--forget-threshold', '0.2', ...FAST]);
  assert.equal(partial.code, 1);
  assert.match(partial.err, /--forget-threshold: S holds \d+ of the \d+ training samples of class 2; the rule needs whole classes/);
  assert.equal(fs.existsSync(path.join(root, 'out-forget-part')), false);
});

test('--calibrate-trials writes epsilon_calibration (every trial\'s curve) and keeps the in-sample choice apart', async () => {
  const out = path.join(root, 'out-calibrated');
  const r = await run(['erase', '--model', 'mlp:4', '--dataset', data, '--out', out, '--remove-fraction', '0.1', '--calibrate-trials', '2', ...FAST]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /ε = [\d.]+ \(held out: smallest mean accuracy difference over 2 calibration removals\)/);
  assert.match(r.out, /in-sample rule \(uses this request's own retraining; for comparison\): ε = /);
  const s = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as {
    epsilon: number;
    epsilon_rule: string;
    accuracy: { hat: unknown };
    epsilon_calibration: {
      rule: string;
      trial_kind: string;
      epsilon: number;
      trials: { removal: { kind: string; seed: number }; k: number; best_epsilon: number; curve: { epsilon: number; mean_abs_accuracy_difference: number }[] }[];
      result: { accuracy: unknown; accuracy_difference: { mean: number }; per_class_accuracy: { test: unknown[] }; normalized_distance: number; gamma_S: number | null };
    };
    epsilon_in_sample: { rule: string; note: string; epsilon: number };
  };
  assert.equal(s.epsilon_rule, 'calibrated');
  const cal = s.epsilon_calibration;
  assert.equal(s.epsilon, cal.epsilon);
  assert.match(cal.rule, /^held-out/);
  assert.equal(cal.trial_kind, 'random draws of the same size with other removal seeds');
  assert.deepEqual(
    cal.trials.map((t) => [t.removal.kind, t.removal.seed, t.k]),
    [
      ['random', 1, 6],
      ['random', 2, 6],
    ],
  );
  for (const t of cal.trials) assert.deepEqual(t.curve.map((p) => p.epsilon), [0.01, 0.1, 1]);
  assert.deepEqual(cal.result.accuracy, s.accuracy.hat);
  assert.equal(cal.result.per_class_accuracy.test.length, 3);
  assert.equal(typeof cal.result.normalized_distance, 'number');
  assert.match(s.epsilon_in_sample.note, /^in-sample/);
});

test('--epsilon-from reuses an earlier calibration’s ε with nothing calibrated or retrained, and refuses one made for another setting, naming the field', async () => {
  const src = path.join(root, 'out-epsilon-src');
  const first = await run(['erase', '--model', 'mlp:4', '--dataset', data, '--out', src, '--remove-fraction', '0.1', '--calibrate-trials', '2', ...FAST]);
  assert.equal(first.code, 0, first.err);
  const srcFile = path.join(src, 'summary.json');
  const earlier = JSON.parse(fs.readFileSync(srcFile, 'utf8')) as { epsilon_calibration: { epsilon: number }; parameter_sha256: { star: string } };
  const noSweep = FAST.filter((a, i) => a !== '--epsilon-sweep' && FAST[i - 1] !== '--epsilon-sweep');

  // Another request of the same kind (another removal seed, so other samples): ε carries over.
  const out = path.join(root, 'out-epsilon-from');
  const r = await run(['erase', '--model', 'mlp:4', '--dataset', data, '--out', out, '--remove-fraction', '0.1', '--removal-seed', '7', '--epsilon-from', srcFile, ...noSweep]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /ε = [\d.]+ \(held out, calibrated earlier over 2 removals: .*out-epsilon-src[/\\]summary\.json\)/);
  const s = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as {
    epsilon: number;
    epsilon_rule: string;
    verify: string;
    sweep: { epsilon: number }[];
    accuracy: { retrained: unknown };
    epsilon_from: { file: string; sha256: string; epsilon: number; trials: number; trial_k: number[]; k: number; trial_kind: string; rule: string };
    parameter_sha256: { star: string };
    timings_s: { retrain: unknown; calibrate: unknown };
    removed_ids: string[];
  };
  assert.equal(s.epsilon_rule, 'calibrated_earlier');
  assert.equal(s.epsilon, earlier.epsilon_calibration.epsilon);
  assert.deepEqual(s.sweep.map((row) => row.epsilon), [s.epsilon]);
  assert.equal(s.verify, 'none');
  assert.equal(s.accuracy.retrained, null);
  assert.equal(s.timings_s.retrain, null);
  assert.equal(s.timings_s.calibrate, null);
  assert.equal(fs.existsSync(path.join(out, 'theta_retrained.npy')), false);
  assert.equal(s.parameter_sha256.star, earlier.parameter_sha256.star);
  assert.deepEqual(
    { ...s.epsilon_from, rule: s.epsilon_from.rule.startsWith('held-out') },
    {
      file: path.resolve(srcFile),
      sha256: createHash('sha256').update(fs.readFileSync(srcFile)).digest('hex'),
      epsilon: s.epsilon,
      trials: 2,
      trial_k: [6, 6],
      k: 6,
      trial_kind: 'random draws of the same size with other removal seeds',
      rule: true,
    },
  );

  // A random removal of another size is the same kind: allowed, and the sizes are said and recorded.
  const larger = await run(['erase', '--model', 'mlp:4', '--dataset', data, '--out', path.join(root, 'out-epsilon-larger'), '--remove-fraction', '0.2', '--epsilon-from', srcFile, ...noSweep]);
  assert.equal(larger.code, 0, larger.err);
  assert.match(larger.err, /--epsilon-from: ε was calibrated on removals of 6 samples; this request removes 12/);
  const largerSummary = JSON.parse(fs.readFileSync(path.join(root, 'out-epsilon-larger', 'summary.json'), 'utf8')) as { epsilon_from: { trial_k: number[]; k: number } };
  assert.deepEqual([largerSummary.epsilon_from.trial_k, largerSummary.epsilon_from.k], [[6, 6], 12]);
  assert.doesNotMatch(r.err, /ε was calibrated on removals of/);

  // Refused, naming the field, before anything is written: another setting, kind, model or θ*.
  const refused: [string[], number, RegExp][] = [
    [['--remove-fraction', '0.1', '--damping', '0.001'], 1, /its ε was calibrated with λ_F = 0\.0001, this run has 0\.001 \(--damping\)/],
    [['--remove-fraction', '0.1', '--block-size', '16'], 1, /with blocks of B = 32, this run has 16 \(--block-size\)/],
    [['--remove-fraction', '0.1', '--epochs', '4'], 1, /with sgd\.epochs = 3, this run has 4 \(--epochs\)/],
    [['--remove-class', '1'], 1, /calibration removals of the kind "random draws of the same size with other removal seeds", this run has "all of another class"/],
    [['--remove-fraction', '0.1', '--epsilon', '0.1'], 2, /--epsilon-from: ε is either given \(--epsilon 0\.1\) or taken from .*summary\.json, not both/],
    [['--remove-fraction', '0.1', '--calibrate-trials', '2', '--verify', 'retrain'], 2, /--epsilon-from: ε is either calibrated now/],
    [['--remove-fraction', '0.1', '--epsilon-sweep', '0.1,1'], 2, /--epsilon-from: the earlier calibration gives ε; --epsilon-sweep has nothing to choose/],
  ];
  const bad = path.join(root, 'out-epsilon-bad');
  for (const [extra, code, message] of refused) {
    const b = await run(['erase', '--model', 'mlp:4', '--dataset', data, '--out', bad, '--epsilon-from', srcFile, ...noSweep, ...extra]);
    assert.equal(b.code, code, `${extra.join(' ')}: ${b.err}`);
    assert.match(b.err, message, extra.join(' '));
    assert.equal(fs.existsSync(bad), false, `${extra.join(' ')}: nothing written`);
  }
  const other = await run(['erase', '--model', 'mlp:5', '--dataset', data, '--out', bad, '--remove-fraction', '0.1', '--epsilon-from', srcFile, ...noSweep]);
  assert.equal(other.code, 1);
  assert.match(other.err, /with the model "mlp:4", this run has "mlp:5" \(--model\)/);

  // θ* itself is checked last: the same settings must have trained the same model.
  const tampered = path.join(root, 'tampered.json');
  fs.writeFileSync(tampered, JSON.stringify({ ...earlier, parameter_sha256: { ...earlier.parameter_sha256, star: '0'.repeat(64) } }));
  const t = await run(['erase', '--model', 'mlp:4', '--dataset', data, '--out', bad, '--remove-fraction', '0.1', '--epsilon-from', tampered, ...noSweep]);
  assert.equal(t.code, 1);
  assert.match(t.err, new RegExp(`its θ\\* had SHA-256 0{64}, this run's θ\\* has ${earlier.parameter_sha256.star}`));
  assert.equal(fs.existsSync(bad), false);

  // A model.json is known by its θ*, not its path: a copy elsewhere takes the same ε; the spec it came from does not.
  const modelDir = path.join(root, 'model-a');
  fs.mkdirSync(modelDir);
  for (const name of ['erased_model.json', 'erased_model.weights.bin']) fs.copyFileSync(path.join(src, name), path.join(modelDir, name));
  const fromFile = path.join(root, 'out-epsilon-file-src');
  const calibratedFile = await run(['erase', '--model', path.join(modelDir, 'erased_model.json'), '--dataset', data, '--out', fromFile, '--remove-fraction', '0.1', '--calibrate-trials', '2', ...FAST]);
  assert.equal(calibratedFile.code, 0, calibratedFile.err);
  const movedDir = path.join(root, 'model-b');
  fs.renameSync(modelDir, movedDir);
  const moved = await run(['erase', '--model', path.join(movedDir, 'erased_model.json'), '--dataset', data, '--out', path.join(root, 'out-epsilon-moved'), '--remove-fraction', '0.1', '--removal-seed', '3', '--epsilon-from', path.join(fromFile, 'summary.json'), ...noSweep]);
  assert.equal(moved.code, 0, moved.err);
  const spec = await run(['erase', '--model', 'mlp:4', '--dataset', data, '--out', bad, '--remove-fraction', '0.1', '--epsilon-from', path.join(fromFile, 'summary.json'), ...noSweep]);
  assert.equal(spec.code, 1);
  assert.match(spec.err, /with model weights "file-as-theta-star", this run has "trained-here" \(--model, --model-weights\)/);

  // Files that are not an earlier calibration: named, with what is wrong.
  const given = path.join(root, 'out-epsilon-given');
  assert.equal((await run(['erase', '--model', 'mlp:4', '--dataset', data, '--out', given, '--remove-fraction', '0.1', '--epsilon', '0.1', '--verify', 'none', ...noSweep])).code, 0);
  const notJson = path.join(root, 'not.json');
  fs.writeFileSync(notJson, '{"model_kind": "network",');
  const linear = path.join(root, 'linear.json');
  fs.writeFileSync(linear, JSON.stringify({ model_kind: 'linear', epsilon: 0.1 }));
  const files: [string, RegExp][] = [
    [path.join(given, 'summary.json'), /summary\.json: has no epsilon_calibration \(its ε was chosen by "given"\)/],
    [notJson, /--epsilon-from .*not\.json: not JSON/],
    [linear, /linear\.json: is the summary of a "linear" model/],
    [path.join(root, 'missing.json'), /missing\.json: cannot read it \(ENOENT\)/],
  ];
  for (const [file, message] of files) {
    const b = await run(['erase', '--model', 'mlp:4', '--dataset', data, '--out', bad, '--remove-fraction', '0.1', '--epsilon-from', file, ...noSweep]);
    assert.equal(b.code, 1, `${file}: ${b.err}`);
    assert.match(b.err, message);
  }
  assert.equal(fs.existsSync(bad), false);
});
