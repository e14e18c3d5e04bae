import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../main/engine/backend.js';
import {
  calibrate,
  calibratedEpsilon,
  DEFAULT_CALIBRATE,
  parseCalibration,
  plannedRemovals,
  type CalibrateConfig,
  type CalibrationReport,
} from '../../main/engine/calibration.js';
import { datasetFingerprint } from '../../main/engine/erase.js';
import { SsseError } from '../../main/engine/errors.js';
import { argmaxDefined, argminDefined, meanCurve } from '../../main/engine/linear/calibrate.js';
import { attributeAucs, normalizedDistance, similarityRatio } from '../../main/engine/metrics/index.js';
import { denseWeightedGram, labelColumn, logistic, logisticGradient, luSolve, newtonLogistic } from '../helpers/reference.js';
import { syntheticDataset } from '../helpers/synthetic.js';
import { DEFAULT_FISHER_METHOD } from '../../main/engine/linear/fisher.js';

const ds = syntheticDataset({ n: 240, nTest: 80, d: 8, classes: 3, seed: 31 });
const { d, A } = ds;
const n = ds.train.n;
const l2 = 1e-4;

/** Logits X·W for one model (attribute-major weights), float64. */
function scores(x: Float32Array, m: number, w: ArrayLike<number>): Float64Array {
  const out = new Float64Array(m * A);
  for (let i = 0; i < m; i++) {
    for (let a = 0; a < A; a++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (x[i * d + j] as number) * (w[a * d + j] as number);
      out[i * A + a] = s;
    }
  }
  return out;
}

describe('calibrate: simulated removals, one ε per setting (n = 240, d = 8, 3 classes)', () => {
  let cacheDir: string;
  let config: CalibrateConfig;
  let report: CalibrationReport;

  before(async () => {
    await initBackend('auto');
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-calibrate-'));
    config = { ...DEFAULT_CALIBRATE, damping: l2, cacheDir, trials: 1, fractions: [0.05, 0.1], grid: [0.25, 0.5, 1, 2, 4] };
    report = await calibrate(ds, config);
  });

  after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

  test('plans, per fraction, `trials` random and `trials` one-attribute removals of round(f·n) rows', () => {
    const { removals } = plannedRemovals(ds, config);
    assert.deepEqual(
      removals.map((r) => [r.spec.kind, r.spec.fraction, r.spec.k]),
      [
        ['random', 0.05, 12],
        ['attribute', 0.05, 12],
        ['random', 0.1, 24],
        ['attribute', 0.1, 24],
      ],
    );
    assert.equal(new Set(removals.map((r) => r.spec.seed)).size, removals.length, 'each trial has its own seed');
    for (const r of removals.filter((x) => x.spec.kind === 'attribute')) {
      for (const i of r.rows) assert.equal(ds.train.labels[i * A + (r.spec.attribute as number)], 1);
    }
    assert.deepEqual(report.trials.map((t) => t.removal), removals.map((r) => r.spec));
  });

  test('one trial\'s expected + leave-k-out curve matches an independent recomputation', () => {
    const trial = report.trials[2]!;
    const { removals } = plannedRemovals(ds, config);
    const rows = removals[2]!.rows;
    const k = rows.length;
    const set = new Set(rows);
    const kept = Array.from({ length: n }, (_, i) => i).filter((i) => !set.has(i));
    const take = <T extends Float32Array | Uint8Array>(src: T, width: number, which: number[]): T => {
      const out = new (src.constructor as new (m: number) => T)(which.length * width);
      which.forEach((i, r) => out.set(src.subarray(i * width, (i + 1) * width), r * width));
      return out;
    };
    const x = ds.train.features;
    const y = ds.train.labels;
    const xk = take(x, d, kept);
    const yk = take(y, A, kept);
    const xs = take(x, d, rows);
    const ys = take(y, A, rows);
    const star = new Float64Array(A * d);
    const retrained = new Float64Array(A * d);
    const direction = new Float64Array(A * d);
    for (let a = 0; a < A; a++) {
      // θ* and θ*_{−S} by the reference optimiser (LU Newton from 0), not the engine's.
      const ws = newtonLogistic({ x, y: labelColumn(y, n, A, a), n, d, l2 }, 1e-13).w;
      star.set(ws, a * d);
      retrained.set(newtonLogistic({ x: xk, y: labelColumn(yk, n - k, A, a), n: n - k, d, l2 }, 1e-13).w, a * d);
      // u = F̂_{−S}⁻¹·Σ_S∇ℓ_i/(n − k), F̂_{−S} = λI + (1/(n−k))Σ_{∉S} p(1−p)xxᵀ built densely.
      const w = Float64Array.from({ length: n - k }, (_, i) => {
        let z = 0;
        for (let j = 0; j < d; j++) z += (xk[i * d + j] as number) * (ws[j] as number);
        const p = logistic(z);
        return p * (1 - p);
      });
      const f = denseWeightedGram(xk, n - k, d, w);
      for (let i = 0; i < d * d; i++) f[i] = (f[i] as number) / (n - k);
      for (let j = 0; j < d; j++) f[j * d + j] = (f[j * d + j] as number) + l2;
      // Σ_S∇ℓ_i = k·∇(mean loss over S) with the L2 term: k·(reference gradient on S's rows).
      const gS = logisticGradient({ x: xs, y: labelColumn(ys, k, A, a), n: k, d, l2 }, ws).map((v) => v * k);
      direction.set(luSolve(f, d, gS).map((v) => v / (n - k)), a * d);
    }
    const curve = trial.curves.find((c) => c.curvature === 'expected' && c.leave_k_out)!;
    const aucStar = attributeAucs(scores(xs, k, star), ys, k, A);
    const aucRetrained = attributeAucs(scores(xs, k, retrained), ys, k, A);
    config.grid.forEach((eps, e) => {
      const hat = star.map((v, i) => v + eps * (direction[i] as number));
      const gamma = similarityRatio(attributeAucs(scores(xs, k, hat), ys, k, A), aucStar, aucRetrained).gamma;
      // AUCs depend only on the ranking of S's scores; parameters agree to ≲ 1e-5 relative (float32
      // F̂⁻¹ storage, certified optima), far too little to reorder these continuous scores.
      assert.equal(curve.gamma_S[e], gamma, `ε = ${eps}`);
      const nd = normalizedDistance(hat, star, retrained) as number;
      assert.ok(Math.abs((curve.normalized_distance[e] as number) - nd) < 1e-4, `ε = ${eps}: ${curve.normalized_distance[e]} vs ${nd}`);
    });
  });

  test('each setting\'s ε is the argmax of its mean γ_S over all trials; groups and spreads are reported', () => {
    assert.equal(report.settings.length, 4);
    for (const [si, s] of report.settings.entries()) {
      const curves = report.trials.map((t) => t.curves[si]!.gamma_S);
      const mean = meanCurve(curves, config.grid.length);
      assert.equal(s.epsilon, config.grid[argmaxDefined(mean) as number]);
      assert.deepEqual(s.mean_gamma_S, mean);
      assert.equal(s.groups.length, 4);
      assert.equal(s.at_epsilon.count, report.trials.filter((t) => t.curves[si]!.gamma_S[s.index] !== null).length);
    }
    assert.equal(report.dataset.fingerprint, datasetFingerprint(ds));
    assert.equal(report.format, 'ssse-calibration/1');
    for (const t of report.trials) assert.equal(t.retrain.warm_start, 'theta_star');
    // Part of one class of a one-vs-rest model: every attribute is constant on S, so γ_S is
    // undefined (SSSE.md) and the trial's best ε comes from the accuracy difference instead.
    for (const t of report.trials.filter((x) => x.removal.kind === 'attribute')) {
      for (const c of t.curves) {
        assert.ok(c.gamma_S.every((g) => g === null));
        assert.equal(c.best_rule, 'min_accuracy_difference');
        assert.equal(c.best_epsilon, config.grid[argminDefined(c.mean_abs_accuracy_difference) as number]);
      }
    }
    for (const [si, s] of report.settings.entries()) {
      for (const g of s.groups) {
        // A group falls back to the accuracy difference exactly when none of its trials defines γ_S
        // (small random S can also leave every model with the same AUCs on S).
        const members = report.trials.filter((t) => t.removal.kind === g.kind && t.removal.fraction === g.fraction);
        const anyGamma = members.some((t) => t.curves[si]!.gamma_S.some((v) => v !== null));
        assert.equal(g.rule, anyGamma ? 'max_gamma_S' : 'min_accuracy_difference');
        if (g.kind === 'attribute') assert.equal(g.rule, 'min_accuracy_difference');
      }
      const anyGamma = report.trials.some((t) => t.curves[si]!.gamma_S.some((v) => v !== null));
      assert.equal(s.rule, anyGamma ? 'max_gamma_S' : 'min_accuracy_difference');
    }
    // calibration.json must survive JSON unchanged (no NaN, undefined or typed arrays).
    assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
  });

  test('calibratedEpsilon returns the setting\'s ε and refuses another model or a missing setting', () => {
    const model = { fingerprint: datasetFingerprint(ds), l2, damping: l2, seed: 0, tolerance: 1e-6, fisherMethod: DEFAULT_FISHER_METHOD };
    const want = report.settings.find((s) => s.curvature === 'expected' && s.leave_k_out)!.epsilon;
    assert.equal(calibratedEpsilon(report, { curvature: 'expected', leaveKOut: true }, model, 'cal.json'), want);
    const is = (re: RegExp) => (e: unknown) => e instanceof SsseError && e.code === 'BAD_REQUEST' && re.test(e.message);
    assert.throws(() => calibratedEpsilon(report, { curvature: 'expected', leaveKOut: true }, { ...model, l2: 1e-3 }, 'cal.json'), is(/^cal\.json: calibrated for another model: l2 0\.0001 ≠ 0\.001/));
    assert.throws(() => calibratedEpsilon(report, { curvature: 'expected', leaveKOut: true }, { ...model, fingerprint: 'ab'.repeat(32) }, 'cal.json'), is(/dataset fingerprint/));
    const partial = { ...report, settings: report.settings.filter((s) => !s.leave_k_out) };
    assert.throws(() => calibratedEpsilon(partial, { curvature: 'expected', leaveKOut: true }, model, 'cal.json'), is(/no calibrated ε for expected\+leave-k-out \(calibrated: empirical, expected\)/));
  });

  test('parseCalibration accepts its own output and names what is wrong otherwise', () => {
    assert.deepEqual(parseCalibration(JSON.stringify(report), 'c.json'), report);
    const is = (re: RegExp) => (e: unknown) => e instanceof SsseError && e.code === 'BAD_INPUT' && re.test(e.message);
    assert.throws(() => parseCalibration('{', 'c.json'), is(/^c\.json: not valid JSON/));
    assert.throws(() => parseCalibration('{"format": "x"}', 'c.json'), is(/not an SSSE calibration file/));
    const bad = JSON.parse(JSON.stringify(report)) as CalibrationReport;
    (bad.settings[1] as { epsilon: unknown }).epsilon = 'big';
    assert.throws(() => parseCalibration(JSON.stringify(bad), 'c.json'), is(/settings\[1\]\.epsilon/));
  });

  test('bad configurations are refused before any work; cancellation stops it', async () => {
    const is = (code: string, re: RegExp) => (e: unknown) => e instanceof SsseError && e.code === code && re.test(e.message);
    await assert.rejects(calibrate(ds, { ...config, trials: 0 }), is('BAD_ARGUMENT', /--trials/));
    await assert.rejects(calibrate(ds, { ...config, fractions: [0.5, 1.5] }), is('BAD_ARGUMENT', /--fractions: 1\.5/));
    await assert.rejects(calibrate(ds, { ...config, fractions: [0.999] }), is('BAD_ARGUMENT', /leaves no training sample/));
    await assert.rejects(calibrate(ds, { ...config, fractions: [] }), is('BAD_ARGUMENT', /at least one/));
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(calibrate(ds, { ...config, signal: ac.signal }), is('CANCELLED', /cancelled/));
  });
});
