import { describe, expect, it } from 'vitest';
import { countKept, keptPositions, tokenMask } from '../../../src/core/data/masks';

// Two windows of 5: BOS = 1, pad = 2, an EOS/BOS-like 1 inside row 0, an ignored id 9 in row 1.
const batch = { ids: Int32Array.from([1, 5, 1, 6, 7, /**/ 1, 9, 8, 2, 2]), batch: 2, seq: 5 };

describe('token masks', () => {
  it('drop position 0 by default and nothing else', () => {
    expect([...tokenMask(batch)]).toEqual([0, 1, 1, 1, 1, 0, 1, 1, 1, 1]);
  });

  it('drop the BOS id anywhere, pad ids and ignore_token_ids', () => {
    const mask = tokenMask(batch, { bosId: 1, padId: 2, ignoreTokenIds: [9] });
    expect([...mask]).toEqual([0, 1, 0, 1, 1, 0, 0, 1, 0, 0]);
    expect(countKept(mask)).toBe(4);
    const kept = keptPositions(mask, batch.seq);
    expect([...kept.window]).toEqual([0, 0, 0, 1]);
    expect([...kept.position]).toEqual([1, 3, 4, 2]);
  });

  it('can keep position 0 when asked', () => {
    expect([...tokenMask(batch, { excludeFirstPosition: false, padId: 2 })]).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  });
});
