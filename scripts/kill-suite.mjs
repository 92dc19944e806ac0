#!/usr/bin/env node
// The kill suite at nightly size: SAE_STUDIO_KILLS (default 20) random SIGKILLs per command — `train` of every
// dictionary kind, `generate`, `analyze` — plus every pinned kill point inside their saves, each resumed and checked
// (tests/kill/kill-suite.test.ts). The seed is SAE_STUDIO_KILL_SEED, else drawn now and printed, so a failure can be
// run again. SAE_STUDIO_KILL_SCENARIOS="train sae,generate" runs a subset. Needs the built CLI (npm run build:cli).
// Results: tests/.artifacts/kill-suite.json (every trial) and a summary table printed at the end.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const kills = process.env.SAE_STUDIO_KILLS ?? '20';
const seed = process.env.SAE_STUDIO_KILL_SEED ?? String(Math.floor(Math.random() * 2 ** 31));
console.log(`kill suite: ${kills} random kills per command, seed ${seed} (SAE_STUDIO_KILL_SEED=${seed} repeats it)`);
if (!existsSync(join(root, 'out', 'cli'))) {
  console.error('kill-suite: the CLI is not built; run `npm run build:cli` first');
  process.exit(2);
}
const t0 = Date.now();
const run = spawnSync('npx', ['vitest', 'run', 'tests/kill/kill-suite.test.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, SAE_STUDIO_KILLS: kills, SAE_STUDIO_KILL_SEED: seed },
});
const file = join(root, 'tests', '.artifacts', 'kill-suite.json');
if (existsSync(file)) {
  const { summary } = JSON.parse(readFileSync(file, 'utf8'));
  console.log(`\n${'command'.padEnd(18)} tried  killed  resumed  identical  clean`);
  for (const [name, s] of Object.entries(summary))
    console.log(
      `${name.padEnd(18)} ${String(s.tried).padStart(5)}  ${String(s.killed).padStart(6)}  ${String(s.resumed).padStart(7)}  ${String(s.identical).padStart(9)}  ${String(s.clean).padStart(5)}`,
    );
  console.log(`(${Math.round((Date.now() - t0) / 1000)} s; every trial in ${file})`);
}
process.exit(run.status ?? 1);
