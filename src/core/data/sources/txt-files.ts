// Plain-text sources: one .txt file, or a folder of .txt files (one document per file, sorted by file name).
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InputError } from '../../errors';
import { noDocuments, statSourceFile, type DatasetSource, type Document, type SourceFile } from './dataset-source';
import { readTextFile, type TextReading } from './read-text';

export type TxtOptions = TextReading;

/** Sorted by UTF-16 code units (JS default), which equals Python's `sorted()` for the BMP names we meet. */
export function listTxtFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.txt'))
      .map((e) => e.name);
  } catch (err) {
    throw new InputError(
      `${dir}: cannot list the folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  return names.sort();
}

export function txtFolderSource(dir: string, opts: TxtOptions = {}): DatasetSource {
  const names = listTxtFiles(dir);
  if (names.length === 0)
    throw new InputError(`${dir}: no .txt files in the folder, expected at least one text document`);
  return txtDocuments(
    dir,
    'txt-folder',
    withText(
      dir,
      names.map((n) => statSourceFile(join(dir, n))),
    ),
    opts,
  );
}

export function txtFileSource(path: string, opts: TxtOptions = {}): DatasetSource {
  return txtDocuments(path, 'txt-file', withText(path, [statSourceFile(path)]), opts);
}

/** Refuses files that are all empty before any work (as a JSON Lines file of blank lines is refused). */
function withText(spec: string, files: SourceFile[]): SourceFile[] {
  if (files.every((f) => f.size === 0)) throw noDocuments(spec, 'text in at least one .txt file');
  return files;
}

/** One document per file, id = file name; shared with the embedded corpus. */
export function txtDocuments(
  spec: string,
  kind: DatasetSource['kind'],
  files: SourceFile[],
  opts: TxtOptions,
  idOf: (file: SourceFile) => string = (f) => basename(f.path),
): DatasetSource {
  const reading = { newlines: opts.newlines ?? 'preserve', invalidUtf8: opts.invalidUtf8 ?? 'error' } as const;
  return {
    spec,
    kind,
    files,
    settings: reading,
    async *documents(): AsyncIterable<Document> {
      for (const f of files) yield { id: idOf(f), text: readTextFile(f.path, reading) };
    },
  };
}
