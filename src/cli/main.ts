// The `sae-studio` command line: dispatches to commands, prints one-line errors (stack traces with --debug).
import { isInputError } from '../core/errors';
import { commandHelp, parseCommandArgs, type Command } from './command';
import { lmEvalCommand } from './commands/lm-eval';
import { lmForwardCommand } from './commands/lm-forward';
import { dictionaryForwardCommand } from './commands/dictionary-forward';
import { attributeCommand } from './commands/attribute';
import { tokenizeCommand } from './commands/tokenize';
import { trainCommand } from './commands/train';
import { evalCommand } from './commands/eval';
import { demoCommand } from './commands/demo';
import { generateCommand } from './commands/generate';
import { analyzeCommand, inferCommand } from './commands/analyze';
import { featureCommand, featuresCommand } from './commands/features';
import { engineCommand, serveCommand } from './commands/serve';
import { exportCommand } from './commands/export';
import { importCommand } from './commands/import';
import { explainCommand } from './commands/explain';
import { syncCommand } from './commands/sync';

const COMMANDS: Command[] = [
  tokenizeCommand,
  lmForwardCommand,
  lmEvalCommand,
  generateCommand,
  trainCommand,
  evalCommand,
  dictionaryForwardCommand,
  attributeCommand,
  demoCommand,
  analyzeCommand,
  featuresCommand,
  featureCommand,
  inferCommand,
  exportCommand,
  importCommand,
  explainCommand,
  syncCommand,
  serveCommand,
  engineCommand,
];

function mainHelp(): string {
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(19)} ${c.summary}`);
  return [
    'SAE Studio — train, analyze and explore sparse dictionaries on language-model activations.',
    '',
    'Usage: sae-studio <command> [options]     (sae-studio <command> --help for its options)',
    '',
    'Commands:',
    ...rows,
    '',
    'Environment: SAE_STUDIO_BACKEND (auto|webgpu|wasm|cpu), SAE_STUDIO_HOME (default ~/.sae-studio).',
    '',
  ].join('\n');
}

/** Longest command name that prefixes argv (commands may have two words, like `lm forward`). */
function findCommand(argv: string[]): { cmd: Command; rest: string[] } | null {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const cmd = COMMANDS.find((c) => c.name === name);
    if (cmd) return { cmd, rest: argv.slice(words) };
  }
  return null;
}

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(mainHelp());
    return 0;
  }
  if (argv[0] === '--version') {
    process.stdout.write(`${process.env.npm_package_version ?? '0.1.0'}\n`);
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `));
    if (group.length > 0 && (argv.length === 1 || argv[1]?.startsWith('-'))) {
      process.stdout.write(
        `Subcommands of '${argv[0]}':\n${group.map((c) => `  ${c.name.padEnd(19)} ${c.summary}`).join('\n')}\n`,
      );
      return argv.length === 1 || argv.includes('--help') || argv.includes('-h') ? 0 : 2;
    }
    process.stderr.write(
      `sae-studio: error: unknown command '${argv.slice(0, group.length ? 2 : 1).join(' ')}' (see 'sae-studio --help')\n`,
    );
    return 2;
  }
  const { cmd, rest } = found;
  try {
    const { values, positionals } = parseCommandArgs(cmd, rest);
    if (values.help) {
      process.stdout.write(commandHelp(cmd));
      return 0;
    }
    await cmd.run(values, positionals);
    return 0;
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    if (isInputError(e)) {
      process.stderr.write(`sae-studio: error: ${e.message}\n`);
      if (debug) process.stderr.write(`${e.stack}\n`);
      return 2;
    }
    process.stderr.write(
      `sae-studio: internal error: ${e.message.split('\n')[0]}${debug ? '' : ' (run with --debug for the stack trace)'}\n`,
    );
    if (debug) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}
