// Bundles the preload into one CommonJS file: a sandboxed preload may require only 'electron'
// (and a few built-ins), not our other modules, so the contract's constants are inlined.
import { build } from 'esbuild';

await build({
  entryPoints: ['preload/preload.ts'],
  outfile: 'dist/preload/preload.js',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['electron'],
  sourcemap: true,
  logLevel: 'warning',
});
