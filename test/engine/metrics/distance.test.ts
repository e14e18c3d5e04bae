import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { l2Distance, normalizedDistance } from '../../../main/engine/metrics/distance.js';
import { SsseError } from '../../../main/engine/errors.js';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function badArgument(pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => e instanceof SsseError && e.code === 'BAD_ARGUMENT' && pattern.test(e.message);
}

function close(actual: number | null, expected: number, rel = 1e-14): void {
  assert.ok(actual !== null, 'expected a number, got null');
  assert.ok(Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected)), `${actual} vs ${expected}`);
}

describe('l2Distance', () => {
  test('hand-worked 3-4-5', () => {
    assert.equal(l2Distance([0, 0], [3, 4]), 5);
    assert.equal(l2Distance([1, 2, 3], [1, 2, 3]), 0);
    assert.equal(l2Distance([], []), 0);
  });

  test('no overflow or underflow', () => {
    // A naive Σd² would give Infinity (9e400) and 0 (9e-400).
    close(l2Distance([0, 0], [3e200, 4e200]), 5e200);
    close(l2Distance(new Float64Array([0, 0]), new Float64Array([3e-200, 4e-200])), 5e-200);
    // A difference beyond the float64 range itself: 1e308 − (−1e308) = 2e308 > max → Infinity, not NaN.
    assert.equal(l2Distance([1e308], [-1e308]), Infinity);
    // Near the top of the range, still representable: 0.8e308 − (−0.8e308) = 1.6e308.
    close(l2Distance([0.8e308, 0], [-0.8e308, 0]), 1.6e308);
  });

  test('matches Math.hypot on random vectors', () => {
    const rand = mulberry32(99);
    for (let trial = 0; trial < 50; trial++) {
      const p = 1 + Math.floor(rand() * 100);
      const a = new Float32Array(p);
      const b = new Float64Array(p);
      const d: number[] = [];
      for (let i = 0; i < p; i++) {
        a[i] = rand() * 2 - 1;
        b[i] = rand() * 2 - 1;
        d.push((a[i] as number) - (b[i] as number));
      }
      close(l2Distance(a, b), Math.hypot(...d), 1e-13);
    }
  });

  test('contract violations', () => {
    assert.throws(() => l2Distance([1], [1, 2]), badArgument(/length/));
    assert.throws(() => l2Distance([Number.NaN], [1]), badArgument(/a\[0\].*NaN/));
    assert.throws(() => l2Distance([1], [Infinity]), badArgument(/b\[0\]/));
  });
});

describe('normalizedDistance', () => {
  const star = [0, 0];
  const retrained = [3, 4];

  test('hand-worked', () => {
    assert.equal(normalizedDistance(retrained, star, retrained), 0); // at the retrained point
    assert.equal(normalizedDistance(star, star, retrained), 1); // at the original
    assert.equal(normalizedDistance([1.5, 2], star, retrained), 0.5); // midpoint: 2.5 / (2.5 + 2.5)
    // hat = (0, 4): ‖hat − retrained‖ = 3, ‖hat − star‖ = 4 → 3 / 7
    close(normalizedDistance([0, 4], star, retrained), 3 / 7);
    // hat off the segment, (3, 0): ‖hat − retrained‖ = 4, ‖hat − star‖ = 3 → 4 / 7
    close(normalizedDistance([3, 0], star, retrained), 4 / 7);
  });

  test('all three equal → null', () => {
    assert.equal(normalizedDistance([1, 2], [1, 2], [1, 2]), null);
    assert.equal(normalizedDistance([], [], []), null);
  });

  test('huge and tiny values do not overflow or underflow', () => {
    const s = 1e200;
    close(normalizedDistance([0, 4 * s], [0, 0], [3 * s, 4 * s]), 3 / 7);
    close(normalizedDistance([1.5 * s, 2 * s], [0, 0], [3 * s, 4 * s]), 0.5);
    const t = 1e-200;
    close(normalizedDistance([0, 4 * t], [0, 0], [3 * t, 4 * t]), 3 / 7);
    // Differences that overflow float64 (2e308): hat = 0 is halfway between −1e308 and 1e308.
    close(normalizedDistance([0], [-1e308], [1e308]), 0.5);
    assert.equal(normalizedDistance([1e308], [-1e308], [1e308]), 0);
    assert.equal(normalizedDistance([-1e308], [-1e308], [1e308]), 1);
  });

  test('matches a reference built on Math.hypot for random vectors', () => {
    const rand = mulberry32(2024);
    for (let trial = 0; trial < 50; trial++) {
      const p = 1 + Math.floor(rand() * 50);
      const hat: number[] = [];
      const st: number[] = [];
      const re: number[] = [];
      for (let i = 0; i < p; i++) {
        hat.push(rand());
        st.push(rand());
        re.push(rand());
      }
      const dR = Math.hypot(...hat.map((h, i) => h - (re[i] as number)));
      const dS = Math.hypot(...hat.map((h, i) => h - (st[i] as number)));
      close(normalizedDistance(hat, st, re), dR / (dS + dR), 1e-13);
    }
  });

  test('contract violations name the argument', () => {
    assert.throws(() => normalizedDistance([1, 2], [1], [1, 2]), badArgument(/star/));
    assert.throws(() => normalizedDistance([1, 2], [1, 2], [1, 2, 3]), badArgument(/retrained/));
    assert.throws(() => normalizedDistance([1, Number.NaN], [1, 2], [1, 2]), badArgument(/hat\[1\].*NaN/));
    assert.throws(() => normalizedDistance([1, 2], [1, 2], [Number.NaN, 2]), badArgument(/retrained\[0\]/));
  });
});
