// The two server-less exports and their import: a mongodump folder (`<db>/<collection>.bson` of concatenated BSON
// documents + `<collection>.metadata.json` with the indexes; GridFS as `fs.files` / `fs.chunks`), which
// `mongorestore` restores, and a folder of canonical Extended JSON files (`<db>/<collection>.json`, one document
// per line: mongoimport's default, so `mongoimport --db mechinterp --collection features --file features.json`).
// Both are written into a temporary folder renamed into place at the end: a killed export leaves no half folder.
import { EJSON, deserialize, serialize, type Document, type ObjectId } from 'bson';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { InputError } from '../errors';
import { assembleFiles, gridfsDocuments } from './gridfs';
import type { DocumentSource } from './import-documents';
import { listIndexDocuments } from './indexes';
import type { DocumentSink, StoredFile } from './sink';

export type DumpFormat = 'mongodump' | 'ejson';
export const DEFAULT_DATABASE = 'mechinterp';

export interface FolderWriter {
  sink: DocumentSink;
  /** Documents written per collection (GridFS included). */
  readonly counts: Record<string, number>;
  readonly bytes: number;
  /** Writes the metadata files and renames the folder into place; returns its path. */
  finish(): string;
  abort(): void;
}

/** A sink writing one file per collection into `<dir>/<db>/` (which must not exist yet, or be empty). */
export function folderWriter(dir: string, format: DumpFormat, db = DEFAULT_DATABASE): FolderWriter {
  const final = join(dir, db);
  if (existsSync(final) && (!statSync(final).isDirectory() || readdirSync(final).length > 0))
    throw new InputError(`${final}: already exists and is not an empty folder; export into another folder`);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${db}.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp);
  const fds = new Map<string, number>();
  const counts: Record<string, number> = {};
  const seen = new Set<string>();
  const uploadDate = new Date();
  let bytes = 0;
  const ext = format === 'mongodump' ? 'bson' : 'json';
  const write = (collection: string, doc: Document) => {
    let fd = fds.get(collection);
    if (fd === undefined) fds.set(collection, (fd = openSync(join(tmp, `${collection}.${ext}`), 'w')));
    const data =
      format === 'mongodump' ? serialize(doc) : Buffer.from(`${EJSON.stringify(doc, { relaxed: false })}\n`, 'utf8');
    for (let at = 0; at < data.length;) at += writeSync(fd, data, at, data.length - at);
    bytes += data.length;
    counts[collection] = (counts[collection] ?? 0) + 1;
  };
  const sink: DocumentSink = {
    async file(file: StoredFile) {
      const hex = file.id.toHexString();
      if (seen.has(hex)) return; // content-addressed: the same array is one file
      seen.add(hex);
      const g = gridfsDocuments(file, uploadDate);
      for (const c of g.chunks) write('fs.chunks', c);
      write('fs.files', g.files);
    },
    async doc(collection, doc) {
      write(collection, doc);
    },
  };
  const close = () => {
    for (const fd of fds.values()) closeSync(fd);
    fds.clear();
  };
  return {
    sink,
    counts,
    get bytes() {
      return bytes;
    },
    finish() {
      close();
      if (format === 'mongodump')
        for (const collection of Object.keys(counts)) {
          const metadata = {
            indexes: listIndexDocuments(collection),
            uuid: createHash('sha256').update(`${db}.${collection}`).digest('hex').slice(0, 32),
            collectionName: collection,
            type: 'collection',
          };
          const text = EJSON.stringify(metadata, { relaxed: false });
          writeFileSync(join(tmp, `${collection}.metadata.json`), text);
        }
      if (existsSync(final)) rmSync(final, { recursive: true });
      renameSync(tmp, final);
      return final;
    },
    abort() {
      close();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Splits a `.bson` file into its documents (each starts with its int32 LE length). */
export function readBsonFile(path: string): Document[] {
  const data = readFileSync(path);
  const docs: Document[] = [];
  for (let at = 0; at < data.length;) {
    if (data.length - at < 5)
      throw new InputError(`${path}: ${data.length - at} trailing bytes are not a BSON document`);
    const size = data.readInt32LE(at);
    if (size < 5 || at + size > data.length)
      throw new InputError(`${path}: document at byte ${at} claims ${size} bytes, ${data.length - at} left`);
    docs.push(deserialize(data.subarray(at, at + size)));
    at += size;
  }
  return docs;
}

function readEjsonFile(path: string): Document[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: Document[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(EJSON.parse(line, { relaxed: false }) as Document);
    } catch (e) {
      throw new InputError(`${path}:${i + 1}: not an Extended JSON document (${(e as Error).message.split('\n')[0]})`);
    }
  });
  return out;
}

const hasData = (d: string, ext: string) =>
  readdirSync(d).some((f) => f.endsWith(`.${ext}`) && !f.endsWith('.metadata.json') && statSync(join(d, f)).isFile());

/** Finds the database folder and its format: `dir` itself, or its one subfolder holding `.bson` / `.json` files. */
export function detectFolder(dir: string): { format: DumpFormat; dbDir: string } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`${dir}: not a folder`);
  const candidates = [
    dir,
    ...readdirSync(dir)
      .map((f) => join(dir, f))
      .filter((p) => statSync(p).isDirectory()),
  ];
  for (const d of candidates) {
    if (hasData(d, 'bson')) return { format: 'mongodump', dbDir: d };
    if (hasData(d, 'json')) return { format: 'ejson', dbDir: d };
  }
  throw new InputError(
    `${dir}: not a mongodump folder (no <collection>.bson files in it or in a database subfolder) nor an Extended JSON export (no <collection>.json files)`,
  );
}

/** A document source over an exported folder of either format. */
export function folderSource(dir: string): DocumentSource & { format: DumpFormat; dbDir: string } {
  const { format, dbDir } = detectFolder(dir);
  const read = (collection: string): Document[] => {
    const path = join(dbDir, `${collection}.${format === 'mongodump' ? 'bson' : 'json'}`);
    if (!existsSync(path)) return [];
    return format === 'mongodump' ? readBsonFile(path) : readEjsonFile(path);
  };
  let files: Map<string, Uint8Array> | null = null;
  return {
    format,
    dbDir,
    async docs(collection) {
      return read(collection);
    },
    async files(ids: readonly ObjectId[]) {
      files ??= assembleFiles(
        read('fs.files').map((d) => deserialize(serialize(d))),
        read('fs.chunks').map((d) => deserialize(serialize(d))),
      );
      const out = new Map<string, Uint8Array>();
      for (const id of ids) {
        const b = files.get(id.toHexString());
        if (b) out.set(id.toHexString(), b);
      }
      return out;
    },
  };
}
