// Bad tokenizer files given to `tokenize`: a folder holding the bundled model's tokenizer.json (and
// tokenizer_config.json) with one part edited. Each case names the file and, where the library says, the field.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BadInputCase, CaseDir } from '../helpers/bad-input';
import { archFixture, PDLM_DIR } from '../helpers/fixtures';
import { pdlmTokenizer } from './inputs';

type Json = Record<string, unknown>;

/** c.input/tok: config.json and tokenizer_config.json of the bundled model, and `tokenizer` as tokenizer.json. */
function tokenizerFolder(c: CaseDir, tokenizer: string): string {
  const dir = c.at('tok');
  mkdirSync(dir);
  copyFileSync(join(PDLM_DIR, 'config.json'), join(dir, 'config.json'));
  copyFileSync(join(PDLM_DIR, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  writeFileSync(join(dir, 'tokenizer.json'), tokenizer);
  return dir;
}
const tokenize = (c: CaseDir): string[] => ['tokenize', '--model', c.at('tok'), '--text', 'hello world'];
const TOK = /tok\/tokenizer\.json: /.source;

/** A case whose tokenizer.json is the bundled one after `edit` (of the parsed JSON, or of its model section). */
const edited = (name: string, edit: (t: Json, model: Json) => void, culprit: RegExp): BadInputCase => ({
  name,
  setup: (c) => {
    const t = pdlmTokenizer();
    edit(t, t.model as Json);
    tokenizerFolder(c, JSON.stringify(t));
  },
  args: tokenize,
  culprit,
});
const raw = (name: string, text: string, culprit: RegExp): BadInputCase => ({
  name,
  setup: (c) => void tokenizerFolder(c, text),
  args: tokenize,
  culprit,
});

export const TOKENIZER_CASES: BadInputCase[] = [
  raw('tokenizer.json that is not JSON', '{"model": {', new RegExp(`${TOK}not valid JSON`)),
  raw('an empty tokenizer.json', '', new RegExp(`${TOK}not valid JSON`)),
  raw('tokenizer.json that is an array', '[]', new RegExp(`${TOK}.*(object|model)`)),
  raw('tokenizer.json that is null', 'null', new RegExp(`${TOK}.*(object|model)`)),
  edited('no model section', (t) => delete t.model, new RegExp(`${TOK}.*model`)),
  edited('a model that is null', (t) => (t.model = null), new RegExp(`${TOK}.*model`)),
  edited('an unknown model type', (_, m) => (m.type = 'GPT9'), new RegExp(`${TOK}.*GPT9`)),
  edited('no vocab', (_, m) => delete m.vocab, new RegExp(`${TOK}.*vocab`)),
  edited('a vocab that is an array', (_, m) => (m.vocab = ['a', 'b']), new RegExp(`${TOK}.*vocab`)),
  edited('a vocab id that is a string', (_, m) => ((m.vocab as Json)['Ġthe'] = 'x'), new RegExp(`${TOK}.*vocab.*Ġthe`)),
  edited('no merges', (_, m) => delete m.merges, new RegExp(`${TOK}.*merges`)),
  edited('merges that are not an array', (_, m) => (m.merges = 'Ġ t'), new RegExp(`${TOK}.*merges`)),
  edited('a merge of one token', (_, m) => ((m.merges as unknown[])[0] = ['Ġ']), new RegExp(`${TOK}.*merge.*0`)),
  edited('a merge that is a number', (_, m) => ((m.merges as unknown[])[1] = 7), new RegExp(`${TOK}.*merge.*1`)),
  edited(
    'a merge string without a space',
    (_, m) => ((m.merges as unknown[])[2] = 'Ġa'),
    new RegExp(`${TOK}.*merge.*2`),
  ),
  edited(
    'a merge of tokens outside the vocab',
    (_, m) => ((m.merges as unknown[])[0] = ['zzzq', 'qqqz']),
    new RegExp(`${TOK}.*(zzzq|merge)`),
  ),
  edited('added_tokens that is not an array', (t) => (t.added_tokens = {}), new RegExp(`${TOK}.*added_tokens`)),
  edited(
    'an added token without an id',
    (t) => (t.added_tokens = [{ content: '<x>', special: true }]),
    new RegExp(`${TOK}.*added_tokens.*id|${TOK}.*<x>`),
  ),
  edited('an unknown pre_tokenizer', (t) => (t.pre_tokenizer = { type: 'Chunky' }), new RegExp(`${TOK}.*Chunky`)),
  edited('an unknown normalizer', (t) => (t.normalizer = { type: 'Shouty' }), new RegExp(`${TOK}.*Shouty`)),
  edited('an unknown decoder', (t) => (t.decoder = { type: 'Mumble' }), new RegExp(`${TOK}.*Mumble`)),
  edited('an unknown post_processor', (t) => (t.post_processor = { type: 'Stamp' }), new RegExp(`${TOK}.*Stamp`)),
  {
    name: 'no tokenizer.json',
    setup: (c) => rmSync(join(tokenizerFolder(c, '{}'), 'tokenizer.json')),
    args: tokenize,
    culprit: /tok: no tokenizer\.json/,
  },
  {
    name: 'tokenizer.json that is a folder',
    setup: (c) => {
      const dir = tokenizerFolder(c, '{}');
      rmSync(join(dir, 'tokenizer.json'));
      mkdirSync(join(dir, 'tokenizer.json'));
    },
    args: tokenize,
    culprit: new RegExp(`${TOK}.*(folder|directory)`),
  },
  {
    name: 'tokenizer_config.json that is not JSON',
    setup: (c) => {
      const dir = tokenizerFolder(c, JSON.stringify(pdlmTokenizer()));
      writeFileSync(join(dir, 'tokenizer_config.json'), '{"bos_token": ');
    },
    args: tokenize,
    culprit: /tok\/tokenizer_config\.json: not valid JSON/,
  },
  {
    name: 'a model without a tokenizer (the gpt2 fixture)',
    args: () => ['tokenize', '--model', archFixture('gpt2'), '--text', 'hi'],
    culprit: /gpt2: no tokenizer\.json/,
  },
];
