// BPE merges over one word of symbols: repeatedly merge the adjacent pair of lowest rank, the leftmost first
// among equal ranks, until no adjacent pair has a rank. Symbols are small integers (our index of each vocab
// string), pairs are looked up in one Map keyed by left * symbolCount + right. A linked list over the word and a
// binary min-heap of (rank, position) make a word of n symbols O(n log n), so a long run of spaces stays cheap.

export class BpeMerges {
  /** rank (the merge's index in tokenizer.json) of each merge; key = left * symbolCount + right. */
  private readonly rankOf = new Map<number, number>();
  /** The merged symbol of the merge of each rank. */
  private readonly resultOf: Int32Array;

  constructor(
    readonly symbolCount: number,
    merges: readonly (readonly [left: number, right: number, merged: number])[],
  ) {
    this.resultOf = new Int32Array(merges.length);
    merges.forEach(([left, right, merged], rank) => {
      // A pair listed twice takes the rank of its last listing, as the reference BPE's map of ranks does.
      this.rankOf.set(left * symbolCount + right, rank);
      this.resultOf[rank] = merged;
    });
  }

  /** Rank of the pair (left, right), or -1 when it is not a merge. */
  rank(left: number, right: number): number {
    return this.rankOf.get(left * this.symbolCount + right) ?? -1;
  }

  /** The symbols of `word` after every merge that applies, in order. */
  apply(word: Int32Array): Int32Array {
    const n = word.length;
    if (n < 2) return word;
    const sym = Int32Array.from(word);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new MinHeap(n);
    const push = (pos: number): void => {
      const r = this.rank(sym[pos]!, sym[next[pos]!]!);
      if (r >= 0) heap.push(r * n + pos);
    };
    for (let i = 0; i + 1 < n; i++) push(i);
    while (heap.size > 0) {
      const key = heap.pop();
      const pos = key % n;
      const r = (key - pos) / n;
      const right = next[pos]!;
      // A stale entry: its pair was merged away or changed since it was pushed. A removed position has next -2;
      // the pair now at pos holds this rank exactly when it is the pair that was pushed (one pair per rank).
      if (right < 0 || this.rank(sym[pos]!, sym[right]!) !== r) continue;
      sym[pos] = this.resultOf[r]!;
      const after = next[right]!;
      next[pos] = after;
      next[right] = -2;
      if (after >= 0) prev[after] = pos;
      if (prev[pos]! >= 0) push(prev[pos]!);
      if (after >= 0) push(pos);
    }
    let count = 0;
    for (let i = 0; i >= 0; i = next[i]!) count++;
    const out = new Int32Array(count);
    for (let i = 0, k = 0; i >= 0; i = next[i]!) out[k++] = sym[i]!;
    return out;
  }
}

/** A binary min-heap of non-negative numbers (exact integers up to 2^53). */
class MinHeap {
  private items: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.items = new Float64Array(Math.max(capacity, 4));
  }

  push(v: number): void {
    if (this.size === this.items.length) {
      const grown = new Float64Array(this.items.length * 2);
      grown.set(this.items);
      this.items = grown;
    }
    const a = this.items;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= v) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = v;
  }

  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a[--this.size]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= this.size) break;
      if (child + 1 < this.size && a[child + 1]! < a[child]!) child++;
      if (a[child]! >= last) break;
      a[i] = a[child]!;
      i = child;
    }
    a[i] = last;
    return top;
  }
}
