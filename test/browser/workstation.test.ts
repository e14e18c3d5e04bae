import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openStore } from '../../db/connection.js';
import { auditEntriesFor } from '../../db/audit.js';
import { getModel, latestCalibration, listCertifications, listRequests } from '../../db/queries.js';
import { tempDir, writeSmallNpyDataset } from '../helpers/fixtures.js';
import { launchApp, type App } from './harness.js';

// The whole path a compliance officer takes, in headless Chromium on the built renderer, with
// every call going through the real handlers, real engine processes and a real SQLite file:
// register and certify a model, enter a request (validated as typed), watch it run, read the
// report, and check what it shows against the database. Screenshots of every view, light and
// dark, go to test-artifacts/screenshots/.
//
// The model is the bundled Fashion-MNIST's first 300 images average-pooled to 7×7 pixels
// (d = 49): training, the Fisher inverse and retraining then take seconds here, where the
// full 784 pixels take over a minute per Newton fit on this 2-core machine.

let app: App;
let dataDir: string;
const JOB_TIMEOUT = 180_000;

before(async () => {
  dataDir = writeSmallNpyDataset(path.join(tempDir('ssse-browser-data-'), 'fashion-small'), 300, 100);
  app = await launchApp({ theme: 'light' });
});

after(async () => {
  await app?.close();
  fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
});

function db() {
  return openStore(app.dbPath, { mode: 'read', actor: 'test' });
}

async function shoot(name: string): Promise<void> {
  const { page } = app;
  await page.waitForTimeout(150);
  await app.screenshot(`${name}-light`);
  await page.click('[data-testid=theme-toggle]');
  await page.waitForFunction("document.documentElement.dataset.theme === 'dark'");
  await page.waitForTimeout(150);
  await app.screenshot(`${name}-dark`);
  await page.click('[data-testid=theme-toggle]');
  await page.waitForFunction("document.documentElement.dataset.theme === 'light'");
}

test('train and certify a model, enter a request, watch it run, and read a report that matches the database', { timeout: 600_000 }, async () => {
  const { page } = app;
  await page.fill('[data-testid=actor]', 'dpo.alice');
  await page.press('[data-testid=actor]', 'Tab');

  // Models: train and register, then certify with an ε calibration.
  await page.click('a[href="#/models"]');
  await page.waitForSelector('[data-testid=no-models]');
  await page.fill('[data-testid=train-name]', 'fashion-small');
  await page.fill('[data-testid=train-dataset]', dataDir);
  await page.fill('[data-testid=train-limit]', '300');
  await page.click('[data-testid=train-model]');
  await page.waitForSelector('[data-testid=job][data-kind=train][data-state=done]', { timeout: JOB_TIMEOUT });
  await page.waitForSelector('[data-testid=model-version-1]');
  await page.click('[data-testid=certify-1]');
  await page.waitForSelector('[data-testid=job][data-kind=certify] [data-phase]', { timeout: JOB_TIMEOUT });
  await page.waitForSelector('[data-testid=job][data-kind=certify][data-state=done]', { timeout: JOB_TIMEOUT });
  await page.waitForSelector('[data-testid=calibrated-epsilon]');
  {
    const store = db();
    try {
      const cert = listCertifications(store.db, 1)[0];
      assert.ok(cert);
      const cal = latestCalibration(store.db, cert.id);
      assert.equal(Number(await page.getAttribute('[data-testid=calibrated-epsilon]', 'data-value')), cal?.epsilon);
      assert.equal(getModel(store.db, 1)?.created_by, 'dpo.alice');
    } finally {
      store.close();
    }
  }

  // New request: the ids are checked as they are typed.
  await page.click('a[href="#/requests/new"]');
  await page.waitForSelector('[data-testid=model-version]');
  assert.equal(await page.inputValue('[data-testid=actor]'), 'dpo.alice');
  await page.fill('[data-testid=sample-ids]', 'img-0003\nimg-0010, img-0010\nimg-9999');
  await page.waitForSelector('[data-testid=sample-validation] [data-ok=false]');
  const problems = await page.innerText('[data-testid=sample-validation]');
  assert.match(problems, /1 unknown, 1 named twice/);
  assert.match(problems, /Unknown: img-9999/);
  assert.match(problems, /Named twice: img-0010/);
  assert.equal(await page.isDisabled('[data-testid=start-request]'), true);
  await page.fill('[data-testid=subject-ref]', 'customer-4711');
  await shoot('new-request');

  const ids = ['img-0003', 'img-0010', 'img-0042', 'img-0077', 'img-0120', 'img-0150', 'img-0199', 'img-0250'];
  await page.fill('[data-testid=sample-ids]', ids.join('\n'));
  await page.waitForSelector('[data-testid=sample-validation] [data-ok=true]');
  assert.match(await page.innerText('[data-testid=sample-validation]'), /8 samples of fashion-small@1's 300 can be erased/);
  await page.click('[data-testid=start-request]');
  // Progress per phase while it runs, then the link to the report.
  await page.waitForSelector('[data-testid=request-progress] [data-phase]', { timeout: JOB_TIMEOUT });
  await page.waitForSelector('[data-testid=request-progress] [data-testid=job][data-state=done]', { timeout: JOB_TIMEOUT });
  const phases = await page.$$eval('[data-testid=request-progress] [data-phase]', (els) => els.map((e) => e.getAttribute('data-phase')));
  assert.deepEqual(phases.filter((p) => p === 'fisher' || p === 'erase' || p === 'retrain' || p === 'sweep'), ['fisher', 'erase', 'retrain', 'sweep']);
  await page.click('[data-testid=open-report]');

  // The report, against the database.
  await page.waitForSelector('[data-testid=report-title]');
  await page.waitForSelector('[data-testid=chart-gamma] path.series');
  const store = db();
  try {
    const [row] = listRequests(store.db);
    assert.ok(row);
    assert.equal(row.status, 'verified');
    assert.equal(row.entered_by, 'dpo.alice');
    assert.match(await page.innerText('[data-testid=report-title]'), new RegExp(`Request ${row.id}\\s+verified`));
    assert.equal(Number(await page.getAttribute('[data-testid=report-gamma]', 'data-value')), row.gamma_S);
    assert.equal(await page.innerText('[data-testid=report-gamma]'), row.gamma_S === null ? 'undefined' : row.gamma_S.toFixed(3));
    assert.equal(Number(await page.getAttribute('[data-testid=report-distance]', 'data-value')), row.normalized_distance);
    assert.equal(Number(await page.getAttribute('[data-testid=report-epsilon]', 'data-value')), row.epsilon);
    assert.match(await page.innerText('[data-testid=report-epsilon]'), new RegExp(`\\(${(row.epsilon_source ?? '').replace(/[()]/g, '\\$&')}\\)`));
    assert.equal(Number(await page.getAttribute('[data-testid=chart-gamma-mark]', 'data-value')), row.epsilon);
    assert.equal(Number(await page.getAttribute('[data-testid=report-k]', 'data-value')), ids.length);
    assert.equal(await page.getAttribute('[data-testid=after-hash]', 'data-value'), getModel(store.db, row.result_model_id as number)?.parameters_sha256);
    const metrics = JSON.parse(row.metrics ?? '{}') as { accuracy: Record<'star' | 'hat' | 'retrained', Record<'removed' | 'retained' | 'test', number | null>> };
    const keys = { original: 'star', erased: 'hat', retrained: 'retrained' } as const;
    for (const split of ['removed', 'retained', 'test'] as const) {
      for (const [model, key] of Object.entries(keys)) {
        const shown = await page.getAttribute(`[data-testid=accuracy-table] tr[data-split=${split}] td[data-model=${model}]`, 'data-value');
        assert.equal(Number(shown), metrics.accuracy[key][split], `${model} on ${split}`);
      }
    }
    // Per-class accuracy on S, as drawn, against the stored metrics.
    const classAcc = (JSON.parse(row.metrics ?? '{}') as { class_accuracy: Record<'star' | 'hat' | 'retrained', { removed: (number | null)[] }> }).class_accuracy;
    for (const [model, key] of Object.entries(keys)) {
      const shown = await page.$$eval(`[data-testid=chart-class] .mark-group[data-series=${model}]`, (gs) => gs.map((g) => g.getAttribute('data-value')));
      assert.deepEqual(shown.map((v) => (v === '' ? null : Number(v))), classAcc[key].removed, `per-class accuracy of ${model} on S`);
    }
    // Membership-inference AUC, as stored.
    const membership = (JSON.parse(row.metrics ?? '{}') as { membership_auc: Record<'star' | 'hat' | 'retrained', number | null> }).membership_auc;
    for (const [model, key] of Object.entries(keys)) {
      const shown = await page.getAttribute(`[data-testid=membership-${model}]`, 'data-value');
      assert.equal(shown === '' ? null : Number(shown), membership[key], `membership AUC of ${model}`);
    }
    // The sweep as drawn: one point per ε with a defined γ_S.
    const sweep = store.db.prepare<[number], { epsilon: number; gamma_S: number | null }>('SELECT epsilon, gamma_S FROM request_sweep WHERE request_id = ?').all(row.id);
    assert.equal(await page.locator('[data-testid=chart-gamma] circle').count(), sweep.filter((s) => s.gamma_S !== null).length);
    // The request's audit entries, with their hashes.
    const entries = auditEntriesFor(store.db, 'requests', row.id);
    const shownHashes = await page.$$eval('[data-testid=audit-table] td[data-hash]', (tds) => tds.map((td) => td.getAttribute('data-hash')));
    assert.deepEqual(shownHashes, entries.map((e) => e.hash));
  } finally {
    store.close();
  }
  // A tooltip on the γ_S chart.
  const box = await page.locator('[data-testid=chart-gamma] rect.overlay').boundingBox();
  assert.ok(box);
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
  assert.match(await page.innerText('[data-testid=chart-gamma] [role=tooltip]'), /γ_S of θ̂_ε: (undefined|[\d.]+)/);
  await page.mouse.move(0, 0);
  await shoot('report');

  // The other views.
  await page.click('a[href="#/requests"]');
  await page.selectOption('[data-testid=requests-status]', 'all');
  await page.waitForSelector('[data-testid=request-row]');
  assert.equal(await page.locator('[data-testid=request-row]').count(), 1);
  await shoot('requests');
  await page.click('a[href="#/models"]');
  await page.waitForSelector('[data-testid=model-version-2]');
  await shoot('models');
  await page.click('a[href="#/audit"]');
  await page.waitForSelector('[data-testid=audit-verdict][data-ok=true]');
  await shoot('audit');

  assert.deepEqual(app.problems, []);
});

test('ε from the calibration without retraining, a request that fails on an altered artefact, overdue requests, and a verification that names the file', { timeout: 600_000 }, async () => {
  const { page } = app;
  const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString().slice(0, 10);
  async function enter(ids: string[], subject: string, receivedOn: string): Promise<void> {
    await page.goto(`${page.url().split('#')[0]}#/requests/new?model=2`);
    await page.waitForSelector('[data-testid=model-version]');
    await page.click('[data-testid=verify-none]');
    await page.click('[data-testid=epsilon-calibration]', { timeout: 5000 }).catch(() => undefined);
    await page.fill('[data-testid=sample-ids]', ids.join('\n'));
    await page.waitForSelector('[data-testid=sample-validation] [data-ok=true]');
    await page.fill('[data-testid=subject-ref]', subject);
    await page.fill('[data-testid=received-on]', receivedOn);
    await page.click('[data-testid=start-request]');
    await page.waitForSelector('[data-testid=request-progress] [data-testid=job]:not([data-state=running])', { timeout: JOB_TIMEOUT });
  }

  // Version 2 (made by the first request) is certified here, with a calibration.
  await page.click('a[href="#/models"]');
  await page.waitForSelector('[data-testid=model-version-2]');
  await page.click('[data-testid=certify-2]');
  await page.waitForSelector('[data-testid=job][data-kind=certify][data-state=done]', { timeout: JOB_TIMEOUT });
  await page.waitForSelector('[data-testid=model-version-2] [data-testid=calibrated-epsilon]');

  // Samples already erased from version 2 are refused as they are typed.
  await page.goto(`${page.url().split('#')[0]}#/requests/new?model=2`);
  await page.fill('[data-testid=sample-ids]', 'img-0003\nimg-0004');
  await page.waitForSelector('[data-testid=sample-validation] [data-ok=false]');
  assert.match(await page.innerText('[data-testid=sample-validation]'), /Already erased from this model: img-0003 \(request 1\)/);

  await enter(['img-0004', 'img-0005'], 'customer-1001', daysAgo(40));
  const store = db();
  let cal: number | undefined;
  try {
    const req = listRequests(store.db).at(-1);
    const cert = listCertifications(store.db, 2)[0];
    cal = cert ? latestCalibration(store.db, cert.id)?.epsilon : undefined;
    assert.equal(req?.status, 'applied');
    assert.equal(req?.epsilon, cal);
    assert.match(req?.epsilon_source ?? '', /^calibration #\d+$/);
  } finally {
    store.close();
  }
  await page.click('[data-testid=open-report]');
  await page.waitForSelector('[data-testid=report-status]');
  assert.equal(await page.innerText('[data-testid=report-status]'), 'applied');
  assert.equal(Number(await page.getAttribute('[data-testid=report-epsilon]', 'data-value')), cal);
  assert.match(await page.innerText('[data-testid=verdict]'), /Not verified against a retrained model/);

  // Someone alters version 2's stored Fisher inverse: the next request on it fails, naming the file.
  const models = await page.evaluate(() => (globalThis as unknown as { ssse: { listModels(): Promise<{ ok: boolean; value: { versions: { id: number; certifications: { artefact: { path: string } }[] }[] }[] }> } }).ssse.listModels());
  const file = models.value[0]?.versions.find((v) => v.id === 2)?.certifications[0]?.artefact.path;
  assert.ok(file);
  const bytes = fs.readFileSync(file);
  bytes[200] = (bytes[200] as number) ^ 1;
  fs.writeFileSync(file, bytes);
  await enter(['img-0006'], 'customer-1002', daysAgo(45));
  assert.match(await page.innerText('[data-testid=request-progress] [data-testid=job-error]'), /failed: .*SHA-256/);
  await page.click('a[href="#/requests"]');
  await page.waitForSelector('[data-testid=request-row] >> nth=2');
  const failedRow = page.locator('[data-testid=request-row]', { hasText: 'failed' });
  assert.equal(await failedRow.getAttribute('class'), 'overdue');
  assert.match(await failedRow.innerText(), /overdue \d+ d/);
  await shoot('requests-overdue');
  await page.click('a[href="#/audit"]');
  await page.waitForSelector('[data-testid=audit-verdict][data-ok=false]');
  assert.match(await page.innerText('[data-testid=audit-verdict]'), new RegExp(`${path.basename(file)}.*SHA-256`));
  await shoot('audit-altered');
  await page.click('a[href="#/models"]');
  await page.waitForSelector('[data-testid=model-version-2] .badge.altered');
  assert.deepEqual(app.problems, []);
});
