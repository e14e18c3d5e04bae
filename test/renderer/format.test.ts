import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daysUntil, fmtPercent, fmtPoints, splitIds, urgency, verdict } from '../../renderer/src/lib/format.js';
import { parseRoute } from '../../renderer/src/lib/routes.js';

const today = new Date(Date.UTC(2026, 0, 15, 23, 30));

test('due dates: overdue, due this week, later; closed requests never stand out', () => {
  assert.equal(daysUntil('2026-01-15', today), 0);
  assert.equal(daysUntil('2026-01-14', today), -1);
  assert.equal(daysUntil('2026-02-15', today), 31);
  assert.equal(urgency('received', '2026-01-14', today), 'overdue');
  assert.equal(urgency('failed', '2026-01-22', today), 'this-week');
  assert.equal(urgency('computing', '2026-01-23', today), 'later');
  assert.equal(urgency('verified', '2026-01-01', today), 'closed');
  assert.equal(urgency('rejected', '2026-01-01', today), 'closed');
});

test('sample ids split on lines, commas, semicolons and spaces; comment lines are skipped; duplicates kept', () => {
  assert.deepEqual(splitIds('a\nb, c;d  e\r\n# a comment, with words\n\n a \n'), ['a', 'b', 'c', 'd', 'e', 'a']);
  assert.deepEqual(splitIds('   \n'), []);
});

test('the verdict reads γ_S as SSSE.md defines it', () => {
  assert.equal(verdict(0.8, true).tone, 'good');
  assert.match(verdict(0.8, true).text, /4\.0× closer to the retrained model/);
  assert.equal(verdict(0.55, true).tone, 'fair');
  assert.equal(verdict(0.3, true).tone, 'poor');
  assert.match(verdict(null, true).text, /undefined/);
  assert.equal(verdict(0.9, false).tone, 'none');
});

test('percentages and percentage points', () => {
  assert.equal(fmtPercent(0.12345), '12.35%');
  assert.equal(fmtPercent(null), '—');
  assert.equal(fmtPoints(0.0123), '1.23 pp');
});

test('routes', () => {
  assert.deepEqual(parseRoute(''), { view: 'requests' });
  assert.deepEqual(parseRoute('#/requests/12'), { view: 'report', requestId: 12 });
  assert.deepEqual(parseRoute('#/requests/new?model=3'), { view: 'new-request', modelVersionId: 3 });
  assert.deepEqual(parseRoute('#/requests/new?model=x'), { view: 'new-request', modelVersionId: null });
  assert.deepEqual(parseRoute('#/models'), { view: 'models' });
  assert.deepEqual(parseRoute('#/audit'), { view: 'audit' });
  assert.deepEqual(parseRoute('#/requests/12abc'), { view: 'requests' });
});
