// Shared helpers for the core/activations tests: synthetic windows for the tiny gpt2 fixture, collecting
// batches, comparing batches bit for bit, temp folders.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { Mt19937 } from '../../../src/core/data/random/mt19937';
import type { TokenBatch } from '../../../src/core/lm/token-batch';
import type { ActivationBatch, ActivationStream } from '../../../src/core/activations';

export const BOS = 0;
export const PAD = 7;
export const IGNORED = 9;

/** n windows of S tokens (vocab 512): BOS first, random ids, a few PAD and IGNORED ids scattered in. */
export function syntheticWindows(n: number, S: number, seed = 1): TokenBatch {
  const rng = new Mt19937(seed);
  const ids = new Int32Array(n * S);
  for (let i = 0; i < ids.length; i++) {
    const u = rng.nextUint32();
    ids[i] = i % S === 0 ? BOS : u % 50 === 0 ? PAD : u % 50 === 1 ? IGNORED : 10 + (u % 500);
  }
  return { ids, batch: n, seq: S };
}

export async function take<S>(stream: ActivationStream<S>, count = Infinity): Promise<ActivationBatch[]> {
  const out: ActivationBatch[] = [];
  while (out.length < count) {
    const b = await stream.next();
    if (!b) break;
    out.push(b);
  }
  return out;
}

/** Row i's (window, position) in a batch's origins, which must be there. */
export function originOf(b: ActivationBatch, i: number): [number, number] {
  const w = b.origin?.[2 * i];
  const p = b.origin?.[2 * i + 1];
  if (w === undefined || p === undefined) throw new Error(`batch of ${b.rows} rows: no origin for row ${i}`);
  return [w, p];
}

/** A batch's activations at one hook point, which must be there. */
export function actsOf(b: ActivationBatch, hook: string): Float32Array {
  const a = b.acts[hook];
  if (!a) throw new Error(`batch has no activations for ${hook} (has ${Object.keys(b.acts).join(', ')})`);
  return a;
}

/** A typed array's bytes; an absent one has none. */
const bytesOf = (a: ArrayBufferView | undefined): Buffer =>
  a ? Buffer.from(a.buffer, a.byteOffset, a.byteLength) : Buffer.alloc(0);

/** Same rows, same origins, same bits. */
export function expectSameBatches(actual: ActivationBatch[], expected: ActivationBatch[], label: string): void {
  expect(actual.length, `${label}: batch count`).toBe(expected.length);
  actual.forEach((b, i) => {
    const want = expected[i];
    if (!want) throw new Error(`${label}: no expected batch ${i}`);
    expect(b.rows, `${label}: batch ${i} rows`).toBe(want.rows);
    expect(bytesOf(b.origin).equals(bytesOf(want.origin)), `${label}: batch ${i} origins`).toBe(true);
    for (const [h, acts] of Object.entries(want.acts)) {
      const a = b.acts[h];
      expect(a?.length, `${label}: batch ${i} ${h} length`).toBe(acts.length);
      expect(bytesOf(a).equals(bytesOf(acts)), `${label}: batch ${i} ${h} bits`).toBe(true);
    }
  });
}

/** A fresh temp folder per call, removed after the test. */
export function useTempDirs(): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'sae-acts-'));
    made.push(dir);
    return dir;
  };
}
