// Bad command lines: unknown commands and options, missing or malformed values, conflicting options, and outputs
// that cannot be written. Each case names the option (or command) and the value at fault.
import { writeFileSync } from 'node:fs';
import type { BadInputCase, CaseDir } from '../helpers/bad-input';
import { archFixture } from '../helpers/fixtures';
import { put } from './inputs';

const G = archFixture('gpt2');
/** `lm forward` of the gpt2 fixture on the ids [[1, 2, 3]], with `extra` options (later ones win). */
const forward = (c: CaseDir, extra: string[] = [], out = c.at('out.safetensors')): string[] => [
  'lm',
  'forward',
  '--model',
  G,
  '--ids',
  c.at('ids.json'),
  '--out',
  out,
  ...extra,
];
const withIds = (c: BadInputCase): BadInputCase => ({
  ...c,
  setup: (dir) => {
    put(dir, 'ids.json', '[[1, 2, 3]]');
    c.setup?.(dir);
  },
});
const cli = (name: string, args: (c: CaseDir) => string[], culprit: RegExp): BadInputCase =>
  withIds({ name, args, culprit });

export const CLI_FLAG_CASES: BadInputCase[] = [
  cli('an unknown command', () => ['trane'], /unknown command 'trane'/),
  cli('an unknown subcommand', () => ['lm', 'backward'], /unknown command 'lm backward'/),
  cli('an unknown option', (c) => forward(c, ['--modle', 'x']), /Unknown option '--modle'/),
  cli('an option without its value', () => ['tokenize', '--text', 'hi', '--model'], /--model/),
  cli('an unexpected positional argument', () => ['tokenize', 'extra', '--model', G, '--text', 'hi'], /extra/),
  cli('a missing --text', () => ['tokenize', '--model', 'pdlm-4l-256'], /missing --text/),
  cli('a missing --model', () => ['tokenize', '--text', 'hi'], /missing --model/),
  cli('lm eval without --windows', () => ['lm', 'eval', '--model', G], /missing --windows/),
  cli('lm forward without --out', (c) => ['lm', 'forward', '--model', G, '--ids', c.at('ids.json')], /missing --out/),
  cli(
    'a --batch-size that is a word',
    (c) => forward(c, ['--batch-size', 'abc']),
    /--batch-size is 'abc', expected a positive integer/,
  ),
  cli(
    'a --batch-size of 0',
    (c) => forward(c, ['--batch-size', '0']),
    /--batch-size is '0', expected a positive integer/,
  ),
  cli(
    'a negative --batch-size',
    (c) => forward(c, ['--batch-size=-3']),
    /--batch-size is '-3', expected a positive integer/,
  ),
  cli(
    'a fractional --batch-size',
    (c) => forward(c, ['--batch-size', '1.5']),
    /--batch-size is '1\.5', expected a positive integer/,
  ),
  cli('an unknown --backend', (c) => forward(c, ['--backend', 'cuda']), /--backend: unknown backend 'cuda'/),
  {
    ...cli('an unknown SAE_STUDIO_BACKEND', (c) => forward(c), /SAE_STUDIO_BACKEND.*'cuda'/),
    env: () => ({ SAE_STUDIO_BACKEND: 'cuda' }),
  },
  cli(
    '--no-logits without --hooks',
    (c) => forward(c, ['--no-logits']),
    /--no-logits needs at least one hook in --hooks/,
  ),
  cli(
    'an unknown hook in --hooks',
    (c) => forward(c, ['--hooks', 'blocks.7.hook_resid_post']),
    /unknown hook 'blocks\.7\.hook_resid_post'/,
  ),
  cli(
    'an --out that is a folder',
    (c) => forward(c, [], c.input),
    /input: is a folder; expected the path of a \.safetensors file/,
  ),
  cli(
    'an --out in a folder that does not exist',
    (c) => forward(c, [], c.at('no', 'such', 'o.safetensors')),
    /no\/such\/o\.safetensors/,
  ),
  withIds({
    name: 'an --out under a file',
    setup: (c) => writeFileSync(c.at('plain.txt'), 'x'),
    args: (c) => forward(c, [], c.at('plain.txt', 'o.safetensors')),
    culprit: /plain\.txt\/o\.safetensors/,
  }),
  withIds({
    name: 'generate --out naming a file',
    setup: (c) => writeFileSync(c.at('cache'), 'x'),
    args: (c) => [
      'generate',
      '--model',
      'pdlm-4l-256',
      '--dataset',
      'pdlm-corpus',
      '--hooks',
      'blocks.0.hook_resid_post',
      '--out',
      c.at('cache'),
    ],
    culprit: /--out '.*cache': is a file, expected the cache folder/,
  }),
  cli(
    'generate --max-windows 0',
    (c) => [
      'generate',
      '--model',
      'pdlm-4l-256',
      '--dataset',
      'pdlm-corpus',
      '--hooks',
      'blocks.0.hook_resid_post',
      '--out',
      c.at('cache'),
      '--max-windows',
      '0',
    ],
    /--max-windows/,
  ),
  cli(
    'generate --chunk-size -1',
    (c) => [
      'generate',
      '--model',
      'pdlm-4l-256',
      '--dataset',
      'pdlm-corpus',
      '--hooks',
      'blocks.0.hook_resid_post',
      '--out',
      c.at('cache'),
      '--chunk-size=-1',
    ],
    /--chunk-size/,
  ),
  cli(
    'analyze --tokens that is a word',
    () => ['analyze', '--dictionary', 'seed', '--tokens', 'lots'],
    /--tokens.*'lots'/,
  ),
  cli('analyze --tokens 0', () => ['analyze', '--dictionary', 'seed', '--tokens', '0'], /--tokens.*'0'/),
  cli('analyze of an unknown dictionary', () => ['analyze', '--dictionary', 'nope'], /dictionary 'nope' not found/),
  cli(
    'features --sort by an unknown key',
    () => ['features', '--dictionary', 'seed', '--sort', 'price'],
    /--sort.*'price'|price/,
  ),
  cli('features --limit -1', () => ['features', '--dictionary', 'seed', '--limit=-1'], /--limit.*'-1'/),
  cli('features of an unknown dictionary', () => ['features', '--dictionary', 'nope'], /unknown dictionary 'nope'/),
  cli('feature with an index that is a word', () => ['feature', 'seed', 'first'], /'first'/),
  cli('feature without its index', () => ['feature', 'seed'], /INDEX|index/),
  cli('infer without --text', () => ['infer', 'seed'], /missing --text/),
  cli('infer --top 0', () => ['infer', 'seed', '--text', 'hi', '--top', '0'], /--top.*'0'/),
  cli(
    'eval with an unknown --basis',
    (c) => ['eval', '--dictionary', 'seed', '--windows', c.at('ids.json'), '--basis', 'weird'],
    /--basis.*'weird'/,
  ),
  cli(
    'dictionary forward of an unknown dictionary',
    (c) => ['dictionary', 'forward', '--dictionary', 'nope', '--ids', c.at('ids.json'), '--out', c.at('o.safetensors')],
    /dictionary 'nope' not found/,
  ),
  cli(
    'attribute with both --set and --dictionaries',
    (c) => ['attribute', '--set', 'a', '--dictionaries', 'b', '--prompt', 'hi', '--out', c.at('g.json')],
    /--set.*--dictionaries|--dictionaries.*--set/,
  ),
  cli(
    'attribute with both --prompt and --ids',
    (c) => [
      'attribute',
      '--dictionaries',
      'seed',
      '--prompt',
      'hi',
      '--ids',
      c.at('ids.json'),
      '--out',
      c.at('g.json'),
    ],
    /--prompt.*--ids|--ids.*--prompt/,
  ),
  cli(
    'attribute --node-threshold 2',
    (c) => ['attribute', '--dictionaries', 'seed', '--prompt', 'hi', '--out', c.at('g.json'), '--node-threshold', '2'],
    /node_threshold.*\(got 2\)/,
  ),
  cli('demo with an unknown --recipe', () => ['demo', '--recipe', 'bogus'], /--recipe.*'bogus'|bogus/),
  cli('demo --tokens 0', () => ['demo', '--tokens', '0'], /--tokens.*'0'/),
  cli(
    'serve --port 70000',
    () => ['serve', '--port', '70000'],
    /--port '70000': expected a port number from 0 to 65535/,
  ),
  cli(
    'serve --allow of a missing folder',
    (c) => ['serve', '--allow', c.at('nowhere')],
    /--allow '.*nowhere': no such folder/,
  ),
  withIds({
    name: 'a home that is a file',
    setup: (c) => writeFileSync(c.at('home-file'), 'x'),
    args: () => ['features', '--dictionary', 'seed'],
    env: (c) => ({ SAE_STUDIO_HOME: c.at('home-file') }),
    culprit: /studio home '.*home-file': .*home-file is a file, expected a folder/,
  }),
];
