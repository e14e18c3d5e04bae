import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  absoluteDifferences,
  groupedModel,
  lineChartModel,
  logTicks,
  MAX_DRAWN_POINTS,
  nearestPoints,
  type Frame,
  type LineChartSpec,
} from '../../renderer/src/charts/model.js';

// Pixel positions are compared to 1e-9: they are a few affine operations on doubles.
const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
const frame: Frame = { width: 460, height: 260, margin: { top: 10, right: 10, bottom: 40, left: 50 } }; // inner 400×210

/** The numbers of an SVG path's M/L commands, as [x, y] pairs with the command letter. */
function commands(d: string): { cmd: string; x: number; y: number }[] {
  return [...d.matchAll(/([ML])(-?[\d.e+-]+),(-?[\d.e+-]+)/g)].map((m) => ({ cmd: m[1] as string, x: Number(m[2]), y: Number(m[3]) }));
}

const gammaSpec = (points: { x: number; y: number | null }[], markX: number | null = null): LineChartSpec => ({
  series: [{ id: 'erased', label: 'γ_S', points }],
  xScale: 'log',
  yDomain: [0, 1],
  markX,
});

test('γ_S against ε: a log x scale over the sweep and a fixed [0, 1] y scale', () => {
  const m = lineChartModel(gammaSpec([{ x: 0.1, y: 0.2 }, { x: 1, y: 0.7 }, { x: 10, y: 0.5 }, { x: 1000, y: 0.1 }], 1), frame);
  assert.deepEqual(m.inner, { w: 400, h: 210 });
  // Independent reference: position = w · log10(x / 0.1) / log10(1000 / 0.1) = 100 · (log10 x + 1).
  for (const x of [0.1, 1, 10, 1000]) close(m.x(x), 100 * (Math.log10(x) + 1));
  close(m.y(0), 210);
  close(m.y(1), 0);
  close(m.y(0.7), 210 * 0.3);
  assert.deepEqual(m.y.domain(), [0, 1]);
  assert.ok(m.mark);
  close(m.mark.pos, 100);
  assert.equal(m.mark.value, 1);
  const cmds = commands(m.paths[0]?.d ?? '');
  assert.equal(cmds.length, 4);
  assert.deepEqual(cmds.map((c) => c.cmd), ['M', 'L', 'L', 'L']);
  close(cmds[1]?.x ?? NaN, 100);
  close(cmds[1]?.y ?? NaN, 63);
  assert.deepEqual(m.xTicks.map((t) => t.label), ['0.1', '1', '10', '100', '1000']);
  assert.deepEqual(m.yTicks.map((t) => t.value), [0, 0.2, 0.4, 0.6, 0.8, 1]);
});

test('an undefined γ_S breaks the line instead of drawing it as 0', () => {
  const m = lineChartModel(gammaSpec([{ x: 0.1, y: 0.2 }, { x: 1, y: null }, { x: 10, y: 0.5 }, { x: 100, y: 0.6 }]), frame);
  assert.deepEqual(commands(m.paths[0]?.d ?? '').map((c) => c.cmd), ['M', 'M', 'L']);
  assert.equal(m.paths[0]?.points.length, 3);
});

test('ε = 0 (the original model) is left off a log axis, and unsorted input is drawn in x order', () => {
  const m = lineChartModel(gammaSpec([{ x: 10, y: 0.5 }, { x: 0, y: 0 }, { x: 0.1, y: 0.1 }]), frame);
  const xs = commands(m.paths[0]?.d ?? '').map((c) => c.x);
  assert.deepEqual(xs.length, 2);
  assert.ok((xs[0] as number) < (xs[1] as number));
  assert.deepEqual(m.x.domain(), [0.1, 10]);
});

test('a fitted y domain covers the data; a mark outside a log axis is dropped', () => {
  const spec: LineChartSpec = { series: [{ id: 'd', label: 'd', points: [{ x: 1, y: 0.31 }, { x: 2, y: 0.87 }] }], xScale: 'linear', yDomain: null, markX: -1 };
  const m = lineChartModel(spec, frame);
  const [lo, hi] = m.y.domain() as [number, number];
  assert.ok(lo <= 0.31 && hi >= 0.87);
  assert.ok(m.mark);
  const logSpec: LineChartSpec = { ...spec, xScale: 'log', markX: 0 };
  assert.equal(lineChartModel(logSpec, frame).mark, null);
});

test('thousands of points: one path with every point, no per-point circles, nearest point by bisection', () => {
  const n = 5000;
  const points = Array.from({ length: n }, (_, i) => ({ x: 10 ** (-1 + (4 * i) / (n - 1)), y: (i % 100) / 100 }));
  const spec = gammaSpec(points);
  const m = lineChartModel(spec, frame);
  assert.equal(commands(m.paths[0]?.d ?? '').length, n);
  assert.equal(m.showPoints, false);
  assert.ok(n > MAX_DRAWN_POINTS);
  // Pointer at the pixel of point 1234: the nearest point is 1234 itself.
  const target = points[1234] as { x: number; y: number };
  const near = nearestPoints(spec, m, m.x(target.x));
  assert.equal(near.length, 1);
  close(near[0]?.x ?? NaN, target.x);
  assert.equal(near[0]?.y, target.y);
  // Between two points, the closer one in x (on the log scale: in pixels) wins.
  const a = m.x((points[10] as { x: number }).x);
  const b = m.x((points[11] as { x: number }).x);
  close(nearestPoints(spec, m, a + 0.4 * (b - a))[0]?.x ?? NaN, (points[10] as { x: number }).x);
});

test('grouped bars start at zero and their heights are proportional to the values', () => {
  const spec = {
    groups: ['S', 'D \\ S', 'test'],
    series: [
      { id: 'original', label: 'original', values: [0.9, 0.8, 0.85] },
      { id: 'erased', label: 'erased', values: [0.6, null, 0.84] },
    ],
    mark: 'bar' as const,
    yDomain: [0, 1] as [number, number],
  };
  const m = groupedModel(spec, frame);
  assert.equal(m.marks.length, 6);
  const find = (g: string, s: string) => m.marks.find((k) => k.group === g && k.seriesId === s);
  const bar = find('S', 'original');
  assert.ok(bar);
  close(bar.y + bar.height, 210); // bottom at y = 0
  close(bar.height, 0.9 * 210);
  close((find('S', 'erased')?.height ?? NaN) / bar.height, 0.6 / 0.9);
  assert.equal(find('D \\ S', 'erased')?.value, null);
  assert.equal(find('D \\ S', 'erased')?.height, 0);
  // Bars of one group sit inside that group's band, side by side, without overlapping.
  const o = find('test', 'original');
  const e = find('test', 'erased');
  assert.ok(o && e);
  const g0 = m.band('test') ?? NaN;
  assert.ok(o.x >= g0 && e.x + e.width <= g0 + m.band.bandwidth() + 1e-9 && o.x + o.width <= e.x + 1e-9);
  assert.deepEqual(m.groupTicks.map((t) => t.label), ['S', 'D \\ S', 'test']);
});

test('grouped dots fit the domain to the data (AUCs close to 1 stay readable)', () => {
  const spec = { groups: ['a', 'b'], series: [{ id: 'x', label: 'x', values: [0.97, 0.991] }], mark: 'dot' as const, yDomain: null };
  const m = groupedModel(spec, frame);
  const [lo, hi] = m.y.domain() as [number, number];
  assert.ok(lo < 0.97 && lo > 0.9 && hi > 0.991 && hi <= 1.0, `${lo} ${hi}`);
  const dots = m.marks.map((k) => k.y);
  assert.ok((dots[0] as number) > (dots[1] as number)); // higher value, higher on screen
});

test('absolute differences to retraining, with missing values kept missing', () => {
  assert.deepEqual(absoluteDifferences([0.9, 0.5, null, 0.2], [0.8, 0.7, 0.1, null]).map((v) => (v === null ? null : Number(v.toFixed(12)))), [0.1, 0.2, null, null]);
});

test('log ticks: decades over a wide range, 1-2-5 over a narrow one', () => {
  assert.deepEqual(logTicks([0.1, 1000]), [0.1, 1, 10, 100, 1000]);
  assert.deepEqual(logTicks([0.5, 20]), [0.5, 1, 2, 5, 10, 20]);
});
