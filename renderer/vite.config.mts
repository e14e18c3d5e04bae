import { svelte } from '@sveltejs/vite-plugin-svelte';
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// The renderer: plain static files (relative paths), served by the app:// protocol in Electron
// and by a routed page in the browser tests.
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'chrome120',
    sourcemap: true,
    // One chunk: the app is local, and a CSP of script-src 'self' serves any number equally.
    chunkSizeWarningLimit: 1000,
    rollupOptions: {
      // The app, and a page of every chart on fixed data for the screenshot tests.
      input: { index: resolve(import.meta.dirname, 'index.html'), gallery: resolve(import.meta.dirname, 'gallery.html') },
    },
  },
});
