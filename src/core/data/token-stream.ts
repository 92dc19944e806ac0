// The token stream of a dataset: for each document in order, encode(text) without special tokens, then the
// EOS id. Documents are concatenated; windows are cut from the stream afterwards (windows.ts).
import type { Document } from './sources/dataset-source';

/** What the stream needs of a tokenizer (ModelTokenizer fits). */
export interface TokenEncoder {
  encode(text: string, opts: { addSpecialTokens?: boolean }): number[];
}

export interface TokenStream {
  tokens: Int32Array;
  /** Offset in `tokens` of each document's first token; a document's EOS sits just before the next start. */
  documentStarts: Int32Array;
}

export interface TokenizeProgress {
  documents: number;
  tokens: number;
  /** Characters (UTF-16 units) of text tokenized so far. */
  chars: number;
}

export async function tokenizeDocuments(
  documents: AsyncIterable<Document>,
  tokenizer: TokenEncoder,
  opts: { eosId: number; onProgress?: (p: TokenizeProgress) => void },
): Promise<TokenStream> {
  const tokens = new GrowableInt32();
  const starts = new GrowableInt32();
  let chars = 0;
  for await (const doc of documents) {
    starts.push(tokens.length);
    tokens.pushAll(tokenizer.encode(doc.text, { addSpecialTokens: false }));
    tokens.push(opts.eosId);
    chars += doc.text.length;
    opts.onProgress?.({ documents: starts.length, tokens: tokens.length, chars });
  }
  return { tokens: tokens.toArray(), documentStarts: starts.toArray() };
}

/** An Int32Array that doubles its capacity as it fills. */
class GrowableInt32 {
  private buf = new Int32Array(1 << 16);
  length = 0;

  push(v: number): void {
    if (this.length === this.buf.length) this.grow(this.length + 1);
    this.buf[this.length++] = v;
  }

  pushAll(vs: readonly number[]): void {
    if (this.length + vs.length > this.buf.length) this.grow(this.length + vs.length);
    this.buf.set(vs, this.length);
    this.length += vs.length;
  }

  toArray(): Int32Array {
    return this.buf.slice(0, this.length);
  }

  private grow(min: number): void {
    let cap = this.buf.length * 2;
    while (cap < min) cap *= 2;
    const next = new Int32Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
}
