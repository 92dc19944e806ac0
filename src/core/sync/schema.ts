// Checks an lm-saes document against the fields the importer reads (spec §1, §5), so that a record that does not
// match the schema is refused in one line naming the collection, the record's identity and the field.
import { ObjectId, type Document } from 'bson';
import { InputError } from '../errors';

type Kind = 'string' | 'int' | 'number' | 'objectId' | 'date' | 'array' | 'object' | 'bool';
/** A field path (dots; `[]` walks every element of an array) and what it must hold; `?` allows null or absence. */
export type FieldRule = readonly [path: string, kind: Kind, optional?: '?'];

const IS: Record<Kind, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  int: (v) => (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint',
  number: (v) => typeof v === 'number',
  objectId: (v) => v instanceof ObjectId,
  date: (v) => v instanceof Date,
  array: (v) => Array.isArray(v),
  object: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
  bool: (v) => typeof v === 'boolean',
};

const DESCRIBE: Record<Kind, string> = {
  string: 'a string',
  int: 'an integer',
  number: 'a number',
  objectId: 'an ObjectId (a GridFS reference)',
  date: 'a BSON date',
  array: 'an array',
  object: 'an object',
  bool: 'a boolean',
};

function describeValue(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a date';
  if (v instanceof ObjectId) return 'an ObjectId';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number') return `the number ${v}`;
  return `${typeof v === 'object' ? 'an object' : typeof v}`;
}

/** `features {sae_name: "x", sae_series: "default", index: 3}` — how errors name a record. */
export function recordName(collection: string, doc: Document, keys: readonly string[]): string {
  const parts = keys.map((k) => `${k}: ${JSON.stringify(doc[k] instanceof ObjectId ? String(doc[k]) : doc[k])}`);
  return `${collection} {${parts.join(', ')}}`;
}

function check(value: unknown, segments: readonly string[], kind: Kind, optional: boolean, at: string, where: string) {
  if (segments.length === 0) {
    if ((value === null || value === undefined) && optional) return;
    if (!IS[kind](value))
      throw new InputError(`${where}: field '${at}' is ${describeValue(value)}, expected ${DESCRIBE[kind]}`);
    return;
  }
  const [head, ...rest] = segments;
  if (head === '[]') {
    if (!Array.isArray(value)) return; // the array itself is checked by its own rule
    value.forEach((v, i) => check(v, rest, kind, optional, `${at}[${i}]`, where));
    return;
  }
  if (value === null || value === undefined || typeof value !== 'object') {
    if (optional) return;
    throw new InputError(`${where}: field '${at ? `${at}.` : ''}${head}' is missing, expected ${DESCRIBE[kind]}`);
  }
  check((value as Document)[head!], rest, kind, optional, at ? `${at}.${head}` : head!, where);
}

export function checkDocument(doc: Document, rules: readonly FieldRule[], where: string): void {
  for (const [path, kind, optional] of rules)
    check(doc, path.replace(/\[\]/g, '.[]').split('.'), kind, optional === '?', '', where);
}

/** What each collection's documents must hold for the importer (lm-saes's read models, §1). */
export const SCHEMAS: Record<string, { keys: readonly string[]; rules: readonly FieldRule[] }> = {
  models: {
    keys: ['name'],
    rules: [
      ['name', 'string'],
      ['cfg', 'object'],
    ],
  },
  datasets: {
    keys: ['name'],
    rules: [
      ['name', 'string'],
      ['cfg', 'object'],
    ],
  },
  saes: {
    keys: ['name', 'series'],
    rules: [
      ['name', 'string'],
      ['series', 'string'],
      ['path', 'string'],
      ['cfg', 'object'],
      ['cfg.sae_type', 'string'],
      ['model_name', 'string', '?'],
    ],
  },
  analyses: {
    keys: ['name', 'sae_name', 'sae_series'],
    rules: [
      ['name', 'string'],
      ['sae_name', 'string'],
      ['sae_series', 'string'],
    ],
  },
  features: {
    keys: ['sae_name', 'sae_series', 'index'],
    rules: [
      ['sae_name', 'string'],
      ['sae_series', 'string'],
      ['index', 'int'],
      ['analyses', 'array', '?'],
      ['analyses[].name', 'string'],
      ['analyses[].act_times', 'int'],
      ['analyses[].max_feature_acts', 'number'],
      ['analyses[].n_analyzed_tokens', 'int', '?'],
      ['analyses[].samplings', 'array', '?'],
      ['analyses[].samplings[].name', 'string'],
      ['analyses[].samplings[].feature_acts_indices', 'objectId'],
      ['analyses[].samplings[].feature_acts_values', 'objectId'],
      ['analyses[].samplings[].context_idx', 'objectId'],
      ['analyses[].samplings[].model_name', 'array'],
      ['analyses[].samplings[].dataset_name', 'array'],
      ['interpretation', 'object', '?'],
      ['interpretation.text', 'string', '?'],
    ],
  },
  bookmarks: {
    keys: ['sae_name', 'sae_series', 'feature_index'],
    rules: [
      ['sae_name', 'string'],
      ['sae_series', 'string'],
      ['feature_index', 'int'],
      ['created_at', 'date'],
      ['tags', 'array'],
      ['notes', 'string', '?'],
    ],
  },
  sae_sets: {
    keys: ['name'],
    rules: [
      ['name', 'string'],
      ['sae_series', 'string'],
      ['sae_names', 'array'],
      ['sae_names[]', 'string'],
    ],
  },
  circuits: {
    keys: ['_id'],
    rules: [
      ['_id', 'objectId'],
      ['sae_set_name', 'string'],
      ['sae_series', 'string'],
      ['prompt', 'string'],
      ['created_at', 'date'],
      ['status', 'string'],
      ['progress', 'number'],
    ],
  },
  studio_runs: {
    keys: ['id'],
    rules: [
      ['id', 'string'],
      ['run', 'object'],
      ['metrics', 'array'],
      ['checkpoints', 'array'],
    ],
  },
};

/** Throws a one-line InputError unless `doc` matches its collection's schema. */
export function validateDocument(collection: string, doc: Document): void {
  const schema = SCHEMAS[collection];
  if (!schema) return;
  checkDocument(doc, schema.rules, recordName(collection, doc, schema.keys));
}
