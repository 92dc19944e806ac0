// The analysis pass's retained memory: one copy of each context window some sample still refers to (reference
// counted, dropped with its last sample), and the sparse activations of one feature on one context, shared by
// the top-N heap and the band reservoirs that hold it.

/** A feature's activations on one context: positions then values packed in one array (positions < 2^24). */
export interface SampleData {
  contextIndex: number;
  maxActivation: number;
  /** [n positions…, n values…] */
  packed: Float32Array;
  /** How many heap or reservoir slots hold it; released when it drops to 0. */
  holders: number;
}

export class ContextStore {
  private readonly contexts = new Map<number, { tokens: Int32Array; refs: number }>();
  private liveSamples = 0;

  /** Takes a reference to a context, copying its tokens the first time. */
  acquire(contextIndex: number, tokens: ArrayLike<number>): void {
    const c = this.contexts.get(contextIndex);
    if (c) c.refs++;
    else this.contexts.set(contextIndex, { tokens: Int32Array.from(tokens), refs: 1 });
  }

  release(contextIndex: number): void {
    const c = this.contexts.get(contextIndex);
    if (!c) throw new Error(`context ${contextIndex} released more often than acquired`);
    if (--c.refs === 0) this.contexts.delete(contextIndex);
  }

  tokens(contextIndex: number): Int32Array {
    const c = this.contexts.get(contextIndex);
    if (!c) throw new Error(`context ${contextIndex} is not retained`);
    return c.tokens;
  }

  /** A sample of `positions`/`values` (copied), holding its context; it starts with no holders. */
  newSample(
    contextIndex: number,
    tokens: ArrayLike<number>,
    positions: ArrayLike<number>,
    values: ArrayLike<number>,
    start: number,
    end: number,
  ): SampleData {
    const n = end - start;
    const packed = new Float32Array(2 * n);
    let max = 0;
    for (let i = 0; i < n; i++) {
      packed[i] = positions[start + i]!;
      const v = values[start + i]!;
      packed[n + i] = v;
      if (v > max) max = v;
    }
    this.acquire(contextIndex, tokens);
    this.liveSamples++;
    return { contextIndex, maxActivation: max, packed, holders: 0 };
  }

  hold(s: SampleData): void {
    s.holders++;
  }

  drop(s: SampleData): void {
    if (--s.holders === 0) {
      this.liveSamples--;
      this.release(s.contextIndex);
    }
  }

  get retainedSamples(): number {
    return this.liveSamples;
  }

  get retainedContexts(): number {
    return this.contexts.size;
  }
}

/** The packed sample as the output contract's positions/values. */
export function unpackSample(s: SampleData): { positions: Int32Array; values: Float32Array } {
  const n = s.packed.length / 2;
  // An index loop, not Int32Array.from (which walks a typed array through its iterator): the positions are exact.
  const positions = new Int32Array(n);
  for (let i = 0; i < n; i++) positions[i] = s.packed[i]!;
  return { positions, values: s.packed.slice(n) };
}
