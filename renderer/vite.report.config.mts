import { svelte } from '@sveltejs/vite-plugin-svelte';
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// The print page of the signed report, built as ONE script (report.js) and ONE style sheet
// (report.css) with nothing else to load, so that main/report/html.ts can inline both into a
// self-contained HTML file with the report's data. Same components as the app (src/views/ReportBody.svelte).
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [svelte()],
  build: {
    outDir: 'dist-report',
    emptyOutDir: true,
    target: 'chrome120',
    sourcemap: false,
    cssCodeSplit: false,
    assetsInlineLimit: Number.MAX_SAFE_INTEGER,
    chunkSizeWarningLimit: 1000,
    rollupOptions: {
      input: resolve(import.meta.dirname, 'src', 'report.ts'),
      output: {
        format: 'iife',
        inlineDynamicImports: true,
        entryFileNames: 'report.js',
        assetFileNames: 'report[extname]',
      },
    },
  },
});
