// Bad datasets given to `analyze` (text sources: folders of .txt, .jsonl, .parquet) and bad token-id files given to
// `lm forward`. Each case names the file, the line or row, and the field at fault.
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { BadInputCase, CaseDir } from '../helpers/bad-input';
import { archFixture, FIXTURES } from '../helpers/fixtures';
import { put } from './inputs';

const analyze = (spec: string, extra: string[] = []): string[] => [
  'analyze',
  '--dictionary',
  'seed',
  '--dataset',
  spec,
  '--tokens',
  '256',
  ...extra,
];
/** A case analysing the file `name` of the case's input folder, written with `content`. */
const file = (name: string, content: string | Buffer, culprit: RegExp): BadInputCase => ({
  name: `${name}: ${describeContent(content)}`,
  setup: (c) => void put(c, name, content),
  args: (c) => analyze(c.at(name)),
  culprit,
});
function describeContent(content: string | Buffer): string {
  if (typeof content !== 'string') return `${content.length} bytes`;
  return content === '' ? 'empty' : JSON.stringify(content.slice(0, 40));
}
const parquetFixture = (): Buffer => readFileSync(join(FIXTURES, 'data', 'docs.parquet'));
const invalidUtf8 = Buffer.from([0x68, 0x69, 0xff, 0xfe, 0x0a]);

/** `lm forward` of the gpt2 fixture (vocab 512, context 128) on the ids file `ids.json` holding `json`. */
const ids = (name: string, json: string, culprit: RegExp): BadInputCase => ({
  name: `ids file: ${name}`,
  setup: (c) => void put(c, 'ids.json', json),
  args: (c: CaseDir) => [
    'lm',
    'forward',
    '--model',
    archFixture('gpt2'),
    '--ids',
    c.at('ids.json'),
    '--out',
    c.at('out.safetensors'),
  ],
  culprit,
});
const IDS = /ids\.json: /.source;

export const DATASET_CASES: BadInputCase[] = [
  {
    name: 'a path that does not exist',
    args: (c) => analyze(c.at('nowhere')),
    culprit: /nowhere: no such file or folder/,
  },
  { name: 'an empty spec', args: () => analyze(' '), culprit: /dataset: empty spec, expected a folder of \.txt files/ },
  {
    name: 'a link to nothing',
    setup: (c) => symlinkSync(c.at('gone.jsonl'), c.at('docs.jsonl')),
    args: (c) => analyze(c.at('docs.jsonl')),
    culprit: /docs\.jsonl: no such file or folder/,
  },
  file('table.csv', 'a,b\n1,2\n', /table\.csv: unsupported file type '\.csv'/),
  file('doc.txt', '', /doc\.txt: no documents, expected text in at least one \.txt file/),
  file('doc.txt', invalidUtf8, /doc\.txt: .*UTF-8/),
  {
    name: 'an empty folder',
    setup: (c) => mkdirSync(c.at('texts')),
    args: (c) => analyze(c.at('texts')),
    culprit: /texts: no \.txt files in the folder/,
  },
  {
    name: 'a folder with no .txt file',
    setup: (c) => void put(c, join('texts', 'notes.md'), '# notes'),
    args: (c) => analyze(c.at('texts')),
    culprit: /texts: no \.txt files in the folder/,
  },
  {
    name: 'a folder whose .txt files are empty',
    setup: (c) => (put(c, join('texts', 'a.txt'), ''), put(c, join('texts', 'b.txt'), '')),
    args: (c) => analyze(c.at('texts')),
    culprit: /texts: no documents, expected text in at least one \.txt file/,
  },
  file('docs.jsonl', '', /docs\.jsonl: no documents, expected one JSON object per line/),
  file('docs.jsonl', '\n\n\n', /docs\.jsonl: no documents/),
  file('docs.jsonl', '{"text": "a"}\n{"text": "b"}\n{"text": \n', /docs\.jsonl:3: not valid JSON/),
  file(
    'docs.jsonl',
    '{"text": "a"}\n[1, 2]\n',
    /docs\.jsonl:2: a JSON array, expected an object with a string field 'text'/,
  ),
  file('docs.jsonl', '42\n', /docs\.jsonl:1: a JSON number, expected an object/),
  file('docs.jsonl', '{"text": "a"}\n{"body": "b"}\n', /docs\.jsonl:2: no field 'text'/),
  file('docs.jsonl', '{"text": 5}\n', /docs\.jsonl:1: field 'text' is a number, expected a string/),
  file('docs.jsonl', '{"text": null}\n', /docs\.jsonl:1: field 'text' is null, expected a string/),
  file(
    'docs.jsonl',
    Buffer.concat([Buffer.from('{"text": "'), invalidUtf8.subarray(0, 4), Buffer.from('"}\n')]),
    /docs\.jsonl: not valid UTF-8/,
  ),
  file('docs.parquet', '', /docs\.parquet: not a readable parquet file/),
  file('docs.parquet', 'PAR1 this is not parquet PAR1', /docs\.parquet: not a readable parquet file/),
  {
    name: 'a parquet file cut short',
    setup: (c) => void put(c, 'docs.parquet', parquetFixture().subarray(0, 200)),
    args: (c) => analyze(c.at('docs.parquet')),
    culprit: /docs\.parquet: not a readable parquet file/,
  },
  {
    name: "a parquet file without a 'text' column",
    setup: (c) => {
      const bytes = parquetFixture();
      for (let i = bytes.indexOf('text'); i >= 0; i = bytes.indexOf('text', i + 4)) bytes.write('body', i);
      put(c, 'docs.parquet', bytes);
    },
    args: (c) => analyze(c.at('docs.parquet')),
    culprit: /docs\.parquet: no column 'text' \(has title, body\)/,
  },
  {
    name: 'an unknown split',
    args: () => analyze('pdlm-corpus', ['--split', 'holdout']),
    culprit: /--split is 'holdout', expected train, validation or all/,
  },
  {
    name: 'an unknown embedded dataset',
    args: () => analyze('pdlm-corpus-2'),
    culprit: /pdlm-corpus-2: no such file or folder/,
  },
  ids('not JSON', '[[1, 2', new RegExp(`${IDS}not valid JSON`)),
  ids('an object', '{"input_ids": [[1]]}', new RegExp(`${IDS}expected a JSON array of arrays of token ids`)),
  ids('a flat list', '[1, 2, 3]', new RegExp(`${IDS}expected a JSON array of arrays`)),
  ids('no rows', '[]', new RegExp(`${IDS}no sequences, expected at least one row`)),
  ids('a zero-length row', '[[]]', new RegExp(`${IDS}row 0 is empty, expected at least one token id`)),
  ids('a string id', '[[1, "2"]]', new RegExp(`${IDS}.*row 0, position 1`)),
  ids('a fractional id', '[[1, 2.5]]', new RegExp(`${IDS}.*2\\.5.*row 0, position 1|${IDS}.*row 0, position 1.*2\\.5`)),
  ids('a negative id', '[[-1, 2]]', /token id -1 at row 0, position 0 is out of the vocabulary/),
  ids(
    'an id past the vocabulary',
    '[[1], [512]]',
    /token id 512 at row 1, position 0 is out of the vocabulary \(expected 0\.\.511\)/,
  ),
  ids('ragged rows', '[[1, 2], [3]]', /row 1 has 1 tokens, expected 2/),
  ids(
    "a row longer than the model's context",
    JSON.stringify([Array.from({ length: 129 }, () => 1)]),
    /sequence length 129 exceeds the model's context of 128 tokens/,
  ),
];
