// Builds the CLI bundle once before the suites that run `bin/sae-studio.js` as a real process.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  execFileSync(process.execPath, [join(import.meta.dirname, '..', 'scripts', 'build-cli.mjs')], { stdio: 'inherit' });
}
