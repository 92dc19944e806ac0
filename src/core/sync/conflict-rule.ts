// The conflict rule for interpretations edited on both sides since the last sync: the newest edit wins and the
// other is kept in the conflict log. An edit made in lm-saes's UI carries no time (it replaces `interpretation`
// with `{text}`), so it counts as made when this sync first sees it.
import { textHash } from './sync-state';

export interface InterpretationSide {
  text: string | null;
  /** ISO-8601; null when unknown (a remote edit made outside SAE Studio). */
  updatedAt: string | null;
}

export type Resolution =
  | { apply: 'none' }
  | { apply: 'local' | 'remote'; conflict: false }
  | { apply: 'local' | 'remote'; conflict: true; localTime: string | null; remoteTime: string };

/**
 * What to do with one feature's interpretation: `local` = the store's text goes to MongoDB, `remote` = MongoDB's
 * text comes into the store. `synced` is the hash of the text both sides held after the last sync (undefined:
 * never synced).
 */
export function resolveInterpretation(
  local: InterpretationSide,
  remote: InterpretationSide,
  synced: string | undefined,
  now: string,
): Resolution {
  const l = textHash(local.text);
  const r = textHash(remote.text);
  if (l === r) return { apply: 'none' };
  if (synced !== undefined && r === synced) return { apply: 'local', conflict: false };
  if (synced !== undefined && l === synced) return { apply: 'remote', conflict: false };
  if (synced === undefined && remote.text === null) return { apply: 'local', conflict: false };
  if (synced === undefined && local.text === null) return { apply: 'remote', conflict: false };
  const remoteTime = remote.updatedAt ?? now;
  const localWins = local.updatedAt !== null && local.updatedAt > remoteTime;
  return { apply: localWins ? 'local' : 'remote', conflict: true, localTime: local.updatedAt, remoteTime };
}
