import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../main/cli/ssse.js';
import type { CliIo } from '../../main/cli/options.js';
import type { CalibrationReport } from '../../main/engine/calibration.js';
import type { EraseSummary } from '../../main/engine/erase.js';
import { syntheticDataset, writeNpyDataset } from '../helpers/synthetic.js';

/** Captures what a command writes. */
function capture(): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const stream = (append: (s: string) => void) => ({ isTTY: false, write: (s: string | Uint8Array) => (append(String(s)), true) }) as unknown as NodeJS.WriteStream;
  return { io: { out: stream((s) => (out += s)), err: stream((s) => (err += s)) }, out: () => out, err: () => err };
}

describe('ssse calibrate, then ssse erase --epsilon-from', () => {
  let root: string;
  let data: string;
  let cache: string;
  let removeFile: string;
  let calibration: CalibrationReport;

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-cli-calibrate-'));
    data = path.join(root, 'data');
    cache = path.join(root, 'cache');
    writeNpyDataset(data, syntheticDataset({ n: 240, nTest: 80, d: 8, classes: 3, seed: 41 }));
    removeFile = path.join(root, 'remove.txt');
    fs.writeFileSync(removeFile, '# five samples\n3\n17\n64\n100\n201\n');
    const c = capture();
    const code = await main(
      ['calibrate', '--dataset', data, '--out', path.join(root, 'cal'), '--trials', '1', '--fractions', '0.05', '--epsilon-sweep', '0.5,1,2', '--cache-dir', cache],
      c.io,
    );
    assert.equal(code, 0, c.err());
    assert.match(c.out(), /expected\+leave-k-out/);
    calibration = JSON.parse(fs.readFileSync(path.join(root, 'cal', 'calibration.json'), 'utf8')) as CalibrationReport;
  });

  after(() => fs.rmSync(root, { recursive: true, force: true }));

  test('calibration.json holds one ε per setting from the grid, and every trial\'s curve', () => {
    assert.deepEqual(calibration.settings.map((s) => s.setting), ['empirical', 'empirical+leave-k-out', 'expected', 'expected+leave-k-out']);
    for (const s of calibration.settings) assert.ok([0.5, 1, 2].includes(s.epsilon));
    assert.equal(calibration.trials.length, 2); // one random, one one-attribute removal
    for (const t of calibration.trials) for (const c of t.curves) assert.equal(c.gamma_S.length, 3);
  });

  test('erase --epsilon-from applies the calibrated ε with no retraining, reading S and the stored artefacts only', async () => {
    const out = path.join(root, 'erase-cal');
    const c = capture();
    const code = await main(['erase', '--dataset', data, '--remove', removeFile, '--out', out, '--epsilon-from', path.join(root, 'cal', 'calibration.json'), '--curvature', 'expected', '--leave-k-out', '--cache-dir', cache], c.io);
    assert.equal(code, 0, c.err());
    const s = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as EraseSummary;
    assert.equal(s.epsilon, calibration.settings.find((x) => x.setting === 'expected+leave-k-out')!.epsilon);
    assert.equal(s.epsilon_source, 'calibration');
    assert.equal(s.verify, 'none');
    assert.equal(s.data_access, 'removed_only');
    assert.equal(s.leave_k_out, true);
    assert.equal(s.cache.theta_star, 'hit');
    assert.equal(s.cache.fisher, 'hit');
    assert.ok(s.membership_auc && s.membership_auc.hat !== null);
    assert.deepEqual(fs.readdirSync(out).sort(), ['removed_ids.txt', 'summary.json', 'theta_hat.npy', 'theta_star.npy']);
    assert.match(c.out(), /read S and the stored θ\*, F̂⁻¹ only/);
  });

  test('erase --epsilon-from --refine newton reads D \\ S and reaches the optimum; theta_refined.npy is written', async () => {
    const out = path.join(root, 'erase-refine');
    const c = capture();
    const code = await main(['erase', '--dataset', data, '--remove', removeFile, '--out', out, '--epsilon-from', path.join(root, 'cal', 'calibration.json'), '--curvature', 'expected', '--leave-k-out', '--refine', 'newton', '--verify', 'retrain', '--cache-dir', cache], c.io);
    assert.equal(code, 0, c.err());
    const s = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as EraseSummary;
    assert.equal(s.data_access, 'full');
    assert.equal(s.epsilon_source, 'calibration');
    assert.ok(s.refine && (s.refine.relative_distance_to_retrained as number) < 1e-4);
    assert.ok(s.gradient_norm && (s.gradient_norm.refined as number) < (s.gradient_norm.theta_hat as number));
    assert.ok(fs.existsSync(path.join(out, 'theta_refined.npy')));
    assert.match(c.out(), /Newton refinement: \d+ iterations \(retraining from the seed took \d+; saved -?\d+\)/);
  });

  test('conflicting or mismatched calibrations fail with a clear message and write nothing', async () => {
    const cal = path.join(root, 'cal', 'calibration.json');
    const cases: [string[], number, RegExp][] = [
      [['--epsilon-from', cal, '--epsilon', '1'], 2, /either --epsilon-from or --epsilon/],
      [['--epsilon-from', cal, '--l2', '1e-3'], 1, /calibration\.json: calibrated for another model: l2 0\.0001 ≠ 0\.001; damping 0\.0001 ≠ 0\.001/],
      [['--epsilon-from', cal, '--limit-train', '220'], 1, /dataset fingerprint/],
      [['--epsilon-from', path.join(root, 'missing.json')], 1, /missing\.json: cannot read the calibration file \(ENOENT\)/],
      [['--epsilon-from', removeFile], 1, /remove\.txt: not valid JSON/],
      [['--epsilon-from', cal, '--curvature', 'expected', '--cache-dir', path.join(root, 'empty-cache')], 1, /θ\* of this model is not stored here/],
    ];
    for (const [extra, want, message] of cases) {
      const out = path.join(root, 'never');
      const c = capture();
      const code = await main(['erase', '--dataset', data, '--remove', removeFile, '--out', out, '--cache-dir', cache, ...extra], c.io);
      assert.equal(code, want, `${extra.join(' ')}: ${c.err()}`);
      assert.match(c.err(), message);
      assert.ok(!fs.existsSync(out), 'nothing written');
    }
  });

  test('calibrate refuses bad options before any work', async () => {
    const cases: [string[], RegExp][] = [
      [['--fractions', '0.05,1.2'], /--fractions: "1\.2" is not a fraction/],
      [['--trials', '0'], /--trials: expected a whole number ≥ 1/],
      [['--settings', 'expected,hessian'], /--settings: "hessian" is not one of/],
      [['--epsilon-sweep', 'a'], /--epsilon-sweep: "a" is not a number/],
    ];
    for (const [extra, message] of cases) {
      const out = path.join(root, 'never-cal');
      const c = capture();
      const code = await main(['calibrate', '--dataset', data, '--out', out, ...extra], c.io);
      assert.equal(code, 2, c.err());
      assert.match(c.err(), message);
      assert.ok(!fs.existsSync(out));
    }
    const c = capture();
    assert.equal(await main(['calibrate', '--out', path.join(root, 'x')], c.io), 2);
    assert.match(c.err(), /--dataset DIR is required/);
  });
});
