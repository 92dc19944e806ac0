// `sae-studio export --to TARGET …`: writes the store's records as files other tools read, without a server. The
// targets and their arguments are the table in export-targets.ts.
import { InputError } from '../../core/errors';
import { studioHome } from '../../core/home';
import type { Command, OptionSpec } from '../command';
import { EXPORT_TARGETS } from './export-targets';

const NAMES = Object.keys(EXPORT_TARGETS);

function targetOptions(): Record<string, OptionSpec> {
  const out: Record<string, OptionSpec> = {};
  for (const t of Object.values(EXPORT_TARGETS)) Object.assign(out, t.options);
  return out;
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'Write a dictionary, graph or run config as SAELens / lm-saes / circuit-tracer read it.',
  usage: `export --to TARGET ARGS…\n${Object.entries(EXPORT_TARGETS)
    .map(([n, t]) => `  export --to ${n} ${[...t.args, t.usage].join(' ').trim()}\n      ${t.summary}`)
    .join('\n')}`,
  options: {
    to: { type: 'string', valueName: 'TARGET', help: `one of ${NAMES.join(', ')}` },
    ...targetOptions(),
  },
  positionals: Math.max(...Object.values(EXPORT_TARGETS).map((t) => t.args.length)),
  async run(values, positionals) {
    const name = values.to;
    if (typeof name !== 'string' || name === '') throw new InputError(`missing --to (one of ${NAMES.join(', ')})`);
    const target = EXPORT_TARGETS[name];
    if (!target) throw new InputError(`--to is '${name}', expected one of ${NAMES.join(', ')}`);
    if (positionals.length !== target.args.length)
      throw new InputError(
        `--to ${name} takes ${target.args.join(' ')} (got ${positionals.length === 0 ? 'none' : positionals.join(' ')})`,
      );
    const result = await target.run({ home: studioHome(), values, args: positionals });
    process.stdout.write(`wrote ${result.what} to ${result.path}\n`);
  },
};
