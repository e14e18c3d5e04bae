import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { main } from '../../../main/cli/ssse.js';
import { readNpy, encodeNpy } from '../../../main/engine/data/npy.js';
import { loadDataset } from '../../../main/engine/data/dataset.js';
import { initBackend } from '../../../main/engine/backend.js';
import { eraseLinear, DEFAULT_CONFIG } from '../../../main/engine/erase.js';
import { captureIo, tempDir, writeSmallNpyDataset } from '../../helpers/fixtures.js';
import {
  denseWeightedGram,
  gaussJordanInverse,
  labelColumn,
  logistic,
  logisticGradient,
  matVecRef,
  norm2,
} from '../../helpers/reference.js';

interface Summary {
  n: number;
  k: number;
  d: number;
  attributes: number;
  l2: number;
  damping: number;
  epsilon: number;
  epsilon_rule: string;
  gamma_S: number | null;
  normalized_distance: number | null;
  auc: { star: (number | null)[]; hat: (number | null)[]; retrained: (number | null)[] };
  accuracy: Record<'star' | 'hat' | 'retrained', { removed: number; retained: number; test: number | null }>;
  sweep: { epsilon: number; gamma_S: number | null; normalized_distance: number | null }[];
  backend: string;
  timings_s: { train: number; fisher: number; erase: number; retrain: number };
  removed_ids: string[];
  cache: { theta_star: string; fisher: string };
}

let root: string;
let data: string;
before(async () => {
  root = tempDir();
  data = writeSmallNpyDataset(path.join(root, 'data'), 300, 100);
  await initBackend('wasm');
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** Brute-force AUC: the fraction of (positive, negative) pairs ordered correctly, ties ½. */
function pairwiseAuc(scores: number[], labels: number[]): number | null {
  let good = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++)
    for (let j = 0; j < scores.length; j++)
      if (labels[i] === 1 && labels[j] === 0) {
        pairs++;
        const si = scores[i] as number;
        const sj = scores[j] as number;
        good += si > sj ? 1 : si === sj ? 0.5 : 0;
      }
  return pairs === 0 ? null : good / pairs;
}

function thetaColumns(file: string): { d: number; A: number; w: Float64Array[] } {
  const arr = readNpy(file);
  const [d, A] = arr.shape as [number, number];
  const w: Float64Array[] = [];
  for (let a = 0; a < A; a++) {
    const col = new Float64Array(d);
    for (let j = 0; j < d; j++) col[j] = arr.data[j * A + a] as number;
    w.push(col);
  }
  return { d, A, w };
}

async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const cap = captureIo();
  const code = await main(args, cap.io);
  return { code, out: cap.out(), err: cap.err() };
}

function writeRemoval(name: string, lines: string[]): string {
  const file = path.join(root, name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

describe('ssse erase on a small real dataset (300 pooled Fashion-MNIST images)', () => {
  let out: string;
  let summary: Summary;
  const removedIds = ['img-0003', 'img-0017', 'img-0042', 'img-0100', 'img-0150', 'img-0299'];

  before(async () => {
    out = path.join(root, 'out');
    const r = await runCli([
      'erase', '--dataset', data, '--remove', writeRemoval('remove.txt', ['# six samples', ...removedIds]),
      '--out', out, '--cache-dir', path.join(root, 'cache'), '--backend', 'wasm',
    ]);
    assert.equal(r.code, 0, r.err);
    summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
  });

  test('writes summary.json and the three d×A parameter files', () => {
    for (const f of ['summary.json', 'theta_star.npy', 'theta_hat.npy', 'theta_retrained.npy', 'removed_ids.txt']) {
      assert.ok(fs.existsSync(path.join(out, f)), f);
    }
    for (const f of ['theta_star.npy', 'theta_hat.npy', 'theta_retrained.npy']) {
      assert.deepEqual(readNpy(path.join(out, f)).shape, [49, 10]);
    }
    assert.equal(summary.n, 300);
    assert.equal(summary.k, 6);
    assert.equal(summary.d, 49);
    assert.equal(summary.attributes, 10);
    assert.equal(summary.l2, 1e-4);
    assert.equal(summary.damping, 1e-4);
    assert.equal(summary.backend, 'wasm');
    assert.deepEqual(summary.removed_ids, removedIds);
    assert.equal(summary.sweep.length, 25);
    assert.equal(summary.epsilon_rule, 'max_gamma_S');
    for (const key of ['train', 'fisher', 'erase', 'retrain'] as const) assert.ok(summary.timings_s[key] >= 0);
  });

  test('θ* and θ*₋S are optimal: the independent float64 gradient certifies 1e-4 relative accuracy', () => {
    const full = loadDataset(data);
    const removedRows = new Set(removedIds.map((id) => full.ids.indexOf(id)));
    const keep = [...Array(300).keys()].filter((i) => !removedRows.has(i));
    const subset = (rows: number[]) => {
      const x = new Float64Array(rows.length * 49);
      rows.forEach((r, i) => {
        for (let j = 0; j < 49; j++) x[i * 49 + j] = full.train.features[r * 49 + j] as number;
      });
      const labels = new Uint8Array(rows.length * 10);
      rows.forEach((r, i) => labels.set(full.train.labels.subarray(r * 10, r * 10 + 10), i * 10));
      return { x, labels, n: rows.length };
    };
    const cases = [
      { file: 'theta_star.npy', data: subset([...Array(300).keys()]) },
      { file: 'theta_retrained.npy', data: subset(keep) },
    ];
    for (const c of cases) {
      const { w } = thetaColumns(path.join(out, c.file));
      w.forEach((wa, a) => {
        const g = logisticGradient({ x: c.data.x, y: labelColumn(c.data.labels, c.data.n, 10, a), n: c.data.n, d: 49, l2: 1e-4 }, wa);
        // λ-strong convexity: ‖w − w*‖ ≤ ‖∇L(w)‖/λ.
        assert.ok(norm2(g) / 1e-4 <= 1e-4 * norm2(wa), `${c.file} attribute ${a}: ‖∇L‖ = ${norm2(g)}`);
      });
    }
  });

  test('θ̂ equals θ* + ε/(n−k)·F̂⁻¹·Σ∇ℓ_i computed independently in float64', () => {
    const full = loadDataset(data);
    const x = Float64Array.from(full.train.features);
    const star = thetaColumns(path.join(out, 'theta_star.npy')).w;
    const hat = thetaColumns(path.join(out, 'theta_hat.npy')).w;
    const removedRows = removedIds.map((id) => full.ids.indexOf(id));
    const n = 300;
    const k = removedRows.length;
    for (let a = 0; a < 10; a++) {
      const wa = star[a] as Float64Array;
      const y = labelColumn(full.train.labels, n, 10, a);
      const weights = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let z = 0;
        for (let j = 0; j < 49; j++) z += (x[i * 49 + j] as number) * (wa[j] as number);
        weights[i] = (logistic(z) - (y[i] as number)) ** 2 / n;
      }
      const f = denseWeightedGram(x, n, 49, weights);
      for (let j = 0; j < 49; j++) f[j * 49 + j] = (f[j * 49 + j] as number) + summary.damping;
      const g = new Float64Array(49);
      for (const r of removedRows) {
        let z = 0;
        for (let j = 0; j < 49; j++) z += (x[r * 49 + j] as number) * (wa[j] as number);
        const res = logistic(z) - (y[r] as number);
        for (let j = 0; j < 49; j++) g[j] = (g[j] as number) + res * (x[r * 49 + j] as number) + 1e-4 * (wa[j] as number);
      }
      const step = matVecRef(gaussJordanInverse(f, 49), 49, 49, g);
      const expected = wa.map((v, j) => v + (summary.epsilon / (n - k)) * (step[j] as number));
      const diff = norm2(expected.map((v, j) => v - ((hat[a] as Float64Array)[j] as number)));
      const stepNorm = summary.epsilon / (n - k) * norm2(step);
      // F̂⁻¹ is built from a float32 Gram and stored in float32; the step is small next to θ*, so
      // compare the difference with the step itself: 1e-3 of it is far above float32 rounding
      // (κ(F̂) ≈ 1e3 here) and far below any change that would move γ_S.
      assert.ok(diff <= 1e-3 * stepNorm + 1e-9, `attribute ${a}: |Δ| = ${diff}, |step| = ${stepNorm}`);
    }
  });

  test('γ_S, AUCs, distance and accuracies match an independent recomputation', () => {
    const full = loadDataset(data);
    const removedRows = removedIds.map((id) => full.ids.indexOf(id));
    const models = {
      star: thetaColumns(path.join(out, 'theta_star.npy')).w,
      hat: thetaColumns(path.join(out, 'theta_hat.npy')).w,
      retrained: thetaColumns(path.join(out, 'theta_retrained.npy')).w,
    };
    const score = (w: Float64Array[], f: Float32Array, i: number, a: number) => {
      let z = 0;
      for (let j = 0; j < 49; j++) z += (f[i * 49 + j] as number) * ((w[a] as Float64Array)[j] as number);
      return z;
    };
    const aucs = (w: Float64Array[]) =>
      [...Array(10).keys()].map((a) =>
        pairwiseAuc(removedRows.map((i) => score(w, full.train.features, i, a)), removedRows.map((i) => full.train.labels[i * 10 + a] as number)),
      );
    const star = aucs(models.star);
    const hat = aucs(models.hat);
    const ret = aucs(models.retrained);
    for (let a = 0; a < 10; a++) {
      assert.equal(summary.auc.star[a] === null, star[a] === null);
      if (star[a] !== null) {
        assert.ok(Math.abs((summary.auc.star[a] as number) - (star[a] as number)) < 1e-12);
        assert.ok(Math.abs((summary.auc.hat[a] as number) - (hat[a] as number)) < 1e-12);
        assert.ok(Math.abs((summary.auc.retrained[a] as number) - (ret[a] as number)) < 1e-12);
      }
    }
    const dist = (p: (number | null)[], q: (number | null)[]) => p.reduce<number>((s, v, i) => s + Math.abs((v ?? 0) - (q[i] ?? 0)), 0);
    const dStar = dist(hat, star);
    const dRet = dist(hat, ret);
    if (dStar + dRet === 0) assert.equal(summary.gamma_S, null);
    else assert.ok(Math.abs((summary.gamma_S as number) - dStar / (dStar + dRet)) < 1e-12);
    // The chosen ε has the largest γ_S of the sweep.
    const best = Math.max(...summary.sweep.map((r) => r.gamma_S ?? -1));
    assert.equal(summary.gamma_S, best);
    // Normalized parameter distance.
    const flat = (w: Float64Array[]) => w.flatMap((c) => Array.from(c));
    const h = flat(models.hat);
    const s = flat(models.star);
    const r = flat(models.retrained);
    const nr = Math.hypot(...h.map((v, i) => v - (r[i] as number)));
    const ns = Math.hypot(...h.map((v, i) => v - (s[i] as number)));
    assert.ok(Math.abs((summary.normalized_distance as number) - nr / (ns + nr)) < 1e-9);
    // Accuracy on S: fraction of attribute labels predicted right (score > 0 ⇒ 1).
    let right = 0;
    for (const i of removedRows) for (let a = 0; a < 10; a++) right += Number((score(models.hat, full.train.features, i, a) > 0 ? 1 : 0) === full.train.labels[i * 10 + a]);
    assert.ok(Math.abs(summary.accuracy.hat.removed - right / (removedRows.length * 10)) < 1e-12);
    assert.ok(summary.accuracy.star.test !== null);
  });

  test('a second request reuses θ* and F̂⁻¹ from the cache and gives the same θ*', async () => {
    const out2 = path.join(root, 'out2');
    const r = await runCli([
      'erase', '--dataset', data, '--remove', writeRemoval('remove2.txt', ['img-0005']), '--out', out2,
      '--cache-dir', path.join(root, 'cache'), '--backend', 'wasm', '--epsilon', '2', '--verify', 'none',
    ]);
    assert.equal(r.code, 0, r.err);
    const s2 = JSON.parse(fs.readFileSync(path.join(out2, 'summary.json'), 'utf8')) as Summary;
    assert.equal(s2.cache.theta_star, 'hit');
    assert.equal(s2.cache.fisher, 'hit');
    assert.equal(s2.epsilon, 2);
    assert.equal(s2.gamma_S, null);
    assert.ok(!fs.existsSync(path.join(out2, 'theta_retrained.npy')));
    assert.deepEqual(readNpy(path.join(out2, 'theta_star.npy')).data, readNpy(path.join(out, 'theta_star.npy')).data);
    assert.match(r.out, /not verified/);
  });
});

describe('ssse erase rejects bad input with a clear error and writes nothing', () => {
  const cases: { name: string; setup: (dir: string) => { dataset: string; remove: string[]; extra?: string[] }; pattern: RegExp }[] = [
    {
      name: 'bad NPY header',
      setup: (dir) => {
        fs.writeFileSync(path.join(dir, 'features.npy'), 'not an npy file at all');
        return { dataset: dir, remove: ['img-0001'] };
      },
      pattern: /features\.npy/,
    },
    {
      name: 'integer features dtype',
      setup: (dir) => {
        fs.writeFileSync(path.join(dir, 'features.npy'), encodeNpy({ dtype: 'int32', shape: [300, 49], data: new Int32Array(300 * 49) }));
        return { dataset: dir, remove: ['img-0001'] };
      },
      pattern: /features\.npy.*(dtype|int32|float)/,
    },
    {
      name: '1-D features',
      setup: (dir) => {
        fs.writeFileSync(path.join(dir, 'features.npy'), encodeNpy({ dtype: 'float32', shape: [300], data: new Float32Array(300) }));
        return { dataset: dir, remove: ['img-0001'] };
      },
      pattern: /features\.npy.*2-D/,
    },
    {
      name: 'n mismatch between features and labels',
      setup: (dir) => {
        fs.writeFileSync(path.join(dir, 'labels.npy'), encodeNpy({ dtype: 'int32', shape: [299], data: new Int32Array(299) }));
        return { dataset: dir, remove: ['img-0001'] };
      },
      pattern: /labels\.npy.*299.*300|300.*299/,
    },
    {
      name: 'NaN feature',
      setup: (dir) => {
        const f = readNpy(path.join(dir, 'features.npy'));
        (f.data as Float32Array)[17 * 49 + 3] = NaN;
        fs.writeFileSync(path.join(dir, 'features.npy'), encodeNpy(f));
        return { dataset: dir, remove: ['img-0001'] };
      },
      pattern: /features\.npy.*row 17.*column 3.*NaN/,
    },
    {
      name: 'duplicate ids',
      setup: (dir) => {
        const ids = fs.readFileSync(path.join(dir, 'ids.txt'), 'utf8').split('\n');
        ids[9] = 'img-0002';
        fs.writeFileSync(path.join(dir, 'ids.txt'), ids.join('\n'));
        return { dataset: dir, remove: ['img-0001'] };
      },
      pattern: /ids\.txt.*img-0002/,
    },
    { name: 'unknown id', setup: (dir) => ({ dataset: dir, remove: ['img-0001', 'nobody'] }), pattern: /remove\.txt.*nobody/ },
    { name: 'empty request (k = 0)', setup: (dir) => ({ dataset: dir, remove: ['# nothing'] }), pattern: /remove\.txt.*empty/ },
    {
      name: 'the whole training set (k = n)',
      setup: (dir) => ({ dataset: dir, remove: Array.from({ length: 300 }, (_, i) => `img-${String(i).padStart(4, '0')}`) }),
      pattern: /remove\.txt.*k < n/,
    },
    {
      name: 'no ε and no retraining',
      setup: (dir) => ({ dataset: dir, remove: ['img-0001'], extra: ['--verify', 'none'] }),
      pattern: /--epsilon/,
    },
    { name: 'a malformed number', setup: (dir) => ({ dataset: dir, remove: ['img-0001'], extra: ['--l2', 'abc'] }), pattern: /--l2.*abc/ },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const dir = tempDir();
      try {
        writeSmallNpyDataset(path.join(dir, 'data'), 300, 0);
        const spec = c.setup(path.join(dir, 'data'));
        const removeFile = path.join(dir, 'remove.txt');
        fs.writeFileSync(removeFile, spec.remove.join('\n') + '\n');
        const out = path.join(dir, 'out');
        const r = await runCli(['erase', '--dataset', spec.dataset, '--remove', removeFile, '--out', out, '--no-cache', ...(spec.extra ?? [])]);
        assert.notEqual(r.code, 0);
        assert.match(r.err, c.pattern);
        assert.ok(!fs.existsSync(out), 'no output folder');
        assert.deepEqual(fs.readdirSync(dir).sort(), ['data', 'remove.txt'], 'nothing half-written beside it');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('an existing, non-empty --out is left alone unless --overwrite', async () => {
    const out = path.join(root, 'occupied');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'keep.txt'), 'precious');
    const r = await runCli(['erase', '--dataset', data, '--remove', writeRemoval('r3.txt', ['img-0001']), '--out', out, '--no-cache']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--out .*not empty.*--overwrite/);
    assert.deepEqual(fs.readdirSync(out), ['keep.txt']);
  });
});

describe('cancellation', () => {
  test('Ctrl-C during training exits 130 and leaves no output', async () => {
    const dir = tempDir();
    try {
      const out = path.join(dir, 'out');
      const removeFile = path.join(dir, 'remove.txt');
      fs.writeFileSync(removeFile, '0\n1\n');
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(__dirname, '..', '..', 'helpers', 'cliEntry.ts'), 'erase', '--dataset', path.join(__dirname, '..', '..', '..', 'data', 'fashion-mnist-3k'), '--remove', removeFile, '--out', out, '--no-cache', '--backend', 'wasm'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let err = '';
      let sent = false;
      child.stderr.on('data', (b: Buffer) => {
        err += b.toString();
        if (!sent && err.includes('training')) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.equal(code, 130, err);
      assert.match(err, /cancel/);
      assert.deepEqual(fs.readdirSync(dir), ['remove.txt']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a full eraseLinear run leaks no tensors', async () => {
    const ds = loadDataset(data);
    const before = tf.memory().numTensors;
    await eraseLinear(ds, [1, 2, 3], { ...DEFAULT_CONFIG, damping: 1e-4, cacheDir: null });
    assert.equal(tf.memory().numTensors, before);
  });
});
