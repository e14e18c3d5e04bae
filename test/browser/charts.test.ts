import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { mimeType, resolveAppFile } from '../../main/app/staticFiles.js';
import { chromiumPath, LAUNCH_ARGS, ORIGIN, RENDERER, SCREENSHOTS } from './browser.js';

// The chart components on fixed data (renderer/gallery.html), in both themes: screenshots for a
// person to look at, and checks that what is drawn matches the data.
test('chart gallery: every chart kind renders in light and dark, with thousands of points', async () => {
  const browser = await chromium.launch({
    executablePath: await chromiumPath(),
    args: LAUNCH_ARGS,
  });
  try {
    for (const theme of ['light', 'dark'] as const) {
      const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.route('**/*', async (route) => {
        const file = resolveAppFile(RENDERER, route.request().url(), 'ssse.test');
        if (!file || !fs.existsSync(file)) return route.fulfill({ status: 404, body: '' });
        return route.fulfill({ status: 200, body: fs.readFileSync(file), headers: { 'content-type': mimeType(file) } });
      });
      await page.goto(`${ORIGIN}/gallery.html?theme=${theme}&points=5000`);
      await page.waitForSelector('[data-testid=gallery][data-render-ms]:not([data-render-ms=""])');
      const renderMs = Number(await page.getAttribute('[data-testid=gallery]', 'data-render-ms'));
      console.log(`# gallery (${theme}) first render with 2×5000 points: ${renderMs.toFixed(0)} ms (headless Chromium, software rendering)`);

      // The 5000-point series are single paths with every point, and no per-point circles.
      const segments = await page.$$eval('[data-testid=g-many] path.series', (ps) => ps.map((p) => (p.getAttribute('d') ?? '').split(/[ML]/).length - 1));
      assert.deepEqual(segments, [5000, 5000]);
      assert.equal(await page.locator('[data-testid=g-many] circle').count(), 0);
      // γ_S: 24 defined points of 25 drawn as circles, the chosen ε marked.
      assert.equal(await page.locator('[data-testid=g-gamma] circle').count(), 24);
      assert.equal(await page.getAttribute('[data-testid=g-gamma-mark]', 'data-value'), '1.4678');
      // AUC: 30 marks, one of them n/a.
      assert.equal(await page.locator('[data-testid=g-auc] .mark-group').count(), 30);
      assert.equal(await page.locator('[data-testid=g-auc] text.na').count(), 1);
      // A tooltip appears on hover with the nearest point's values.
      const box = await page.locator('[data-testid=g-gamma] rect.overlay').boundingBox();
      assert.ok(box);
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      const tip = await page.locator('[data-testid=g-gamma] [role=tooltip]').innerText();
      assert.match(tip, /ε \(log scale\): [\d.]+/);
      assert.match(tip, /γ_S of θ̂_ε: 0\.\d+/);
      // Text colours follow the theme (dark text on light, light text on dark).
      const tickFill = await page.$eval('[data-testid=g-gamma] text.tick', (t) => (globalThis as unknown as { getComputedStyle(e: unknown): { fill: string } }).getComputedStyle(t).fill);
      const [r] = tickFill.match(/\d+/g)?.map(Number) ?? [0];
      assert.ok(theme === 'light' ? (r as number) < 128 : (r as number) > 128, `${theme}: tick fill ${tickFill}`);
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOTS, `charts-${theme}.png`), fullPage: true });
      assert.deepEqual(errors, []);
      await page.close();
    }
  } finally {
    await browser.close();
  }
});
