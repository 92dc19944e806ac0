// GridFS as PyMongo ≥ 4 writes it (spec §2): an `fs.files` document (chunkSize int32 261120, length int64,
// uploadDate, filename only when given, no md5) and `fs.chunks` of exactly chunkSize bytes but the last.
import { Binary, Long, type Document } from 'bson';
import { InputError } from '../errors';
import { derivedObjectId, pyInt } from './bson-values';
import type { StoredFile } from './sink';

export const CHUNK_SIZE = 255 * 1024;

export function gridfsDocuments(file: StoredFile, uploadDate: Date): { files: Document; chunks: Document[] } {
  const chunks: Document[] = [];
  for (let n = 0, at = 0; at < file.bytes.length; n++, at += CHUNK_SIZE) {
    chunks.push({
      _id: derivedObjectId('chunk', file.id.toHexString(), String(n)),
      files_id: file.id,
      n: pyInt(n),
      data: new Binary(file.bytes.subarray(at, at + CHUNK_SIZE), 0),
    });
  }
  return {
    files: {
      _id: file.id,
      ...(file.filename !== undefined ? { filename: file.filename } : {}),
      chunkSize: pyInt(CHUNK_SIZE),
      length: Long.fromNumber(file.bytes.length),
      uploadDate,
    },
    chunks,
  };
}

/** The bytes of each file from its `fs.files` and `fs.chunks` documents, checked as PyMongo checks them. */
export function assembleFiles(files: readonly Document[], chunks: readonly Document[]): Map<string, Uint8Array> {
  const byFile = new Map<string, Document[]>();
  for (const c of chunks) {
    const k = String(c.files_id);
    let list = byFile.get(k);
    if (!list) byFile.set(k, (list = []));
    list.push(c);
  }
  const out = new Map<string, Uint8Array>();
  for (const f of files) {
    const id = String(f._id);
    const length = Number(f.length);
    const size = Number(f.chunkSize);
    const parts = (byFile.get(id) ?? []).sort((a, b) => Number(a.n) - Number(b.n));
    const expected = Math.ceil(length / size);
    if (parts.length !== expected || parts.some((p, i) => Number(p.n) !== i))
      throw new InputError(
        `fs.files {_id: "${id}"}: has ${parts.length} chunks, expected ${expected} (n = 0 … ${expected - 1})`,
      );
    const bytes = new Uint8Array(length);
    parts.forEach((p, i) => {
      const data = (p.data as Binary).buffer;
      const want = i < expected - 1 ? size : length - size * (expected - 1);
      if (data.length !== want)
        throw new InputError(`fs.chunks {files_id: "${id}", n: ${i}}: ${data.length} bytes, expected ${want}`);
      bytes.set(data, i * size);
    });
    out.set(id, bytes);
  }
  return out;
}
