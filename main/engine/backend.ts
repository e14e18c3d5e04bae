// tfjs-core and the two backends only, not the whole @tensorflow/tfjs bundle (layers, converter,
// data): Fisher worker threads load this module, and the bundle doubles a worker's start-up time
// and memory (measured: 151 against 76 ms and 41 against 23 MB per worker). Modules that need
// layers import @tensorflow/tfjs, which shares this tfjs-core.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { SsseError } from './errors.js';

/**
 * Which TensorFlow.js backend computes. `tensorflow` is libtensorflow through tfjs-node(-gpu),
 * present only where those optional packages installed (they download libtensorflow at install
 * time); `wasm` ships its own binary and runs everywhere; `cpu` is plain JavaScript, the last resort.
 */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = BackendName | 'auto';

export interface BackendInfo {
  /** The tfjs backend name in use. */
  name: BackendName;
  /** The package that provided it. */
  provider: string;
  /** 'gpu' only for tfjs-node-gpu with a visible CUDA device. */
  device: 'cpu' | 'gpu';
  tfjsVersion: string;
}

let current: BackendInfo | null = null;

/** Loads an optional native binding; false when it is not installed or cannot load here. */
function tryRequire(name: string): boolean {
  try {
    // A plain require: these packages are optional dependencies and are absent on most machines.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(name);
    return true;
  } catch {
    return false;
  }
}

async function activate(name: BackendName): Promise<boolean> {
  try {
    return (await tf.setBackend(name)) && tf.getBackend() === name;
  } catch {
    return false;
  }
}

/**
 * Picks the fastest backend available, or the one asked for. Throws when an explicitly requested
 * backend cannot be used, rather than silently computing somewhere 30 times slower.
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (current && (choice === 'auto' || choice === current.name)) return current;
  const tfjsVersion = tf.version_core;
  const candidates: BackendName[] = choice === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [choice];
  for (const name of candidates) {
    let provider: string = `@tensorflow/tfjs-backend-${name}`;
    let device: 'cpu' | 'gpu' = 'cpu';
    if (name === 'tensorflow') {
      if (tryRequire('@tensorflow/tfjs-node-gpu')) {
        provider = '@tensorflow/tfjs-node-gpu';
        device = 'gpu';
      } else if (tryRequire('@tensorflow/tfjs-node')) {
        provider = '@tensorflow/tfjs-node';
      } else {
        continue;
      }
    }
    if (await activate(name)) {
      await tf.ready();
      current = { name, provider, device, tfjsVersion };
      return current;
    }
  }
  if (choice !== 'auto') {
    const hint =
      choice === 'tensorflow'
        ? ' (install @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu; both download libtensorflow at install time)'
        : '';
    throw new SsseError('RESOURCE', `--backend: the ${choice} backend is not available here${hint}`);
  }
  throw new SsseError('RESOURCE', 'no TensorFlow.js backend could be initialised');
}

/** The backend chosen by initBackend, or null before it ran. */
export function currentBackend(): BackendInfo | null {
  return current;
}

export function parseBackendChoice(value: string): BackendChoice {
  if (value === 'auto' || value === 'tensorflow' || value === 'wasm' || value === 'cpu') return value;
  throw new SsseError('BAD_ARGUMENT', `--backend: expected auto, tensorflow, wasm or cpu, got "${value}"`);
}
