// Canonical descriptions of what a stream or cache reads (its mask, its windows), compared on resume.
import type { TokenMaskOptions } from '../data/masks';
import type { TokenBatch } from '../lm/token-batch';

/** The mask options in a canonical JSON form (defaults filled in, ignore ids sorted). */
export function maskKey(mask: TokenMaskOptions): string {
  return JSON.stringify({
    exclude_first_position: mask.excludeFirstPosition ?? true,
    bos_id: mask.bosId ?? null,
    pad_id: mask.padId ?? null,
    ignore_token_ids: [...new Set(mask.ignoreTokenIds ?? [])].sort((a, b) => a - b),
  });
}

/** FNV-1a over the window ids: a resumed stream must read the same windows in the same order. */
export function windowsDigest(windows: TokenBatch): string {
  let h = 0x811c9dc5;
  const ids = windows.ids;
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i]!;
    h = Math.imul(h ^ (v & 0xff), 0x01000193);
    h = Math.imul(h ^ ((v >>> 8) & 0xff), 0x01000193);
    h = Math.imul(h ^ ((v >>> 16) & 0xffff), 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
