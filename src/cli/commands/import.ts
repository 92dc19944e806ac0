// `sae-studio import DIR`: registers a dictionary trained elsewhere (an lm-saes folder of any kind, or a SAELens
// folder) in the store, or reads a mongodump / Extended JSON folder of lm-saes documents (`export --to mongodump|ejson`,
// or a lab's own dump) into it. The folder formats it reads are the table below, tried in order.
import { existsSync, statSync } from 'node:fs';
import { InputError } from '../../core/errors';
import { studioHome, type StudioHome } from '../../core/home';
import { dictionaryFolderFormat, importDictionaryFolder } from '../../core/interop/import-dictionary';
import { openStore } from '../../core/store';
import { detectFolder } from '../../core/sync/dump-folder';
import type { Command, OptionSpec } from '../command';
import { importMongoFolder } from './export-mongo';

type Values = Record<string, string | boolean | undefined>;

export interface ImportSource {
  summary: string;
  options: Record<string, OptionSpec>;
  /** Whether `dir` is this source's folder (an InputError from the last source says what was expected). */
  detect(dir: string): boolean;
  run(ctx: { home: StudioHome; dir: string; values: Values }): string | Promise<string>;
}

const str = (v: string | boolean | undefined): string | undefined =>
  typeof v === 'string' && v !== '' ? v : undefined;

const dictionaryFolder: ImportSource = {
  summary: 'an lm-saes dictionary folder (any kind) or a SAELens folder (cfg.json + sae_weights.safetensors)',
  options: {
    name: { type: 'string', valueName: 'NAME', help: "dictionary name in the store (default: the folder's name)" },
    series: { type: 'string', valueName: 'S', help: 'lm-saes series of the dictionary (default: default)' },
    replace: { type: 'boolean', help: 'replace a dictionary of the same name' },
  },
  detect: (dir) => dictionaryFolderFormat(dir) !== undefined,
  run({ home, dir, values }) {
    const store = openStore({ dir: home.root });
    try {
      const r = importDictionaryFolder(store, home, dir, {
        name: str(values.name),
        series: str(values.series),
        replace: values.replace === true,
      });
      const d = r.dictionary;
      const pickles = r.analysisPickles.length
        ? `; not read: ${r.analysisPickles.join(', ')} (Python pickles; bring analyses in through lm-saes's MongoDB)`
        : '';
      return `imported ${r.format} ${d.saeType} '${d.name}' (d_sae ${d.dSae}) to ${d.path}; analyses: none (lm-saes keeps them in MongoDB, SAELens has none)${pickles}`;
    } finally {
      store.close();
    }
  },
};

const mongoFolder: ImportSource = {
  summary: 'a mongodump folder (<collection>.bson) or an Extended JSON export (<collection>.json) of lm-saes documents',
  options: {},
  detect: (dir) => detectFolder(dir) !== undefined,
  async run({ home, dir }) {
    const r = await importMongoFolder(home, dir);
    const counts = Object.entries(r.counts)
      .filter(([, n]) => (n ?? 0) > 0)
      .map(([c, n]) => `${c} ${n}`)
      .join(', ');
    return `imported the ${r.format} folder ${r.folder}: ${counts || 'nothing new'}`;
  },
};

/** The folder formats `import` reads, tried in order (a dictionary folder holds .json files too, so it comes first). */
export const IMPORT_SOURCES: ImportSource[] = [dictionaryFolder, mongoFolder];

function sourceOptions(): Record<string, OptionSpec> {
  return Object.assign({}, ...IMPORT_SOURCES.map((s) => s.options)) as Record<string, OptionSpec>;
}

export const importCommand: Command = {
  name: 'import',
  summary:
    'Register a dictionary trained elsewhere (lm-saes or SAELens folder), or read a mongodump / Extended JSON folder, into the store.',
  usage: `import DIR [--name NAME] [--series S] [--replace]\n${IMPORT_SOURCES.map((s) => `  DIR: ${s.summary}`).join('\n')}`,
  options: sourceOptions(),
  positionals: 1,
  async run(values, positionals) {
    const dir = positionals[0];
    if (!dir) throw new InputError("missing DIR (see 'sae-studio import --help')");
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`${dir}: no such folder`);
    const refusals: string[] = [];
    for (const source of IMPORT_SOURCES) {
      try {
        if (!source.detect(dir)) continue;
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        refusals.push(e.message.startsWith(`${dir}: `) ? e.message.slice(dir.length + 2) : e.message);
        continue;
      }
      process.stdout.write(`${await source.run({ home: studioHome(), dir, values })}\n`);
      return;
    }
    throw new InputError(`${dir}: ${refusals.join('; ') || "not a folder 'sae-studio import' reads"}`);
  },
};
