// Runs one benchmark command and keeps its JSON as a raw run: `node scripts/perf-record.mjs NAME -- CMD ARGS…`
// writes docs/perf-runs/<date>-NAME.json = { name, command, date, machine, output }, where output is the command's
// stdout parsed as JSON (or its last line: every bench/ script prints one JSON report). `npm run perf:report` turns the newest
// run of each name into docs/performance.md.
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [name, dashes, cmd, ...args] = process.argv.slice(2);
if (!name || !/^[a-z0-9][a-z0-9-]*$/.test(name) || dashes !== '--' || !cmd) {
  console.error('usage: node scripts/perf-record.mjs NAME -- COMMAND [ARGS…]   (NAME: lowercase letters, digits, -)');
  process.exit(2);
}
const started = new Date();
const run = spawnSync(cmd, args, {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
  encoding: 'utf8',
  maxBuffer: 1 << 28,
});
if (run.status !== 0) {
  console.error(`perf-record: ${[cmd, ...args].join(' ')} exited with ${run.status ?? run.signal}; nothing recorded`);
  process.exit(1);
}
/** The benchmark's JSON: the whole of stdout (pretty-printed reports), else its last line. */
function parseOutput(stdout) {
  for (const text of [stdout.trim(), stdout.trim().split('\n').at(-1) ?? '']) {
    try {
      return JSON.parse(text);
    } catch {
      // try the next reading
    }
  }
  console.error(`perf-record: stdout is not JSON, nor is its last line: ${stdout.trim().slice(-120)}`);
  process.exit(1);
}
const output = parseOutput(run.stdout);
const record = {
  name,
  command: [cmd, ...args].join(' '),
  date: started.toISOString(),
  seconds: Math.round((Date.now() - started.getTime()) / 100) / 10,
  machine: {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    mem_gb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  output,
};
const dir = join(root, 'docs', 'perf-runs');
mkdirSync(dir, { recursive: true });
const file = join(dir, `${started.toISOString().slice(0, 16).replace(':', '')}-${name}.json`);
writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 1)}\n`);
renameSync(`${file}.tmp`, file);
console.error(`perf-record: ${file}`);
