// Which tokenizer.json files ByteLevelBpe takes: variants of the embedded model's file that it reproduces must give
// the library's ids through it, and every variant it does not reproduce must stay on the library.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelTokenizer } from '../../../src/core/lm/tokenizer';
import { bundledModelsDir } from '../../../src/core/resources/resource-dir';
import { expectSameIds, libraryTokenizer } from './tokenizer-library';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const DIR = join(bundledModelsDir(), 'pdlm-4l-256');
const BASE = JSON.parse(readFileSync(join(DIR, 'tokenizer.json'), 'utf8')) as Json;
const CONFIG = JSON.parse(readFileSync(join(DIR, 'tokenizer_config.json'), 'utf8')) as Json;

const TEXTS = [
  '',
  'Call me Ishmael. Some years ago\u2014never mind how long precisely',
  "  the other's  THE\tthe\r\nthen, theirs 1790 \u00e9t\u00e9 \ud83d\ude00",
  '<|endoftext|>the <|a|>b<|a|><|a|>bb <|a|',
  'He said "the end" the  end Ġthe Ġ',
  ' '.repeat(50) + 'x',
  'a.b axb [MASK] [MASKED] (x|y)* xy \\d 7 ^$ a-b/c',
];

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A model folder whose tokenizer files are the embedded model's, changed by `edit`. */
function variant(edit: (json: Json, config: Json) => void, withConfig = true): string {
  const dir = mkdtempSync(join(tmpdir(), 'sae-tok-'));
  made.push(dir);
  const json = structuredClone(BASE);
  const config = structuredClone(CONFIG);
  edit(json, config);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  if (withConfig) writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

const addedToken = (id: number, content: string, more: Json = {}): Json => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
  ...more,
});

describe('ByteLevelBpe takes the GPT-2-style variants it reproduces', () => {
  const reproduced: [string, (json: Json, config: Json) => void][] = [
    ['add_prefix_space', (j) => (j.pre_tokenizer.add_prefix_space = true)],
    ['use_regex false (the whole text is one word)', (j) => (j.pre_tokenizer.use_regex = false)],
    ['merges written "a b"', (j) => (j.model.merges = j.model.merges.map((m: string[]) => m.join(' ')))],
    [
      'added tokens with regex metacharacters',
      (j) => {
        const contents = ['a.b', '[MASK]', '(x|y)*', '\\d', '^$', 'a-b/c'];
        contents.forEach((c, i) => j.added_tokens.push(addedToken(8192 + i, c)));
      },
    ],
    ['no post-processor', (j) => (j.post_processor = null)],
    ['a merge listed twice takes its last rank', (j) => j.model.merges.push(j.model.merges[0])],
    ['a "a b" merge among pairs matches nothing', (j) => (j.model.merges[1] = j.model.merges[1].join(' '))],
    [
      'overlapping added tokens, one repeated, one over a vocab token',
      (j) => {
        j.added_tokens.push(addedToken(8192, '<|a|>'), addedToken(8193, '<|a|>b'), addedToken(8194, '<|a|>'));
        j.added_tokens.push(addedToken(8195, '\u0120the', { special: false }), addedToken(8196, ' end'));
      },
    ],
  ];
  it.each(reproduced)('%s', (_name, edit) => {
    const dir = variant(edit);
    const ours = ModelTokenizer.load(dir);
    expect(ours.engine).toBe('byte-level-bpe');
    expectSameIds(ours, libraryTokenizer(dir), TEXTS);
  });

  it('works without tokenizer_config.json', () => {
    const dir = variant(() => {}, false);
    const ours = ModelTokenizer.load(dir);
    expect(ours.engine).toBe('byte-level-bpe');
    expectSameIds(ours, libraryTokenizer(dir), TEXTS);
  });
});

describe('every other kind stays on the library', () => {
  const template = {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { '<|endoftext|>': { id: '<|endoftext|>', ids: [0], tokens: ['<|endoftext|>'] } },
  };
  const others: [string, (json: Json, config: Json) => void][] = [
    ['a normalizer', (j) => (j.normalizer = { type: 'NFC' })],
    ['a post-processor that adds tokens', (j) => (j.post_processor = template)],
    ['a Sequence pre-tokenizer', (j) => (j.pre_tokenizer = { type: 'Sequence', pretokenizers: [j.pre_tokenizer] })],
    ['an added token with lstrip', (j) => j.added_tokens.push(addedToken(8192, '<|a|>', { lstrip: true }))],
    ['byte_fallback', (j) => (j.model.byte_fallback = true)],
    ['dropout', (j) => (j.model.dropout = 0.1)],
    ['a byte missing from the vocab', (j) => delete j.model.vocab['\u0100']],
    ['remove_space in tokenizer_config.json', (_j, c) => (c.remove_space = true)],
  ];
  it.each(others)('%s', (_name, edit) => {
    const dir = variant(edit);
    const ours = ModelTokenizer.load(dir);
    expect(ours.engine).toBe('library');
    expectSameIds(ours, libraryTokenizer(dir), TEXTS);
  });
});
