import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addOneMonth, parseDate } from '../../main/store/dates.js';
import { subjectHash } from '../../main/store/subjects.js';
import { createHmac } from 'node:crypto';

describe('request dates', () => {
  test('the default due date is the same day of the next month, at the same time', () => {
    assert.equal(addOneMonth('2026-03-15T09:30:00.000Z'), '2026-04-15T09:30:00.000Z');
    assert.equal(addOneMonth('2026-12-15T23:59:59.999Z'), '2027-01-15T23:59:59.999Z');
  });

  test('a day the next month does not have becomes its last day', () => {
    assert.equal(addOneMonth('2027-01-31T00:00:00.000Z'), '2027-02-28T00:00:00.000Z');
    assert.equal(addOneMonth('2028-01-31T00:00:00.000Z'), '2028-02-29T00:00:00.000Z'); // leap year
    assert.equal(addOneMonth('2026-03-31T12:00:00.000Z'), '2026-04-30T12:00:00.000Z');
    assert.equal(addOneMonth('2026-08-31T00:00:00.000Z'), '2026-09-30T00:00:00.000Z');
  });

  test('dates are read as YYYY-MM-DD (midnight UTC) or ISO 8601; anything else names the flag', () => {
    assert.equal(parseDate('received', '2026-05-04'), '2026-05-04T00:00:00.000Z');
    assert.equal(parseDate('received', '2026-05-04T10:11:12+02:00'), '2026-05-04T08:11:12.000Z');
    assert.throws(() => parseDate('received', '04/05/2026'), /--received: expected a date as YYYY-MM-DD or an ISO 8601 time, got "04\/05\/2026"/);
    assert.throws(() => parseDate('due', '2026-02-30'), /--due: 2026-02-30 is not a calendar date/);
  });
});

describe('subject references', () => {
  test('are HMAC-SHA256 under the database salt, trimmed and NFC-normalised', () => {
    const salt = 'ab'.repeat(32);
    const expected = createHmac('sha256', Buffer.alloc(32, 0xab)).update('José', 'utf8').digest('hex');
    assert.equal(subjectHash(salt, 'José'), expected);
    assert.equal(subjectHash(salt, '  Jose\u0301 '), expected, 'decomposed é and spaces give the same hash');
    assert.notEqual(subjectHash('cd'.repeat(32), 'José'), expected, 'another salt, another hash');
    assert.throws(() => subjectHash(salt, '   '), /--subject: the subject reference is empty/);
  });
});
