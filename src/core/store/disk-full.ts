// A full disk while the store saves: SQLite's SQLITE_FULL (the database or its WAL could not grow) or ENOSPC from a
// file written beside it. The save's own transactions roll back, so nothing was changed; the user is told that in
// one line, with what to do, instead of an internal error.
import { join } from 'node:path';
import { InputError } from '../errors';

export function isDiskFull(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e?.code === 'ENOSPC' || e?.code === 'SQLITE_FULL') return true;
  return typeof e?.message === 'string' && /\bENOSPC\b|no space left on device/i.test(e.message);
}

/** The one-line error of a save of `what` (e.g. "the analysis 'default' of 'x'") cut short by a full disk. */
export function diskFullError(storeDir: string, what: string): InputError {
  return new InputError(
    `${join(storeDir, 'studio.db')}: no space left on device while saving ${what}; nothing was changed (what was there is intact); free some space and run it again`,
  );
}
