/**
 * Build of the desktop shell into out/{main,preload,renderer}. Main is an ES module (package.json has
 * "type": "module"); the preload is CommonJS because Electron cannot load an ES-module preload in a sandboxed
 * renderer (https://www.electronjs.org/docs/latest/tutorial/esm#preload-scripts).
 */
import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

export default defineConfig({
  main: {
    // npm dependencies stay external (electron-vite's externalizeDeps, on by default) and load from node_modules.
    build: {
      outDir: resolve('out/main'),
      rolldownOptions: { input: { index: resolve('src/main/index.ts'), engine: resolve('src/main/engine-entry.ts') } },
    },
  },
  preload: {
    build: {
      outDir: resolve('out/preload'),
      // The sandboxed preload's `require` only loads `electron` and a few builtins, so everything else it uses
      // (protocol code, zod…) must be bundled into this one file.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve('src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve('src/renderer'),
    build: {
      outDir: resolve('out/renderer'),
      rolldownOptions: { input: { index: resolve('src/renderer/index.html') } },
    },
    plugins: [react()],
  },
});
