/**
 * The numbers behind the charts: scales, ticks, paths and marks, computed with d3 from typed
 * data. The Svelte components only write what these functions return into SVG, so everything a
 * chart shows can be unit-tested here without a browser.
 */
import { bisector, extent } from 'd3-array';
import { format } from 'd3-format';
import { scaleBand, scaleLinear, scaleLog, type ScaleBand, type ScaleContinuousNumeric } from 'd3-scale';
import { line } from 'd3-shape';

export interface Margin {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

export interface Frame {
  width: number;
  height: number;
  margin: Margin;
}

export const DEFAULT_MARGIN: Margin = { top: 12, right: 16, bottom: 44, left: 56 };

export function innerSize(frame: Frame): { w: number; h: number } {
  return {
    w: Math.max(0, frame.width - frame.margin.left - frame.margin.right),
    h: Math.max(0, frame.height - frame.margin.top - frame.margin.bottom),
  };
}

export interface Tick {
  value: number;
  /** Position along the axis, in pixels from the plot's origin. */
  pos: number;
  label: string;
}

export interface Point {
  x: number;
  /** null: undefined at this x (e.g. γ_S where both distances are 0): the line breaks there. */
  y: number | null;
}

export interface Series {
  id: string;
  label: string;
  points: Point[];
}

export interface LineChartSpec {
  series: Series[];
  xScale: 'linear' | 'log';
  /** Fixed y domain (e.g. [0, 1] for a ratio); null: fitted to the data. */
  yDomain: [number, number] | null;
  /** A marked x value (the chosen ε), drawn as a rule. */
  markX: number | null;
  xFormat?: string;
  yFormat?: string;
}

export interface LineChartModel {
  x: ScaleContinuousNumeric<number, number>;
  y: ScaleContinuousNumeric<number, number>;
  xTicks: Tick[];
  yTicks: Tick[];
  paths: { id: string; label: string; d: string; points: { px: number; py: number }[] }[];
  mark: { pos: number; value: number } | null;
  /** Whether individual points are drawn (only for sparse series: thousands of circles are slow). */
  showPoints: boolean;
  inner: { w: number; h: number };
}

/** Series with more points than this are drawn as paths only. */
export const MAX_DRAWN_POINTS = 200;

function finite(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * Scales, ticks and one SVG path per series. A log x scale ignores x ≤ 0 (ε = 0 is the original
 * model itself, which a log axis cannot place); y values that are null break the line.
 */
export function lineChartModel(spec: LineChartSpec, frame: Frame): LineChartModel {
  const inner = innerSize(frame);
  const usable = (p: Point) => finite(p.x) && (spec.xScale === 'linear' || p.x > 0);
  const xs = spec.series.flatMap((s) => s.points.filter(usable).map((p) => p.x));
  const [x0, x1] = extent(xs);
  let x: ScaleContinuousNumeric<number, number>;
  if (spec.xScale === 'log') {
    const lo = x0 ?? 0.1;
    const hi = x1 ?? 1000;
    x = scaleLog().domain(lo === hi ? [lo / 10, hi * 10] : [lo, hi]).range([0, inner.w]);
  } else {
    const lo = x0 ?? 0;
    const hi = x1 ?? 1;
    x = scaleLinear().domain(lo === hi ? [lo - 1, hi + 1] : [lo, hi]).range([0, inner.w]).nice();
  }
  let yDomain: [number, number];
  if (spec.yDomain) {
    yDomain = spec.yDomain;
  } else {
    const ys = spec.series.flatMap((s) => s.points.filter((p) => usable(p) && finite(p.y)).map((p) => p.y as number));
    const [y0, y1] = extent(ys);
    yDomain = y0 === undefined || y1 === undefined ? [0, 1] : y0 === y1 ? [y0 - 1, y1 + 1] : [y0, y1];
  }
  const y = scaleLinear().domain(yDomain).range([inner.h, 0]);
  if (!spec.yDomain) y.nice();

  const xFmt = format(spec.xFormat ?? (spec.xScale === 'log' ? '~g' : '~g'));
  const yFmt = format(spec.yFormat ?? '.2~f');
  const xTickValues = spec.xScale === 'log' ? logTicks(x.domain() as [number, number]) : x.ticks(6);
  const xTicks = xTickValues.map((value) => ({ value, pos: x(value), label: xFmt(value) }));
  const yTicks = y.ticks(5).map((value) => ({ value, pos: y(value), label: yFmt(value) }));

  const gen = line<Point>()
    .defined((p) => usable(p) && finite(p.y))
    .x((p) => x(p.x))
    .y((p) => y(p.y as number));
  const total = spec.series.reduce((s, ser) => s + ser.points.length, 0);
  const paths = spec.series.map((s) => {
    const sorted = [...s.points].sort((a, b) => a.x - b.x);
    return {
      id: s.id,
      label: s.label,
      d: gen(sorted) ?? '',
      points: sorted.filter((p) => usable(p) && finite(p.y)).map((p) => ({ px: x(p.x), py: y(p.y as number) })),
    };
  });
  const mark = spec.markX !== null && finite(spec.markX) && (spec.xScale === 'linear' || spec.markX > 0)
    ? { pos: x(spec.markX), value: spec.markX }
    : null;
  return { x, y, xTicks, yTicks, paths, mark, showPoints: total <= MAX_DRAWN_POINTS, inner };
}

/** Powers of ten within the domain, with 2 and 5 between them when the domain spans at most 2 decades. */
export function logTicks([lo, hi]: [number, number]): number[] {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const steps = Math.log10(hi / lo) <= 2 ? [1, 2, 5] : [1];
  const out: number[] = [];
  for (let e = a; e <= b; e++) {
    for (const m of steps) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  }
  return out;
}

export interface Nearest {
  seriesId: string;
  label: string;
  x: number;
  y: number | null;
  px: number;
  py: number | null;
}

/**
 * For a pointer at pixel px, each series' point nearest in x (by bisection: O(log n) per series,
 * so a tooltip stays instant with thousands of points).
 */
export function nearestPoints(spec: LineChartSpec, model: LineChartModel, px: number): Nearest[] {
  const xv = model.x.invert(px);
  const by = bisector<Point, number>((p) => p.x).center;
  const out: Nearest[] = [];
  for (const s of spec.series) {
    const pts = s.points.filter((p) => finite(p.x) && (spec.xScale === 'linear' || p.x > 0)).sort((a, b) => a.x - b.x);
    if (pts.length === 0) continue;
    const i = by(pts, xv);
    const p = pts[i];
    if (!p) continue;
    out.push({ seriesId: s.id, label: s.label, x: p.x, y: p.y, px: model.x(p.x), py: finite(p.y) ? model.y(p.y) : null });
  }
  return out;
}

// ── Grouped marks (bars or dots) ──────────────────────────────────────────────────────────────

export interface GroupedSpec {
  groups: string[];
  series: { id: string; label: string; values: (number | null)[] }[];
  /** 'bar' starts at zero; 'dot' fits the domain to the data (for values that differ little, like AUCs). */
  mark: 'bar' | 'dot';
  yDomain: [number, number] | null;
  yFormat?: string;
}

export interface GroupedMark {
  group: string;
  groupIndex: number;
  seriesId: string;
  seriesLabel: string;
  value: number | null;
  /** Left edge (bars) or centre (dots) in pixels. */
  x: number;
  width: number;
  /** Top of the bar, or the dot's centre; for a null value, where its "n/a" label sits. */
  y: number;
  height: number;
}

export interface GroupedModel {
  band: ScaleBand<string>;
  y: ScaleContinuousNumeric<number, number>;
  yTicks: Tick[];
  marks: GroupedMark[];
  inner: { w: number; h: number };
  groupTicks: { label: string; pos: number }[];
}

export function groupedModel(spec: GroupedSpec, frame: Frame): GroupedModel {
  const inner = innerSize(frame);
  const band = scaleBand<string>().domain(spec.groups).range([0, inner.w]).paddingInner(0.2).paddingOuter(0.1);
  const inside = scaleBand<string>().domain(spec.series.map((s) => s.id)).range([0, band.bandwidth()]).padding(spec.mark === 'bar' ? 0.08 : 0);
  const values = spec.series.flatMap((s) => s.values.filter(finite));
  let domain: [number, number];
  if (spec.yDomain) domain = spec.yDomain;
  else if (spec.mark === 'bar') domain = [0, Math.max(0, ...values) || 1];
  else {
    // Dots: the data's range plus 8% on each side, so no dot sits on the frame.
    const [lo, hi] = extent(values);
    const pad = lo === undefined || hi === undefined ? 0 : lo === hi ? 0.05 : 0.08 * (hi - lo);
    domain = lo === undefined || hi === undefined ? [0, 1] : [lo - pad, hi + pad];
  }
  const y = scaleLinear().domain(domain).range([inner.h, 0]);
  if (!spec.yDomain) y.nice();
  const yFmt = format(spec.yFormat ?? '.2~f');
  const yTicks = y.ticks(5).map((value) => ({ value, pos: y(value), label: yFmt(value) }));
  const base = y(Math.max(y.domain()[0] as number, 0));
  const marks: GroupedMark[] = [];
  spec.groups.forEach((group, gi) => {
    const g0 = band(group) ?? 0;
    for (const s of spec.series) {
      const v = s.values[gi] ?? null;
      const sx = g0 + (inside(s.id) ?? 0);
      const w = inside.bandwidth();
      if (!finite(v)) {
        marks.push({ group, groupIndex: gi, seriesId: s.id, seriesLabel: s.label, value: null, x: spec.mark === 'bar' ? sx : sx + w / 2, width: w, y: base, height: 0 });
      } else if (spec.mark === 'bar') {
        const top = y(v);
        marks.push({ group, groupIndex: gi, seriesId: s.id, seriesLabel: s.label, value: v, x: sx, width: w, y: Math.min(top, base), height: Math.abs(base - top) });
      } else {
        marks.push({ group, groupIndex: gi, seriesId: s.id, seriesLabel: s.label, value: v, x: sx + w / 2, width: w, y: y(v), height: 0 });
      }
    }
  });
  const groupTicks = spec.groups.map((label) => ({ label, pos: (band(label) ?? 0) + band.bandwidth() / 2 }));
  return { band, y, yTicks, marks, inner, groupTicks };
}

/** |a − b| per entry; null where either is missing (the paper's Figure 2 differences). */
export function absoluteDifferences(a: (number | null)[], b: (number | null)[]): (number | null)[] {
  return a.map((v, i) => {
    const w = b[i];
    return finite(v) && finite(w) ? Math.abs(v - w) : null;
  });
}
