// Dictionary sets (lm-saes `sae_sets`: { name, sae_series, sae_names }): the dictionaries that together replace a
// model for attribution, each with the sublayer it replaces ('attn' for a Lorsa, 'mlp' for a transcoder, CLT or
// MoLT). Members are registered dictionaries, kept in the order given.
import { InputError } from '../errors';
import { selectList } from './columns';
import { nowIso } from './codec';
import { assertWriter, type Store } from './database';
import { findDictionaryRow } from './dictionaries';
import {
  DICTIONARY_SET_COLUMNS,
  DICTIONARY_SET_MEMBER_COLUMNS,
  type DictionarySetMemberRow,
  type DictionarySetRow,
} from './rows';

export const DICTIONARY_ROLES = ['attn', 'mlp'] as const;
export type DictionaryRole = (typeof DICTIONARY_ROLES)[number];

export interface DictionarySetMember {
  dictionary: string;
  role: DictionaryRole;
}

export interface DictionarySetInput {
  name: string;
  members: readonly DictionarySetMember[];
  modelName?: string | null;
  description?: string | null;
}

export interface DictionarySet {
  name: string;
  members: DictionarySetMember[];
  modelName: string | null;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

function checkInput(store: Store, input: DictionarySetInput): void {
  if (input.name.trim() === '') throw new InputError('dictionary set: the name must not be empty');
  if (input.members.length === 0) throw new InputError(`dictionary set '${input.name}': it has no dictionaries`);
  const seen = new Set<string>();
  input.members.forEach((m, i) => {
    if (!(DICTIONARY_ROLES as readonly string[]).includes(m.role)) {
      throw new InputError(
        `dictionary set '${input.name}': members[${i}].role is '${m.role}', expected one of ${DICTIONARY_ROLES.join(', ')}`,
      );
    }
    if (seen.has(m.dictionary)) {
      throw new InputError(`dictionary set '${input.name}': dictionary '${m.dictionary}' is listed twice`);
    }
    seen.add(m.dictionary);
    if (!findDictionaryRow(store.db, m.dictionary)) {
      throw new InputError(`dictionary set '${input.name}': no dictionary named '${m.dictionary}' in ${store.file}`);
    }
  });
}

/** Creates the set, or replaces the members (and model, description) of the set of that name, in one transaction. */
export function saveDictionarySet(store: Store, input: DictionarySetInput): DictionarySet {
  assertWriter(store, 'saving a dictionary set');
  checkInput(store, input);
  const db = store.db;
  const save = db.transaction(() => {
    const now = nowIso();
    db.prepare(
      `INSERT INTO dictionary_sets (name, model_name, description, created_at, updated_at)
       VALUES (@name, @model_name, @description, @now, @now)
       ON CONFLICT (name) DO UPDATE SET model_name = @model_name, description = @description, updated_at = @now`,
    ).run({ name: input.name, model_name: input.modelName ?? null, description: input.description ?? null, now });
    const id = db.prepare('SELECT id FROM dictionary_sets WHERE name = ?').pluck().get(input.name) as number;
    db.prepare('DELETE FROM dictionary_set_members WHERE set_id = ?').run(id);
    const insert = db.prepare(
      'INSERT INTO dictionary_set_members (set_id, position, dictionary_name, role) VALUES (?, ?, ?, ?)',
    );
    input.members.forEach((m, position) => insert.run(id, position, m.dictionary, m.role));
  });
  save.immediate();
  return getDictionarySet(store, input.name)!;
}

function setFromRow(store: Store, row: DictionarySetRow): DictionarySet {
  const members = store.db
    .prepare(
      `SELECT ${selectList(DICTIONARY_SET_MEMBER_COLUMNS)} FROM dictionary_set_members WHERE set_id = ? ORDER BY position`,
    )
    .all(row.id) as DictionarySetMemberRow[];
  return {
    name: row.name,
    members: members.map((m) => ({ dictionary: m.dictionary_name, role: m.role })),
    modelName: row.model_name,
    description: row.description,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The set of that name, or null. */
export function getDictionarySet(store: Store, name: string): DictionarySet | null {
  const read = store.db.transaction(() => {
    const row = store.db
      .prepare(`SELECT ${selectList(DICTIONARY_SET_COLUMNS)} FROM dictionary_sets WHERE name = ?`)
      .get(name) as DictionarySetRow | undefined;
    return row ? setFromRow(store, row) : null;
  });
  return read();
}

/** The set of that name, or an InputError listing the sets that exist. */
export function requireDictionarySet(store: Store, name: string): DictionarySet {
  const set = getDictionarySet(store, name);
  if (set) return set;
  const names = listDictionarySets(store).map((s) => s.name);
  throw new InputError(
    `no dictionary set named '${name}' in ${store.file} (${names.length ? `it has: ${names.join(', ')}` : 'it has none yet'})`,
  );
}

/** By name. */
export function listDictionarySets(store: Store): DictionarySet[] {
  const read = store.db.transaction(() =>
    (
      store.db
        .prepare(`SELECT ${selectList(DICTIONARY_SET_COLUMNS)} FROM dictionary_sets ORDER BY name`)
        .all() as DictionarySetRow[]
    ).map((row) => setFromRow(store, row)),
  );
  return read();
}

/** False when there was no set of that name; the dictionaries themselves stay. */
export function removeDictionarySet(store: Store, name: string): boolean {
  assertWriter(store, 'removing a dictionary set');
  return store.db.prepare('DELETE FROM dictionary_sets WHERE name = ?').run(name).changes > 0;
}
