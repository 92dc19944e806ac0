// The table of `sae-studio export --to TARGET` targets: each declares its positional arguments, its own options and
// what it runs, so a new target is one entry here and nothing else.
import { resolve } from 'node:path';
import { InputError } from '../../core/errors';
import {
  exportDictionaryToLmSaes,
  exportDictionaryToSaeLens,
  exportGraphJson,
  type ExportResult,
} from '../../core/interop/export-dictionary';
import { exportLmSaesRunConfig } from '../../core/interop/export-run-config';
import type { StudioHome } from '../../core/home';
import { openStore, type Store } from '../../core/store';
import type { OptionSpec } from '../command';
import { exportMongoFolder } from './export-mongo';
import { parseOnly } from './sync';

export type OptionValues = Record<string, string | boolean | undefined>;

export interface ExportTarget {
  /** The positional arguments, e.g. ['DIR'] or ['RUN', 'DIR']. */
  args: readonly string[];
  /** The rest of its usage line, e.g. '--dictionary NAME'. */
  usage: string;
  summary: string;
  /** Options this target reads (merged into the command's options; a name shared by two targets must agree). */
  options: Record<string, OptionSpec>;
  run(ctx: { home: StudioHome; values: OptionValues; args: string[] }): ExportResult | Promise<ExportResult>;
}

const DICTIONARY_OPTION: Record<string, OptionSpec> = {
  dictionary: { type: 'string', valueName: 'NAME', help: 'dictionary name in the store (saelens, lm-saes)' },
};

function required(values: OptionValues, name: string, target: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new InputError(`--to ${target} needs --${name}`);
  return v;
}

const MONGO_OPTIONS: Record<string, OptionSpec> = {
  series: { type: 'string', valueName: 'S', help: 'only dictionaries of this lm-saes series (mongodump, ejson)' },
  only: {
    type: 'string',
    valueName: 'LIST',
    help: 'comma-separated: dictionaries, analyses, features, bookmarks, circuits (mongodump, ejson)',
  },
  'gridfs-weights': { type: 'boolean', help: "the dictionaries' weights into GridFS as well (mongodump, ejson)" },
  db: {
    type: 'string',
    valueName: 'NAME',
    help: "database folder name (mongodump, ejson; default lm-saes's mechinterp)",
  },
};

/** The store as lm-saes's MongoDB documents in a folder mongorestore (mongodump) or mongoimport (ejson) reads. */
function mongoTarget(format: 'mongodump' | 'ejson', summary: string): ExportTarget {
  return {
    args: ['DIR'],
    usage: '[--series S] [--only LIST] [--gridfs-weights] [--db NAME]',
    summary,
    options: MONGO_OPTIONS,
    run: async ({ home, values, args }) => {
      const r = await exportMongoFolder(home, format, resolve(args[0]!), {
        series: typeof values.series === 'string' ? values.series : undefined,
        only: parseOnly(typeof values.only === 'string' ? values.only : undefined),
        gridfsWeights: values['gridfs-weights'] === true,
        db: typeof values.db === 'string' ? values.db : undefined,
      });
      const n = Object.values(r.counts).reduce((a, b) => a + b, 0);
      return { what: `${n.toLocaleString('en-US')} documents (${format})`, path: r.folder };
    },
  };
}

function withReader<T>(home: StudioHome, fn: (store: Store) => T): T {
  const store = openStore({ dir: home.root, readonly: true });
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

export const EXPORT_TARGETS: Record<string, ExportTarget> = {
  saelens: {
    args: ['DIR'],
    usage: '--dictionary NAME',
    summary: 'a dictionary as SAELens loads it (cfg.json + sae_weights.safetensors; SAEs and transcoders)',
    options: DICTIONARY_OPTION,
    run: ({ home, values, args }) =>
      withReader(home, (s) => exportDictionaryToSaeLens(s, required(values, 'dictionary', 'saelens'), args[0]!)),
  },
  'lm-saes': {
    args: ['DIR'],
    usage: '--dictionary NAME',
    summary: "a dictionary of any kind as lm-saes's from_pretrained loads it (config.json, weights, lm_config.json)",
    options: DICTIONARY_OPTION,
    run: ({ home, values, args }) =>
      withReader(home, (s) => exportDictionaryToLmSaes(s, required(values, 'dictionary', 'lm-saes'), args[0]!)),
  },
  'graph-json': {
    args: ['FILE'],
    usage: '--graph NAME|UID',
    summary: "an attribution graph as the JSON circuit-tracer's and Neuronpedia's graph views load",
    options: { graph: { type: 'string', valueName: 'NAME|UID', help: 'graph name or uid in the store (graph-json)' } },
    run: ({ home, values, args }) =>
      withReader(home, (s) => exportGraphJson(s, required(values, 'graph', 'graph-json'), args[0]!)),
  },
  'lm-saes-config': {
    args: ['RUN', 'DIR'],
    usage: '',
    summary: "a run's training config as lm-saes's Python runner takes it (settings JSON + train.py)",
    options: {},
    run: ({ home, args }) => withReader(home, (s) => exportLmSaesRunConfig(s, home, args[0]!, resolve(args[1]!))),
  },
  mongodump: mongoTarget(
    'mongodump',
    "the store as lm-saes's MongoDB documents, a folder mongorestore reads (<db>/<collection>.bson + .metadata.json, GridFS)",
  ),
  ejson: mongoTarget(
    'ejson',
    "the store as lm-saes's MongoDB documents in canonical Extended JSON, one file per collection for mongoimport",
  ),
};
