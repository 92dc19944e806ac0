// Prints the bad-input suite's figures as a Markdown table (area, inputs tried, handled) from the outcomes that
// `npx vitest run tests/badinput` writes to tests/.artifacts/bad-input/<area>.json, and lists any case not handled.
// Run: node tests/badinput/summary.mjs
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '..', '.artifacts', 'bad-input');
if (!existsSync(dir)) {
  console.error(`${dir}: no outcomes yet; run 'npx vitest run tests/badinput' first`);
  process.exit(2);
}
const areas = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
const rows = areas.map((a) => `| ${a.area} | ${a.tried} | ${a.handled} |`);
const tried = areas.reduce((n, a) => n + a.tried, 0);
const handled = areas.reduce((n, a) => n + a.handled, 0);
console.log(
  ['| area | inputs tried | handled |', '|---|---|---|', ...rows, `| **all** | **${tried}** | **${handled}** |`].join(
    '\n',
  ),
);
for (const a of areas)
  for (const c of a.cases) if (!c.handled) console.log(`not handled: ${a.area} / ${c.name}: ${c.detail}`);
