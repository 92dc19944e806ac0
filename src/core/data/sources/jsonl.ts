// JSON Lines source: one JSON object per line, the document text in a string field (default `text`).
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { TextDecoder } from 'node:util';
import { InputError } from '../../errors';
import { noDocuments, statSourceFile, type DatasetSource, type Document } from './dataset-source';

export interface JsonlOptions {
  textField?: string;
}

export function jsonlSource(path: string, opts: JsonlOptions = {}): DatasetSource {
  const textField = opts.textField ?? 'text';
  const file = statSourceFile(path);
  return {
    spec: path,
    kind: 'jsonl',
    files: [file],
    settings: { textField },
    async *documents(): AsyncIterable<Document> {
      let count = 0;
      for await (const { line, number } of readLines(path)) {
        if (line.trim() === '') continue; // blank lines (a trailing newline, spacing) carry no document
        yield { id: `${basename(path)}:${number}`, text: textOf(line, textField, `${path}:${number}`) };
        count++;
      }
      if (count === 0) throw noDocuments(path, `one JSON object per line with a string field '${textField}'`);
    },
  };
}

function textOf(line: string, field: string, where: string): string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new InputError(`${where}: not valid JSON (${(err as Error).message}), expected one JSON object per line`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(
      `${where}: a JSON ${Array.isArray(value) ? 'array' : typeof value}, expected an object with a string field '${field}'`,
    );
  }
  const text = (value as Record<string, unknown>)[field];
  if (text === undefined)
    throw new InputError(
      `${where}: no field '${field}', expected a string field '${field}' (set the text field if it has another name)`,
    );
  if (typeof text !== 'string')
    throw new InputError(
      `${where}: field '${field}' is ${text === null ? 'null' : `a ${typeof text}`}, expected a string`,
    );
  return text;
}

/** Lines of a UTF-8 file (split on `\n`; JSON ignores a trailing `\r`), decoded strictly, without reading it whole. */
async function* readLines(path: string): AsyncIterable<{ line: string; number: number }> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let rest = '';
  let number = 0;
  const stream = createReadStream(path);
  try {
    for await (const chunk of stream) {
      rest += decode(decoder, chunk as Buffer, path, true);
      const lines = rest.split('\n');
      rest = lines.pop()!;
      for (const line of lines) yield { line, number: ++number };
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  } finally {
    stream.destroy();
  }
  rest += decode(decoder, new Uint8Array(0), path, false);
  if (rest !== '') yield { line: rest, number: ++number };
}

function decode(decoder: TextDecoder, bytes: Uint8Array, path: string, stream: boolean): string {
  try {
    return decoder.decode(bytes, { stream });
  } catch {
    throw new InputError(`${path}: not valid UTF-8 text, expected a UTF-8 encoded JSON Lines file`);
  }
}
