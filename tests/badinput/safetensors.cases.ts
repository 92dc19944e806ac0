// Bad safetensors files: token-id files read by `lm forward` / `lm eval`, a model's weights and a dictionary's
// weights. Each case names the file and the header field, tensor or byte range at fault.
import { mkdirSync, symlinkSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { archFixture } from '../helpers/fixtures';
import type { BadInputCase, CaseDir } from '../helpers/bad-input';
import {
  editSafetensors,
  f32,
  gpt2Copy,
  i32,
  i64,
  idsSafetensors,
  put,
  rawSafetensors,
  seedDictionaryCopy,
} from './inputs';

const forward = (c: CaseDir, ids: string): string[] => [
  'lm',
  'forward',
  '--model',
  archFixture('gpt2'),
  '--ids',
  ids,
  '--out',
  c.at('out.safetensors'),
];
/** A case on the ids file `ids.safetensors` holding `bytes`. */
const ids = (name: string, bytes: () => Uint8Array, culprit: RegExp): BadInputCase => ({
  name,
  setup: (c) => void put(c, 'ids.safetensors', bytes()),
  args: (c) => forward(c, c.at('ids.safetensors')),
  culprit,
});
const entry = (name: string, edit: (e: Record<string, unknown>) => void, culprit: RegExp) =>
  ids(name, () => idsSafetensors(edit), culprit);
const F = /ids\.safetensors: /.source;

/** `dictionary forward` on a copy of the seeded SAE whose weights file is rewritten by `edit`. */
function dictionaryWeights(
  name: string,
  edit: (tensors: Map<string, { dtype: string; shape: number[]; data: Buffer }>) => void,
  culprit: RegExp,
  raw?: Buffer,
): BadInputCase {
  return {
    name,
    setup: (c) => {
      const file = join(seedDictionaryCopy(c), 'sae_weights.safetensors');
      if (raw) writeFileSync(file, raw);
      else editSafetensors(file, edit);
      put(c, 'ids.json', '[[1, 2, 3]]');
    },
    args: (c) => [
      'dictionary',
      'forward',
      '--dictionary',
      c.at('dict'),
      '--model',
      'pdlm-4l-256',
      '--ids',
      c.at('ids.json'),
      '--out',
      c.at('out.safetensors'),
    ],
    culprit,
  };
}

export const SAFETENSORS_CASES: BadInputCase[] = [
  ids('an empty file', () => new Uint8Array(0), new RegExp(`${F}file is 0 bytes`)),
  ids('five bytes', () => new Uint8Array(5), new RegExp(`${F}file is 5 bytes`)),
  ids(
    'a header length larger than the file',
    () => rawSafetensors({}, new Uint8Array(0), 4096n),
    new RegExp(`${F}header length 4096 is larger than the file`),
  ),
  ids(
    'a header length past the limit',
    () => rawSafetensors({}, new Uint8Array(0), 1n << 40n),
    new RegExp(`${F}header length \\d+ is larger than the \\d+-byte limit`),
  ),
  ids(
    'a header that is not UTF-8',
    () => rawSafetensors(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])),
    new RegExp(`${F}header is not valid UTF-8`),
  ),
  ids('a header that is not JSON', () => rawSafetensors('{"input_ids": {'), new RegExp(`${F}header is not valid JSON`)),
  ids(
    'a header that is an array',
    () => rawSafetensors([1, 2]),
    new RegExp(`${F}header must be a JSON object, got an array`),
  ),
  ids('a header that is a number', () => rawSafetensors('42'), new RegExp(`${F}header must be a JSON object, got 42`)),
  ids(
    '__metadata__ that is not an object',
    () => rawSafetensors({ __metadata__: 'x' }),
    new RegExp(`${F}__metadata__ must be an object of strings`),
  ),
  ids(
    'a __metadata__ value that is not a string',
    () => rawSafetensors({ __metadata__: { format: 1 } }),
    new RegExp(`${F}__metadata__\\.format must be a string, got 1`),
  ),
  ids(
    'a tensor entry that is not an object',
    () => rawSafetensors({ input_ids: [1] }),
    new RegExp(`${F}tensor 'input_ids': entry must be an object`),
  ),
  entry(
    'an unknown dtype',
    (e) => (e.dtype = 'F8'),
    new RegExp(`${F}tensor 'input_ids': unknown dtype "F8"; expected one of F64`),
  ),
  entry('a lower-case dtype', (e) => (e.dtype = 'i32'), new RegExp(`${F}tensor 'input_ids': unknown dtype "i32"`)),
  entry(
    'a negative dimension',
    (e) => (e.shape = [-1, 3]),
    new RegExp(`${F}tensor 'input_ids': shape must be an array of non-negative integers, got \\[-1,3\\]`),
  ),
  entry(
    'a shape that is a string',
    (e) => (e.shape = '1x3'),
    new RegExp(`${F}tensor 'input_ids': shape must be an array`),
  ),
  entry(
    'data_offsets of three numbers',
    (e) => (e.data_offsets = [0, 4, 12]),
    new RegExp(`${F}tensor 'input_ids': data_offsets must be \\[begin, end\\]`),
  ),
  entry(
    'data_offsets begin after end',
    (e) => (e.data_offsets = [12, 0]),
    new RegExp(`${F}tensor 'input_ids': data_offsets must be .*got \\[12,0\\]`),
  ),
  entry(
    'shape × dtype unequal to the byte length',
    (e) => (e.shape = [1, 4]),
    new RegExp(
      `${F}tensor 'input_ids': data_offsets \\[0, 12\\] hold 12 bytes but shape \\[1, 4\\] of I32 .* needs 16`,
    ),
  ),
  ids(
    'data past the end of the file (truncated)',
    () => rawSafetensors({ input_ids: { dtype: 'I32', shape: [1, 3], data_offsets: [0, 12] } }, i32([1, 2])),
    new RegExp(`${F}file is truncated: tensor 'input_ids' .*\\(4 bytes missing\\)`),
  ),
  ids(
    'overlapping tensors',
    () =>
      rawSafetensors(
        {
          input_ids: { dtype: 'I32', shape: [1, 3], data_offsets: [0, 12] },
          other: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        i32([1, 2, 3]),
      ),
    new RegExp(`${F}tensor '(other|input_ids)': data_offsets \\[\\d+, 12\\] overlap tensor`),
  ),
  ids(
    'a hole in the data buffer',
    () => rawSafetensors({ input_ids: { dtype: 'I32', shape: [1, 3], data_offsets: [4, 16] } }, i32([0, 1, 2, 3])),
    new RegExp(`${F}data buffer has a hole: bytes \\[0, 4\\) before tensor 'input_ids'`),
  ),
  ids(
    'bytes after the last tensor',
    () => rawSafetensors({ input_ids: { dtype: 'I32', shape: [1, 3], data_offsets: [0, 12] } }, i32([1, 2, 3, 4])),
    new RegExp(`${F}data buffer has 4 bytes after the last tensor`),
  ),
  ids(
    'no integer tensor',
    () => rawSafetensors({ x: { dtype: 'F32', shape: [1, 3], data_offsets: [0, 12] } }, f32([1, 2, 3])),
    new RegExp(`${F}no integer tensor, expected token ids \\[n, seq\\]`),
  ),
  ids(
    'two integer tensors, none of the known names',
    () =>
      rawSafetensors(
        {
          a: { dtype: 'I32', shape: [1, 1], data_offsets: [0, 4] },
          b: { dtype: 'I32', shape: [1, 1], data_offsets: [4, 8] },
        },
        i32([1, 2]),
      ),
    new RegExp(`${F}several integer tensors \\(a, b\\)`),
  ),
  entry(
    'a one-dimensional ids tensor',
    (e) => (e.shape = [3]),
    new RegExp(`${F}tensor 'input_ids' has shape \\[3\\], expected \\[n, seq\\]`),
  ),
  entry(
    'a three-dimensional ids tensor',
    (e) => (e.shape = [1, 3, 1]),
    new RegExp(`${F}tensor 'input_ids' has shape \\[1, 3, 1\\], expected \\[n, seq\\]`),
  ),
  ids(
    'an I64 id beyond the int32 range',
    () => rawSafetensors({ input_ids: { dtype: 'I64', shape: [1, 2], data_offsets: [0, 16] } }, i64([1n, 1n << 40n])),
    new RegExp(`${F}.*input_ids.*1099511627776`),
  ),
  ids(
    'an id outside the vocabulary',
    () => rawSafetensors({ input_ids: { dtype: 'I32', shape: [1, 2], data_offsets: [0, 8] } }, i32([1, 600])),
    /token id 600 at row 0, position 1 is out of the vocabulary/,
  ),
  {
    name: 'a folder instead of a file',
    setup: (c) => mkdirSync(c.at('ids.safetensors')),
    args: (c) => forward(c, c.at('ids.safetensors')),
    culprit: /ids\.safetensors: .*(folder|directory)/,
  },
  {
    name: 'a link to no file',
    setup: (c) => symlinkSync(c.at('gone.safetensors'), c.at('ids.safetensors')),
    args: (c) => forward(c, c.at('ids.safetensors')),
    culprit: /ids\.safetensors: file not found/,
  },
  {
    name: 'lm eval: a --tensor the file lacks',
    setup: (c) => void put(c, 'ids.safetensors', idsSafetensors()),
    args: (c) => ['lm', 'eval', '--model', 'pdlm-4l-256', '--windows', c.at('ids.safetensors'), '--tensor', 'windows'],
    culprit: /ids\.safetensors: no tensor 'windows' \(has input_ids\)/,
  },
  {
    name: "a model's weights file cut short",
    setup: (c) => {
      const dir = gpt2Copy(c);
      const bytes = readFileSync(join(dir, 'model.safetensors'));
      writeFileSync(join(dir, 'model.safetensors'), bytes.subarray(0, bytes.length - 4000));
      put(c, 'ids.json', '[[1, 2, 3]]');
    },
    args: (c) => ['lm', 'forward', '--model', c.at('gpt2'), '--ids', c.at('ids.json'), '--out', c.at('o.safetensors')],
    culprit: /gpt2\/model\.safetensors: file is truncated: .*4000 bytes missing/,
  },
  {
    name: "a model's weights file that is empty",
    setup: (c) => {
      writeFileSync(join(gpt2Copy(c), 'model.safetensors'), '');
      put(c, 'ids.json', '[[1, 2, 3]]');
    },
    args: (c) => ['lm', 'forward', '--model', c.at('gpt2'), '--ids', c.at('ids.json'), '--out', c.at('o.safetensors')],
    culprit: /gpt2\/model\.safetensors: file is 0 bytes/,
  },
  dictionaryWeights(
    'a dictionary weights file that is empty',
    () => undefined,
    /dict\/sae_weights\.safetensors: file is 0 bytes/,
    Buffer.alloc(0),
  ),
  dictionaryWeights('a dictionary without W_E', (t) => void t.delete('W_E'), /sae_weights\.safetensors: .*W_E/),
  dictionaryWeights(
    'a dictionary with a tensor it does not have',
    (t) => void t.set('W_X', { dtype: 'F32', shape: [2], data: Buffer.from(f32([1, 2])) }),
    /sae_weights\.safetensors: .*W_X/,
  ),
  dictionaryWeights(
    'a dictionary whose W_D has one row too few',
    (t) => {
      const w = t.get('W_D')!;
      t.set('W_D', { ...w, shape: [w.shape[0]! - 1, w.shape[1]!], data: w.data.subarray(w.shape[1]! * 4) });
    },
    /sae_weights\.safetensors: .*W_D.*\[31, 256\]/,
  ),
  dictionaryWeights(
    'a dictionary whose W_E holds a NaN',
    (t) => {
      const w = t.get('W_E')!;
      const data = Buffer.from(w.data);
      data.writeFloatLE(Number.NaN, 40);
      t.set('W_E', { ...w, data });
    },
    /sae_weights\.safetensors: .*W_E.*(NaN|finite)/,
  ),
  dictionaryWeights(
    'a dictionary whose b_E is stored as integers',
    (t) => {
      const b = t.get('b_E')!;
      t.set('b_E', { ...b, dtype: 'I32' });
    },
    /sae_weights\.safetensors: .*b_E.*I32/,
  ),
];
