// The table of `sae-studio export --to TARGET` targets: each declares its positional arguments, its own options and
// what it runs, so a new target (MongoDB's mongodump / ejson folders) is one entry here and nothing else.
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
};
