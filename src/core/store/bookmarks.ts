// Bookmarked features with tags and a note (lm-saes `bookmarks`: sae_name, sae_series, feature_index, created_at,
// tags, notes), at most one per dictionary and feature.
import type Database from 'better-sqlite3';
import { InputError } from '../errors';
import { selectList } from './columns';
import { nowIso, parseJson } from './codec';
import { assertWriter, type Store } from './database';
import { checkFeatureIndex, requireDictionaryRow } from './dictionaries';
import { BOOKMARK_COLUMNS, type BookmarkRow } from './rows';

export interface Bookmark {
  dictionary: string;
  index: number;
  tags: string[];
  note: string | null;
  createdAt: string;
}

type BookmarkJoinRow = BookmarkRow & { dictionary_name: string };

const SELECT = `SELECT ${selectList(BOOKMARK_COLUMNS, 'b')}, d.name AS dictionary_name FROM bookmarks b JOIN dictionaries d ON d.id = b.dictionary_id`;

function bookmarkFromRow(row: BookmarkJoinRow): Bookmark {
  return {
    dictionary: row.dictionary_name,
    index: row.feature_index,
    tags: parseJson(row.tags, `bookmark of feature ${row.feature_index}`),
    note: row.note,
    createdAt: row.created_at,
  };
}

export function findBookmark(db: Database.Database, dictionaryId: number, index: number): Bookmark | null {
  const row = db.prepare(`${SELECT} WHERE b.dictionary_id = ? AND b.feature_index = ?`).get(dictionaryId, index) as
    BookmarkJoinRow | undefined;
  return row ? bookmarkFromRow(row) : null;
}

function cleanTags(tags: readonly string[]): string[] {
  const out = [...new Set(tags.map((t) => t.trim()))];
  if (out.some((t) => t === '')) throw new InputError('bookmark tags: a tag must not be empty');
  return out;
}

/**
 * Bookmarks a feature, or updates the bookmark it has: tags and note replace the old ones when given, and the
 * creation time is kept.
 */
export function addBookmark(
  store: Store,
  dictionary: string,
  index: number,
  options: { tags?: readonly string[]; note?: string | null } = {},
): Bookmark {
  assertWriter(store, 'saving a bookmark');
  const db = store.db;
  const dict = requireDictionaryRow(db, dictionary);
  checkFeatureIndex(dict, index);
  const tags = options.tags === undefined ? null : JSON.stringify(cleanTags(options.tags));
  db.prepare(
    `INSERT INTO bookmarks (dictionary_id, feature_index, tags, note, created_at) VALUES (@dictionary_id, @index, coalesce(@tags, '[]'), @note, @now)
    ON CONFLICT (dictionary_id, feature_index) DO UPDATE SET
      tags = coalesce(@tags, tags), note = CASE WHEN @set_note THEN @note ELSE note END`,
  ).run({
    dictionary_id: dict.id,
    index,
    tags,
    note: options.note ?? null,
    set_note: options.note === undefined ? 0 : 1,
    now: nowIso(),
  });
  return findBookmark(db, dict.id, index)!;
}

/** False when the feature was not bookmarked. */
export function removeBookmark(store: Store, dictionary: string, index: number): boolean {
  assertWriter(store, 'removing a bookmark');
  const dict = requireDictionaryRow(store.db, dictionary);
  checkFeatureIndex(dict, index);
  return (
    store.db.prepare('DELETE FROM bookmarks WHERE dictionary_id = ? AND feature_index = ?').run(dict.id, index)
      .changes > 0
  );
}

export interface ListBookmarksOptions {
  dictionary?: string;
  /** Bookmarks carrying any of these tags. */
  tags?: readonly string[];
  limit?: number;
  offset?: number;
}

/** Newest first. */
export function listBookmarks(store: Store, options: ListBookmarksOptions = {}): Bookmark[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (options.dictionary !== undefined) {
    where.push('b.dictionary_id = ?');
    params.push(requireDictionaryRow(store.db, options.dictionary).id);
  }
  if (options.tags && options.tags.length > 0) {
    where.push(
      `EXISTS (SELECT 1 FROM json_each(b.tags) t WHERE t.value IN (${options.tags.map(() => '?').join(', ')}))`,
    );
    params.push(...options.tags);
  }
  const sql = `${SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY b.created_at DESC, b.id DESC LIMIT ? OFFSET ?`;
  const rows = store.db.prepare(sql).all(...params, options.limit ?? -1, options.offset ?? 0) as BookmarkJoinRow[];
  return rows.map(bookmarkFromRow);
}
