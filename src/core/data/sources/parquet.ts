// Parquet source via hyparquet (pure JS; snappy built in, other codecs need hyparquet-compressors): one document
// per row, the text in a string column (default `text`), read a batch of rows at a time.
import { basename } from 'node:path';
import { InputError } from '../../errors';
import { noDocuments, statSourceFile, type DatasetSource, type Document } from './dataset-source';
import { decodeUtf8 } from './read-text';

export interface ParquetOptions {
  textColumn?: string;
}

const ROWS_PER_READ = 4096;

export function parquetSource(path: string, opts: ParquetOptions = {}): DatasetSource {
  const textColumn = opts.textColumn ?? 'text';
  const file = statSourceFile(path);
  return {
    spec: path,
    kind: 'parquet',
    files: [file],
    settings: { textColumn },
    async *documents(): AsyncIterable<Document> {
      // Loaded on first use, so that only parquet datasets pay for it.
      const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import('hyparquet');
      let buffer: Awaited<ReturnType<typeof asyncBufferFromFile>>;
      let rows: number;
      try {
        buffer = await asyncBufferFromFile(path);
        const metadata = await parquetMetadataAsync(buffer);
        const columns = metadata.schema.slice(1).map((s) => s.name);
        if (!columns.includes(textColumn)) {
          throw new InputError(
            `${path}: no column '${textColumn}' (has ${columns.join(', ')}), expected a string column with the document text`,
          );
        }
        rows = Number(metadata.num_rows);
      } catch (err) {
        if (err instanceof InputError) throw err;
        throw new InputError(`${path}: not a readable parquet file (${(err as Error).message})`);
      }
      if (rows === 0) throw noDocuments(path, `rows with a string column '${textColumn}'`);
      for (let start = 0; start < rows; start += ROWS_PER_READ) {
        const end = Math.min(rows, start + ROWS_PER_READ);
        let batch: Record<string, unknown>[];
        try {
          batch = await parquetReadObjects({ file: buffer, columns: [textColumn], rowStart: start, rowEnd: end });
        } catch (err) {
          throw new InputError(`${path}: cannot read rows ${start}..${end - 1} (${(err as Error).message})`);
        }
        for (let i = 0; i < batch.length; i++) {
          const row = start + i;
          yield {
            id: `${basename(path)}:${row}`,
            text: textOf(batch[i]![textColumn], `${path}: row ${row}, column '${textColumn}'`),
          };
        }
      }
    },
  };
}

/** Strings as they are; raw byte arrays (BYTE_ARRAY without a UTF8 annotation) decoded as strict UTF-8. */
function textOf(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return decodeUtf8(value, where);
  throw new InputError(
    `${where} is ${value === null || value === undefined ? 'null' : `a ${typeof value}`}, expected a string`,
  );
}
