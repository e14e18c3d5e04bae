import { parseArgs } from 'node:util';
import { assertWritable } from '../../../db/connection.js';
import { loadDataset } from '../../engine/data/dataset.js';
import { DEFAULT_CONFIG } from '../../engine/erase.js';
import { importModel, modelLabel, trainModel } from '../../store/models.js';
import { listModelViews, modelView } from '../../store/views.js';
import { limitsOf, parseNumber, usageError, type CliIo } from '../options.js';
import { STORE_OPTIONS, withCliStore, withProgress } from '../storeOptions.js';

export const MODEL_USAGE = `  ssse model train --dataset DIR --name NAME [--l2 1e-4] [--seed 0] [--tolerance 1e-6]
                   [--limit-train N] [--limit-test N] [--backend B] [--json]
      registers the dataset (its files' SHA-256) and trains version 1 of a new model on it
  ssse model import --theta FILE.npy --dataset DIR --name NAME [--l2 1e-4] [--seed 0]
                   [--limit-train N] [--limit-test N] [--json]
      registers a linear model trained elsewhere: FILE.npy is d×A (float32/64, column a =
      attribute a's weights, as ssse erase writes theta_*.npy), trained with L2 weight --l2
  ssse model list [--json]
`;

const OPTIONS = {
  ...STORE_OPTIONS,
  dataset: { type: 'string' },
  name: { type: 'string' },
  theta: { type: 'string' },
  l2: { type: 'string' },
  seed: { type: 'string' },
  tolerance: { type: 'string' },
  'limit-train': { type: 'string' },
  'limit-test': { type: 'string' },
  backend: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: false }>>['values'];

function common(values: Values, verb: string): { name: string; dir: string; l2: number; seed: number } {
  if (!values.dataset) throw usageError(`model ${verb}: --dataset DIR is required`);
  if (!values.name) throw usageError(`model ${verb}: --name NAME is required`);
  return {
    name: values.name,
    dir: values.dataset,
    l2: parseNumber('l2', values.l2, DEFAULT_CONFIG.l2, (v) => v > 0, 'a number > 0'),
    seed: parseNumber('seed', values.seed, DEFAULT_CONFIG.seed, (v) => Number.isInteger(v) && v >= 0, 'a whole number ≥ 0'),
  };
}

async function train(values: Values, io: CliIo): Promise<void> {
  const { name, dir, l2, seed } = common(values, 'train');
  const tolerance = parseNumber('tolerance', values.tolerance, DEFAULT_CONFIG.tolerance, (v) => v > 0 && v < 1, 'a number between 0 and 1');
  const limits = limitsOf(values);
  const dataset = loadDataset(dir, limits);
  await withCliStore(values, 'write', async (store) => {
    assertWritable(store);
    const model = await withProgress(io, values.backend, (control) => trainModel(store, name, dataset, limits, { l2, seed, tolerance, ...control }));
    const view = modelView(store, model);
    io.out.write(
      values.json
        ? `${JSON.stringify(view, null, 2)}\n`
        : `Trained ${modelLabel(model)} on ${dir} (n = ${dataset.train.n}, d = ${dataset.d}, ${dataset.A} attributes), λ = ${l2}; recorded in ${store.file}\n` +
            `  parameters SHA-256 ${model.parameters_sha256}\n  next: ssse certify --model ${modelLabel(model)} --db ${store.file}\n`,
    );
  });
}

async function importCommand(values: Values, io: CliIo): Promise<void> {
  const { name, dir, l2, seed } = common(values, 'import');
  if (!values.theta) throw usageError('model import: --theta FILE.npy is required');
  const theta = values.theta;
  const limits = limitsOf(values);
  const dataset = loadDataset(dir, limits);
  await withCliStore(values, 'write', async (store) => {
    assertWritable(store);
    const model = await withProgress(io, values.backend, () => importModel(store, name, theta, dataset, limits, l2, seed));
    const view = modelView(store, model);
    io.out.write(
      values.json
        ? `${JSON.stringify(view, null, 2)}\n`
        : `Imported ${theta} as ${modelLabel(model)} (d = ${model.d}, ${model.attributes} attributes, λ = ${l2}) on ${dir}; recorded in ${store.file}\n` +
            `  next: ssse certify --model ${modelLabel(model)} --db ${store.file}\n`,
    );
  });
}

async function list(values: Values, io: CliIo): Promise<void> {
  await withCliStore(values, 'read', (store) => {
    const views = listModelViews(store);
    if (values.json) {
      io.out.write(`${JSON.stringify(views, null, 2)}\n`);
      return;
    }
    if (views.length === 0) io.out.write(`No models in ${store.file}.\n`);
    for (const v of views) {
      const certs = v.certifications.map((c) => `#${c.id} ${c.curvature} λ_F=${c.damping}${c.calibration ? ` ε=${c.calibration.epsilon}` : ''}`).join('; ');
      io.out.write(
        `${v.model.padEnd(24)} ${v.origin.padEnd(8)} ${v.parent ? `from ${v.parent} (request #${v.request})` : `dataset #${v.dataset}`}  ${v.created_at}` +
          `${certs ? `  certified: ${certs}` : ''}\n`,
      );
    }
  });
}

export async function commandModel(args: string[], io: CliIo): Promise<void> {
  const [verb, ...rest] = args;
  const { values } = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help || verb === undefined || verb === 'help') {
    io.out.write(MODEL_USAGE);
    return;
  }
  if (verb === 'train') return train(values, io);
  if (verb === 'import') return importCommand(values, io);
  if (verb === 'list') return list(values, io);
  throw usageError(`model: unknown subcommand "${verb}" (train, import or list)`);
}
