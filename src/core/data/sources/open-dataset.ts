// Turns a dataset spec (an embedded dataset name, or a path to a folder / .txt / .jsonl / .parquet file) into
// a DatasetSource, picking the source kind from the spec; one entry per file extension.
import { statSync } from 'node:fs';
import { extname } from 'node:path';
import { InputError } from '../../errors';
import type { DatasetSource } from './dataset-source';
import { EMBEDDED_DATASETS, embeddedSource, isEmbeddedDataset } from './embedded-corpus';
import { jsonlSource } from './jsonl';
import { parquetSource } from './parquet';
import type { InvalidUtf8Mode, NewlineMode } from './read-text';
import { txtFileSource, txtFolderSource } from './txt-files';

export interface DatasetOptions {
  /** JSON Lines: the field holding the text (default `text`). */
  textField?: string;
  /** Parquet: the column holding the text (default `text`). */
  textColumn?: string;
  /** .txt files and folders: newline handling (default `preserve`). */
  newlines?: NewlineMode;
  /** .txt files and folders: invalid UTF-8 is an error (default) or replaced by U+FFFD. */
  invalidUtf8?: InvalidUtf8Mode;
}

const FILE_KINDS: Readonly<Record<string, (path: string, opts: DatasetOptions) => DatasetSource>> = {
  '.txt': (path, opts) => txtFileSource(path, opts),
  '.jsonl': (path, opts) => jsonlSource(path, opts),
  '.parquet': (path, opts) => parquetSource(path, opts),
};

const EXPECTED = `a folder of .txt files, a ${Object.keys(FILE_KINDS).join(' / ')} file, or an embedded dataset (${Object.keys(EMBEDDED_DATASETS).join(', ')})`;

export function openDataset(spec: string, opts: DatasetOptions = {}): DatasetSource {
  if (spec.trim() === '') throw new InputError(`dataset: empty spec, expected ${EXPECTED}`);
  if (isEmbeddedDataset(spec)) return embeddedSource(spec);
  let isDir: boolean;
  try {
    isDir = statSync(spec).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'no such file or folder' : `cannot read (${code ?? (err as Error).message})`;
    throw new InputError(`${spec}: ${what}, expected ${EXPECTED}`);
  }
  if (isDir) return txtFolderSource(spec, opts);
  const open = FILE_KINDS[extname(spec).toLowerCase()];
  if (!open) throw new InputError(`${spec}: unsupported file type '${extname(spec)}', expected ${EXPECTED}`);
  return open(spec, opts);
}
