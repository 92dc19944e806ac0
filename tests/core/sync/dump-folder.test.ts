// Export → import through a mongodump folder and through Extended JSON: a store holding every kind of record comes
// back equal, table by table (every feature's samplings, arrays bit for bit); the .bson files are sequences of
// BSON documents whose count and _ids are the documents exported; GridFS chunks are 255 KiB; bad folders and
// records that do not match lm-saes's schema are refused in one line naming them.
import { EJSON, deserializeStream, type Document } from 'bson';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportMongoFolder, importMongoFolder } from '../../../src/cli/commands/export-mongo';
import { InputError } from '../../../src/core/errors';
import { studioHome } from '../../../src/core/home';
import { getDictionary, openStore } from '../../../src/core/store';
import { exportDocuments } from '../../../src/core/sync/export-documents';
import type { DocumentSink } from '../../../src/core/sync/sink';
import { useTempDirs } from '../store/helpers';
import { buildFullStore, snapshotStore } from './store-fixture';

const tempDir = useTempDirs();

async function captured(dir: string): Promise<Map<string, Document[]>> {
  const out = new Map<string, Document[]>();
  const push = (c: string, d: Document) => out.set(c, [...(out.get(c) ?? []), d]);
  const seen = new Set<string>();
  const sink: DocumentSink = {
    async file(f) {
      if (!seen.has(f.id.toHexString())) push('fs.files', { _id: f.id });
      seen.add(f.id.toHexString());
    },
    async doc(c, d) {
      push(c, d);
    },
  };
  const store = openStore({ dir, readonly: true });
  await exportDocuments(store, sink);
  store.close();
  return out;
}

async function expectInputError(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(InputError);
  expect((e as Error).message).toMatch(pattern);
  expect((e as Error).message).not.toContain('\n');
}

describe('mongodump and Extended JSON folders', () => {
  const source = mkdtempSync(join(tmpdir(), 'sae-sync-source-'));
  let before: Record<string, unknown[]>;
  beforeAll(() => {
    buildFullStore(source);
    before = snapshotStore(source);
  });
  afterAll(() => rmSync(source, { recursive: true, force: true }));

  it.each(['mongodump', 'ejson'] as const)('export → import through %s gives back an equal store', async (format) => {
    const out = tempDir();
    const summary = await exportMongoFolder(studioHome(source), format, out, {});
    expect(summary.folder).toBe(join(out, 'mechinterp'));
    const target = tempDir();
    const imported = await importMongoFolder(studioHome(target), out);
    expect(imported.format).toBe(format);
    expect(imported.counts).toMatchObject({
      saes: 5,
      analyses: 6,
      sae_sets: 1,
      circuits: 2,
      studio_runs: 1,
      bookmarks: 2,
    });
    const after = snapshotStore(target);
    expect(Object.keys(after)).toEqual(Object.keys(before));
    for (const table of Object.keys(before)) expect(after[table], table).toEqual(before[table]);
    expect(before.feature_samples!.length).toBeGreaterThan(50);
  });

  it('writes .bson files of concatenated documents whose count and _ids are those exported, with mongodump metadata', async () => {
    const out = tempDir();
    const summary = await exportMongoFolder(studioHome(source), 'mongodump', out, {});
    const expected = await captured(source);
    const files = readdirSync(summary.folder).sort();
    for (const [collection, docs] of expected) {
      expect(files).toContain(`${collection}.bson`);
      const data = readFileSync(join(summary.folder, `${collection}.bson`));
      const parsed: Document[] = [];
      const end = deserializeStream(data, 0, docs.length, parsed, 0, {});
      expect(end, `${collection}: the documents fill the file exactly`).toBe(data.length);
      expect(parsed.map((d) => String(d._id))).toEqual(docs.map((d) => String(d._id)));
      expect(summary.counts[collection]).toBe(docs.length);
      const metadata = EJSON.parse(
        readFileSync(join(summary.folder, `${collection}.metadata.json`), 'utf8'),
      ) as Document;
      expect(Object.keys(metadata)).toEqual(['indexes', 'uuid', 'collectionName', 'type']);
      expect(metadata).toMatchObject({ collectionName: collection, type: 'collection' });
      expect(metadata.uuid).toMatch(/^[0-9a-f]{32}$/);
      expect(metadata.indexes[0]).toMatchObject({ name: '_id_', key: { _id: 1 } });
    }
    const features = JSON.parse(readFileSync(join(summary.folder, 'features.metadata.json'), 'utf8'));
    expect(features.indexes[1]).toEqual({
      v: { $numberInt: '2' },
      key: { sae_name: { $numberInt: '1' }, sae_series: { $numberInt: '1' }, index: { $numberInt: '1' } },
      name: 'sae_name_1_sae_series_1_index_1',
      unique: true,
    });
    const chunks = JSON.parse(readFileSync(join(summary.folder, 'fs.chunks.metadata.json'), 'utf8'));
    expect(chunks.indexes[1]).toMatchObject({ name: 'files_id_1_n_1', unique: true });
    const bookmarks = JSON.parse(readFileSync(join(summary.folder, 'bookmarks.metadata.json'), 'utf8'));
    expect(bookmarks.indexes[2]).toMatchObject({ name: 'created_at_-1', key: { created_at: { $numberInt: '-1' } } });
  });

  it('puts weights in GridFS in 255 KiB chunks when asked, and writes them into the importing home', async () => {
    const out = tempDir();
    const summary = await exportMongoFolder(studioHome(source), 'mongodump', out, {
      gridfsWeights: true,
      only: ['dictionaries'],
    });
    const target = tempDir();
    await importMongoFolder(studioHome(target), out);
    const store = openStore({ dir: target, readonly: true });
    const path = getDictionary(store, 'toy-sae').path;
    store.close();
    expect(path).toBe(join(target, 'dictionaries', 'toy-sae'));
    const original = readFileSync(join(source, 'dictionaries', 'toy-sae', 'sae_weights.safetensors'));
    expect(readFileSync(join(path, 'sae_weights.safetensors')).equals(original)).toBe(true);
    const chunkData = readFileSync(join(summary.folder, 'fs.chunks.bson'));
    const chunks: Document[] = [];
    deserializeStream(chunkData, 0, summary.counts['fs.chunks']!, chunks, 0, { promoteValues: false });
    const sizes = chunks.map((c) => c.data.buffer.length).filter((n) => n > 5000);
    expect(sizes).toEqual([261120, 300_000 - 261120]);
    expect(summary.counts.features).toBeUndefined();
  });

  it('refuses a folder that is neither a mongodump nor an Extended JSON export', async () => {
    const empty = tempDir();
    writeFileSync(join(empty, 'notes.txt'), 'hello');
    await expectInputError(
      importMongoFolder(studioHome(tempDir()), empty),
      /not a mongodump folder .*nor an Extended JSON export/,
    );
  });

  it('refuses records that do not match the schema, naming the record and the field', async () => {
    const out = tempDir();
    const summary = await exportMongoFolder(studioHome(source), 'ejson', out, { only: ['features'] });
    const file = join(summary.folder, 'features.json');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const doc = EJSON.parse(lines[2]!, { relaxed: false }) as Document;
    doc.analyses[0].act_times = 'many';
    lines[2] = EJSON.stringify(doc, { relaxed: false });
    writeFileSync(file, lines.join('\n'));
    await expectInputError(
      importMongoFolder(studioHome(tempDir()), out),
      new RegExp(
        `^features \\{sae_name: "${doc.sae_name}", sae_series: "default", index: ${Number(doc.index)}\\}: field 'analyses\\[0\\]\\.act_times' is the string "many", expected an integer$`,
      ),
    );
    const bad = join(tempDir(), 'mechinterp');
    mkdirSync(bad);
    writeFileSync(
      join(bad, 'bookmarks.json'),
      '{"sae_name":"x","sae_series":"default","feature_index":{"$numberInt":"1"},"created_at":"yesterday","tags":[]}\n',
    );
    await expectInputError(
      importMongoFolder(studioHome(tempDir()), bad),
      /^bookmarks \{sae_name: "x", sae_series: "default", feature_index: 1\}: field 'created_at' is the string "yesterday", expected a BSON date$/,
    );
  });
});
