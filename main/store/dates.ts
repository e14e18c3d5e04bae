import { SsseError } from '../engine/errors.js';

/**
 * Dates of a request, as ISO 8601 UTC strings.
 *
 * The default due date is one calendar month after receipt (GDPR Art. 12(3)): the same day of
 * the next month, or that month's last day when it is shorter (31 January → 28/29 February),
 * at the same time of day.
 */
export function addOneMonth(iso: string): string {
  const t = new Date(iso);
  const y = t.getUTCFullYear();
  const m = t.getUTCMonth() + 1;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  const day = Math.min(t.getUTCDate(), lastDay);
  return new Date(Date.UTC(y, m, day, t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds(), t.getUTCMilliseconds())).toISOString();
}

/** A date given on the command line: YYYY-MM-DD (midnight UTC) or a full ISO 8601 time. */
export function parseDate(flag: string, value: string): string {
  const text = value.trim();
  const t = /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T00:00:00.000Z`) : /^\d{4}-\d{2}-\d{2}T/.test(text) ? new Date(text) : null;
  if (!t || Number.isNaN(t.getTime())) throw new SsseError('BAD_ARGUMENT', `--${flag}: expected a date as YYYY-MM-DD or an ISO 8601 time, got "${value}"`);
  if (/^\d{4}-\d{2}-\d{2}$/.test(text) && t.toISOString().slice(0, 10) !== text) {
    throw new SsseError('BAD_ARGUMENT', `--${flag}: ${text} is not a calendar date`);
  }
  return t.toISOString();
}
