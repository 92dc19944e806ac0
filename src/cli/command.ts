// The shape of a CLI command: its options (node:util parseArgs), its help text and what it runs.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from '../core/errors';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { help: string; valueName?: string };

export interface Command {
  /** e.g. `lm forward`. */
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** Positional arguments allowed (default 0). */
  positionals?: number;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<void>;
}

export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  debug: { type: 'boolean', help: 'print stack traces of errors' },
};

export const BACKEND_OPTION: Record<string, OptionSpec> = {
  backend: {
    type: 'string',
    valueName: 'NAME',
    help: 'compute backend: auto (default: webgpu → wasm → cpu), webgpu, wasm, cpu; or SAE_STUDIO_BACKEND',
  },
};

export function commandHelp(cmd: Command): string {
  const opts = Object.entries({ ...cmd.options, ...COMMON_OPTIONS }).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.valueName ?? 'VALUE'}` : ''}`;
    return `  ${flag.padEnd(30)} ${o.help}`;
  });
  return `${cmd.summary}\n\nUsage: sae-studio ${cmd.usage}\n\nOptions:\n${opts.join('\n')}\n`;
}

export function parseCommandArgs(cmd: Command, argv: string[]) {
  const options: ParseArgsConfig['options'] = {};
  for (const [name, o] of Object.entries({ ...cmd.options, ...COMMON_OPTIONS })) {
    options[name] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: o.multiple } : {}),
    };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new InputError(`${(err as Error).message.split('\n')[0]} (see 'sae-studio ${cmd.name} --help')`);
  }
  const max = cmd.positionals ?? 0;
  if (!parsed.values.help && parsed.positionals.length > max) {
    throw new InputError(`unexpected argument '${parsed.positionals[max]}' (see 'sae-studio ${cmd.name} --help')`);
  }
  return parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] };
}

export function requireOption(cmd: Command, values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '')
    throw new InputError(`missing --${name} (see 'sae-studio ${cmd.name} --help')`);
  return v;
}
