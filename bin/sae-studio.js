#!/usr/bin/env node
// Launcher for the bundled CLI (built by `npm run build:cli`, which `npm install` runs through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = new URL('../out/cli/sae-studio.mjs', import.meta.url);
if (!existsSync(fileURLToPath(bundle))) {
  process.stderr.write('sae-studio: the CLI is not built yet; run `npm run build:cli` in the sae-studio folder\n');
  process.exit(1);
}
await import(bundle.href);
