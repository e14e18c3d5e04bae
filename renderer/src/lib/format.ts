/** How numbers, dates and hashes read across the app (one place, so every view agrees). */
import { format } from 'd3-format';
import { judgeErasure, type Verdict } from '../../../preload/reportDocument';

const f3 = format('.3f');
const pct = format('.2%');
const pp = format('.2f');

export function fmtNumber(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return digits === 3 ? f3(v) : v.toFixed(digits);
}

export function fmtGamma(v: number | null | undefined): string {
  return v === null || v === undefined ? 'undefined' : f3(v);
}

export function fmtPercent(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : pct(v);
}

/** A difference of two accuracies, in percentage points. */
export function fmtPoints(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : `${pp(100 * v)} pp`;
}

export function fmtEpsilon(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : format('.4~g')(v);
}

export function shortHash(h: string | null | undefined, n = 12): string {
  if (!h) return '—';
  return h.length > n ? `${h.slice(0, n)}…` : h;
}

export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  return iso.slice(0, 10);
}

export function fmtDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** Whole days from `today` to the due date (negative: overdue). Dates compared as UTC days. */
export function daysUntil(dueIso: string, today: Date = new Date()): number {
  const due = Date.UTC(Number(dueIso.slice(0, 4)), Number(dueIso.slice(5, 7)) - 1, Number(dueIso.slice(8, 10)));
  const now = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return Math.round((due - now) / 86_400_000);
}

export type Urgency = 'overdue' | 'this-week' | 'later' | 'closed';

/** Open requests past their due date are overdue; within 7 days, due this week. */
export function urgency(status: string, dueIso: string, today: Date = new Date()): Urgency {
  if (status === 'verified' || status === 'applied' || status === 'rejected') return 'closed';
  const d = daysUntil(dueIso, today);
  return d < 0 ? 'overdue' : d <= 7 ? 'this-week' : 'later';
}

/** What γ_S says, in words an auditor can quote (SSSE.md's reading of the ratio; the same words the signed PDF prints). */
export function verdict(gamma: number | null, verified: boolean): Verdict {
  return judgeErasure(gamma, verified);
}

/** Splits pasted sample ids: one per line, or separated by commas, semicolons or whitespace. */
export function splitIds(text: string): string[] {
  return text
    .split(/\r?\n/)
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(/[\s,;]+/))
    .filter((s) => s.length > 0);
}
