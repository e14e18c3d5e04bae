import { test } from 'node:test';
import assert from 'node:assert/strict';
import { format } from 'd3-format';
import { fmtEpsilonText, GAMMA_CLOSER, GAMMA_GOOD, judgeErasure } from '../../preload/reportDocument.js';
import { findBrowser, systemBrowserPaths } from '../../main/report/chromium.js';
import { firstDifference, matchable } from '../../main/report/verify.js';

test('ε prints as the app prints it: d3-format ".4~g", recomputed without d3 for the verifier', () => {
  // The reference is d3 itself (what the app's views use); the values span the sweep grid and beyond.
  const d3 = format('.4~g');
  const values = [0, 1, 0.5, 2, 1000, 0.1, 1e-4, 3.16227766, 31.6227766, 1467.8, 12345.678, 1e-7, 0.00012345, 99999, 1e21, 2.5e-3];
  for (let e = -6; e <= 6; e += 0.37) values.push(10 ** e);
  for (const v of values) assert.equal(fmtEpsilonText(v), d3(v), `ε = ${v}`);
  assert.equal(fmtEpsilonText(null), '—');
});

test('the verdict: γ_S above 0.5 is closer to retraining, from 0.7 good; the thresholds are stated', () => {
  assert.equal(GAMMA_CLOSER, 0.5);
  assert.equal(GAMMA_GOOD, 0.7);
  assert.equal(judgeErasure(0.5, true).tone, 'poor', '0.5 is not closer to retraining');
  assert.equal(judgeErasure(0.5000001, true).tone, 'fair');
  assert.equal(judgeErasure(0.6999, true).tone, 'fair');
  assert.equal(judgeErasure(0.7, true).tone, 'good');
  assert.equal(judgeErasure(0.8, true).text, 'Closer to retraining than to the original: γ_S = 0.800, 4.0× closer to the retrained model.');
  assert.match(judgeErasure(1, true).text, /∞× closer/);
  assert.match(judgeErasure(0.2, true).text, /^Closer to the original than to retraining: γ_S = 0\.200\.$/);
  assert.match(judgeErasure(null, true).text, /undefined/);
  assert.equal(judgeErasure(0.9, false).tone, 'none');
  const conditions = judgeErasure(0.9, true).thresholds.map((t) => t.condition);
  assert.deepEqual(conditions, ['γ_S ≥ 0.7', '0.5 < γ_S < 0.7', 'γ_S ≤ 0.5', 'γ_S undefined']);
});

test('the browser search order: CHROME_PATH, CHROMIUM_PATH, the system, @sparticuz/chromium; none is a clear error', async () => {
  const none = async () => null;
  const exists = (files: string[]) => (f: string) => files.includes(f);
  assert.deepEqual(await findBrowser({ env: { CHROME_PATH: '/opt/c/chrome' }, platform: 'linux', exists: exists(['/opt/c/chrome', '/usr/bin/chromium']), sparticuz: none }), {
    executable: '/opt/c/chrome',
    source: 'CHROME_PATH',
  });
  await assert.rejects(findBrowser({ env: { CHROME_PATH: '/nope' }, platform: 'linux', exists: exists(['/usr/bin/chromium']), sparticuz: none }), /CHROME_PATH=\/nope: no such file/);
  assert.equal((await findBrowser({ env: { CHROMIUM_PATH: '/c' }, platform: 'linux', exists: exists(['/c']), sparticuz: none })).source, 'CHROMIUM_PATH');
  assert.deepEqual(await findBrowser({ env: {}, platform: 'linux', exists: exists(['/usr/bin/google-chrome', '/usr/bin/chromium-browser']), sparticuz: none }), {
    executable: '/usr/bin/chromium-browser',
    source: 'system',
  });
  assert.deepEqual(await findBrowser({ env: {}, platform: 'linux', exists: exists([]), sparticuz: async () => '/tmp/chromium' }), { executable: '/tmp/chromium', source: '@sparticuz/chromium' });
  await assert.rejects(findBrowser({ env: {}, platform: 'linux', exists: exists([]), sparticuz: none }), (e: Error) =>
    /no Chrome or Chromium/.test(e.message) && /apt-get install chromium/.test(e.message) && /CHROME_PATH/.test(e.message) && /@sparticuz\/chromium/.test(e.message),
  );
  assert.ok(systemBrowserPaths('darwin').every((p) => p.startsWith('/Applications/')));
  assert.ok(systemBrowserPaths('win32', { PROGRAMFILES: 'C:\\PF' })[0]?.endsWith('chrome.exe'));
});

test('text matching ignores line breaks and compatibility forms; differences name their path', () => {
  assert.equal(matchable('γ_S\n0.72 3'), 'γ_S0.723');
  assert.equal(matchable('veri\uFB01ed'), 'verified', 'a ligature glyph reads as its letters');
  assert.deepEqual(firstDifference({ a: 1, b: [1, 2] }, { a: 1, b: [1, 3] }), { path: 'b.1', a: 2, b: 3 });
  assert.equal(firstDifference({ a: null }, { a: null }), null);
  assert.deepEqual(firstDifference({ a: 1 }, {}), { path: 'a', a: 1, b: undefined });
});
