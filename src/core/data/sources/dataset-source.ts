// What every text source yields: documents in a fixed order, plus the files they come from (for cache keys).
import { statSync } from 'node:fs';
import { InputError } from '../../errors';

export interface Document {
  /** Stable within a source: a file name, `file:line`, `file:row`. */
  id: string;
  text: string;
}

/** A file a source reads, with what identifies its contents cheaply (the token cache key uses it). */
export interface SourceFile {
  path: string;
  size: number;
  mtimeMs: number;
}

export type SourceKind = 'txt-folder' | 'txt-file' | 'jsonl' | 'parquet' | 'embedded' | 'mixture';

export interface DatasetSource {
  /** The spec it was opened from: a path or an embedded dataset name. */
  readonly spec: string;
  readonly kind: SourceKind;
  readonly files: readonly SourceFile[];
  /** Settings that change the documents (text field, newline handling…), part of the cache key. */
  readonly settings: Readonly<Record<string, string | number>>;
  /** A fresh pass over the documents, in the source's fixed order; every pass yields the same documents. */
  documents(): AsyncIterable<Document>;
}

export function statSourceFile(path: string): SourceFile {
  try {
    const st = statSync(path);
    return { path, size: st.size, mtimeMs: st.mtimeMs };
  } catch (err) {
    throw new InputError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** The error for a pass that yielded nothing: an empty dataset is always a mistake. */
export function noDocuments(where: string, expected: string): InputError {
  return new InputError(`${where}: no documents, expected ${expected}`);
}
