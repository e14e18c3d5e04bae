import { commandDemoNetwork, wantsNetwork } from './eraseNetwork.js';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { assertWritable } from '../../../db/connection.js';
import { findModel, getDataset } from '../../../db/queries.js';
import { verifyStore } from '../../../db/verify.js';
import { loadDataset } from '../../engine/data/dataset.js';
import { randomRemoval } from '../../engine/data/removal.js';
import { isSsseError, SsseError } from '../../engine/errors.js';
import type { ExportResult } from '../../report/export.js';
import { datasetFingerprint, DEFAULT_CONFIG } from '../../engine/erase.js';
import { parseEpsilonList } from '../../engine/linear/sweep.js';
import { commitOutputDir } from '../../engine/output.js';
import { certifyModel } from '../../store/certify.js';
import { submitErasure } from '../../store/erasure.js';
import { recordExport } from '../../store/exports.js';
import { modelLabel, trainModel } from '../../store/models.js';
import { requestDetail } from '../../store/views.js';
import { limitsOf, parseChoice, parseNumber, type CliIo } from '../options.js';
import { STORE_OPTIONS, withCliStore, withProgress } from '../storeOptions.js';
import { bundledDataset, humanSummary, outputFiles } from './erase.js';
import { describeResult } from './erasure.js';
import { describeExport, writeSignedReport } from './report.js';
import { DEFAULT_FISHER_METHOD } from '../../engine/linear/fisher.js';

export const DEMO_USAGE = `  ssse demo [--db ssse-out/ssse.db] [--out ssse-out/demo] [--name fashion-mnist-demo]
            [--dataset DIR] [--remove-fraction 0.02] [--seed 0] [--l2 1e-4] [--epsilon E |
            --epsilon-sweep a,b,c] [--verify retrain|none] [--limit-train N] [--limit-test N]
            [--pdf FILE | --no-pdf] [--key-dir DIR]
      the whole workflow on the bundled data, recorded in the database: registers the dataset,
      trains and certifies the model (once; later runs reuse them), erases a random 2% as a
      request against version 1, writes the results to --out, verifies the audit store, and
      prints the request's signed audit report to --pdf (default OUT/request-ID-report.pdf)
`;

const OPTIONS = {
  ...STORE_OPTIONS,
  dataset: { type: 'string' },
  out: { type: 'string' },
  name: { type: 'string' },
  'remove-fraction': { type: 'string' },
  seed: { type: 'string' },
  l2: { type: 'string' },
  epsilon: { type: 'string' },
  'epsilon-sweep': { type: 'string' },
  verify: { type: 'string' },
  'limit-train': { type: 'string' },
  'limit-test': { type: 'string' },
  backend: { type: 'string' },
  json: { type: 'boolean' },
  pdf: { type: 'string' },
  'no-pdf': { type: 'boolean' },
  'key-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const DEMO_DB = path.join('ssse-out', 'ssse.db');

export async function commandDemoStore(args: string[], io: CliIo): Promise<number> {
  // `ssse demo --model mlp:…` runs the network demo (stand-alone, not recorded in the store).
  if (wantsNetwork(args)) {
    await commandDemoNetwork(args, io);
    return 0;
  }
  const { values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    io.out.write(DEMO_USAGE);
    return 0;
  }
  const dataDir = values.dataset ?? bundledDataset();
  const outDir = values.out ?? path.join('ssse-out', 'demo');
  const name = values.name ?? 'fashion-mnist-demo';
  const fraction = parseNumber('remove-fraction', values['remove-fraction'], 0.02, (v) => v > 0 && v < 1, 'a fraction between 0 and 1');
  const seed = parseNumber('seed', values.seed, 0, (v) => Number.isInteger(v) && v >= 0, 'a whole number ≥ 0');
  const l2 = parseNumber('l2', values.l2, DEFAULT_CONFIG.l2, (v) => v > 0, 'a number > 0');
  const epsilon = values.epsilon === undefined ? null : parseNumber('epsilon', values.epsilon, 0, (v) => v >= 0, 'a number ≥ 0');
  const grid = values['epsilon-sweep'] === undefined ? null : parseEpsilonList(values['epsilon-sweep']);
  const verify = parseChoice('verify', values.verify, 'retrain', ['retrain', 'none'] as const);
  const limits = limitsOf(values);
  const dataset = loadDataset(dataDir, limits);
  const n = dataset.train.n;
  const removed = randomRemoval(n, Math.max(1, Math.round(fraction * n)), seed);

  return withCliStore({ db: values.db ?? DEMO_DB, ...(values.actor ? { actor: values.actor } : {}) }, 'write', async (store) => {
    io.err.write(`ssse demo: recording the run in ${store.file}\n`);
    assertWritable(store);
    const result = await withProgress(io, values.backend, async (control) => {
      let model = findModel(store.db, name, 1);
      if (model) {
        const registered = getDataset(store.db, model.dataset_id);
        if (registered?.fingerprint !== datasetFingerprint(dataset) || model.l2 !== l2 || model.seed !== seed) {
          throw new SsseError(
            'BAD_ARGUMENT',
            `demo: ${store.file} already holds a model "${name}" trained on other data or settings; give another --name or --db`,
          );
        }
        io.err.write(`ssse demo: reusing ${modelLabel(model)} (trained ${model.created_at})\n`);
      } else {
        model = await trainModel(store, name, dataset, limits, { l2, seed, tolerance: DEFAULT_CONFIG.tolerance, ...control });
        io.err.write(`ssse demo: trained and registered ${modelLabel(model)}\n`);
      }
      const { certification, created } = await certifyModel(store, model, { curvature: 'empirical', damping: null, method: DEFAULT_FISHER_METHOD, ...control });
      io.err.write(`ssse demo: ${created ? 'certified' : 'reusing certification'} #${certification.id} (Fisher inverse, λ_F = ${certification.damping})\n`);
      io.err.write(`ssse demo: erasing a random ${(fraction * 100).toFixed(1)}% (k = ${removed.length}, seed ${seed}) of ${dataDir} (n = ${n}) from ${modelLabel(model)}\n`);
      return submitErasure(
        store,
        {
          modelRef: modelLabel(model),
          removal: { lines: removed.map((r) => dataset.ids[r] as string), source: `demo: a random ${(fraction * 100).toFixed(1)}% of ${path.resolve(dataDir)} (seed ${seed})` },
          subject: `demo subject (seed ${seed})`,
          legalGround: 'demonstration (synthetic request)',
          receivedAt: null,
          dueAt: null,
          settings: { epsilon, epsilonGrid: grid, verify, damping: null, curvature: null, fisherMethod: null, tolerance: DEFAULT_CONFIG.tolerance },
        },
        control,
      );
    });
    if (!result.outcome) {
      io.out.write(describeResult(store, result));
      if (result.error) throw result.error;
      return 1;
    }
    const files = outputFiles(result.outcome);
    commitOutputDir(outDir, files, true);
    recordExport(store, result.request.id, outDir, files);
    const report = verifyStore(store.db, store.root);
    // The signed PDF report of the request (the same export as `ssse report`).
    let signed: ExportResult | null = null;
    let pdfError: string | null = null;
    if (!values['no-pdf']) {
      const pdf = path.resolve(values.pdf ?? path.join(outDir, `request-${result.request.id}-report.pdf`));
      try {
        signed = await writeSignedReport(store, result.request.id, { pdf, html: null, keyDir: values['key-dir'] });
      } catch (e) {
        if (!isSsseError(e) || e.code !== 'RESOURCE') throw e;
        pdfError = e.message;
      }
    }
    const pdfFile = signed?.files.find((f) => f.kind === 'pdf')?.path ?? null;
    if (values.json) {
      io.out.write(`${JSON.stringify({ request: requestDetail(store, result.request), database: store.file, audit_verify: report, report_pdf: pdfFile, report_error: pdfError }, null, 2)}\n`);
    } else {
      io.out.write(humanSummary(result.outcome, outDir));
      io.out.write(
        `Recorded as request #${result.request.id} (${result.request.status}) in ${store.file}: ${result.model ? modelLabel(result.model) : '-'} is the erased model.\n` +
          `  audit verify: ${report.ok ? `OK (${report.entries} entries, ${report.records} records, ${report.artefacts} artefacts)` : `FAILED: ${report.problems[0]}`}\n` +
          `  see: npx ssse requests --db ${path.relative(process.cwd(), store.file) || store.file}; npx ssse audit verify --db ${path.relative(process.cwd(), store.file) || store.file}\n`,
      );
      if (signed) {
        io.out.write(describeExport(signed));
        io.out.write(`  check it: npx ssse verify-report ${pdfFile ?? ''} --db ${path.relative(process.cwd(), store.file) || store.file}\n`);
        io.out.write(`Signed PDF report: ${pdfFile ?? ''}\n`);
      }
    }
    if (pdfError) io.err.write(`ssse demo: the signed PDF report was not written: ${pdfError}\n`);
    return report.ok && !pdfError ? 0 : 1;
  });
}
