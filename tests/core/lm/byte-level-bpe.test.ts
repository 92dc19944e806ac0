// ByteLevelBpe against @huggingface/tokenizers on the embedded model's tokenizer: the Python reference ids,
// tricky inputs, seeded random texts and a seeded sample of the embedded corpus must all give identical ids.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openDataset } from '../../../src/core/data/sources/open-dataset';
import { ModelTokenizer } from '../../../src/core/lm/tokenizer';
import { bundledModelsDir } from '../../../src/core/resources/resource-dir';
import { expectSameIds, libraryTokenizer, seededRandom } from './tokenizer-library';

const DIR = join(bundledModelsDir(), 'pdlm-4l-256');
const REFERENCE = join(
  dirname(fileURLToPath(import.meta.url)),
  '../../fixtures/pdlm-4l-256-reference/tokenizer_reference.json',
);

const TRICKY = [
  '',
  ' ',
  'a',
  'Hello, world!',
  "It's John's; they're, we've, I'm, you'll, he'd. IT'S 'S 's's ''s",
  'don\u2019t \u2018quoted\u2019 \u201cdouble\u201d',
  'na\u00efve caf\u00e9 r\u00e9sum\u00e9 \u00c5ngstr\u00f6m e\u0301 (e + combining acute)',
  '\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3002\u4e2d\u6587\uff0c\ud55c\uad6d\uc5b4 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u05e2\u05d1\u05e8\u05d9\u05ea \u0939\u093f\u0928\u094d\u0926\u0940',
  'emoji \ud83d\ude00\ud83d\udc4d\ud83c\udffd \ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67 flags \ud83c\uddeb\ud83c\uddf7 \u2764\ufe0f',
  'lone surrogates \ud800 x \udfff y \ud83d',
  'a  b   c    d\t\te\n\nf \n g\u00a0h\u2003i\u3000j',
  '    leading and trailing    ',
  'line one\r\nline two\r\n\r\nline three\rfour\n',
  '\n\n\n',
  'digits 0 12 345 6789 3.14159 1,000,000 \u0661\u0662\u0663 \u00bd \u2463 x\u00b2',
  'A1b2C3 abc123def 1790\u20132021 \u2014 ... !!! ?!? --- ***',
  '<|endoftext|>',
  '<|endoftext|><|endoftext|>',
  'before<|endoftext|>after',
  ' <|endoftext|> spaced <|endoftext|>',
  '<|endoftext|',
  '|endoftext|>',
  '<|endoftext|>\n\nChapter 1',
  '<|<|endoftext|>|>',
  'URL https://example.com/path?q=1&r=two#frag and e-mail a.b@c.org',
  'code: for (let i = 0; i < n; i++) { x[i] = y[i] ** 2; }',
  '\u0000\u0001\u0007\u001b[0m\u007f\u0080\u009f\u00ad soft\u00adhyphen',
  '\ufeffBOM and \ufffd replacement \ufffd\ufffd',
  'ALL CAPS SHOUTING and MiXeD cAsE',
  ' '.repeat(3000),
  'a'.repeat(5000),
  'ab'.repeat(4000),
  '.'.repeat(2000) + ' ' + '\n'.repeat(1000),
  'x \n'.repeat(500),
];

const PIECES = [
  ' ', '  ', '\n', '\r\n', '\t', '\u00a0', 'the', ' the', 'The', "'s", "'t", "'re", "'ll", "'d", "'m", "'ve", "'",
  '0', '42', ' 1999', '.', ',', '!?', '--', '\u2014', '\u201c', '\u00e9', 'e\u0301', '\u00df', '\u4e2d', '\ud83d\ude00',
  '\u200d', '<|endoftext|>', '<|', '|>', 'endoftext', 'Mr.', 'hello', 'World', 'xyz', '\ufffd', '\ud800',
]; // prettier-ignore

function randomTexts(count: number, seed: number): string[] {
  const rand = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const n = Math.floor(rand() * 40);
    let s = '';
    for (let i = 0; i < n; i++) s += PIECES[Math.floor(rand() * PIECES.length)];
    return s;
  });
}

describe('ByteLevelBpe on pdlm-4l-256', () => {
  const ours = ModelTokenizer.load(DIR);
  const library = libraryTokenizer(DIR);

  it('is the engine of the embedded model and gives the Python reference ids', () => {
    expect(ours.engine).toBe('byte-level-bpe');
    const cases = JSON.parse(readFileSync(REFERENCE, 'utf8')) as { text: string; ids: number[] }[];
    expect(cases.length).toBeGreaterThan(0);
    for (const { text, ids } of cases) expect(ours.encode(text, { addSpecialTokens: false })).toEqual(ids);
    expect(ours.encode('<|endoftext|>Hi')[0]).toBe(0);
    expect(ours.encode('')).toEqual([]);
  });

  it('gives the library ids on tricky inputs', () => {
    expectSameIds(ours, library, TRICKY);
  });

  it('gives the library ids on seeded random texts, cache warm or cold', () => {
    const texts = randomTexts(400, 7);
    expectSameIds(ours, library, texts); // first sight of most pre-tokens
    expectSameIds(ours, library, texts); // now from the cache
    expectSameIds(ModelTokenizer.load(DIR), library, [texts.join('')]);
  });

  it('gives the library ids on a seeded sample of the embedded corpus (about 1.5M characters)', async () => {
    const rand = seededRandom(2026);
    const slices: string[] = [];
    for await (const doc of openDataset('pdlm-corpus').documents()) {
      // two slices of each document, starting anywhere (mid-word too); the first document whole is too slow
      for (let k = 0; k < 2; k++) {
        const start = Math.floor(rand() * doc.text.length);
        slices.push(doc.text.slice(start, start + 3000));
      }
    }
    expect(slices.length).toBe(502);
    expectSameIds(ours, library, slices);
  }, 120_000);
});
