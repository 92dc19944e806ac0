// Our encoder for GPT-2-style tokenizer.json files (no normalizer, ByteLevel pre-tokenizer, plain BPE model,
// ByteLevel or no post-processor), giving exactly the ids of @huggingface/tokenizers' encode for them, about an
// order of magnitude faster on natural text: each pre-token (word) is encoded once and its ids cached, as the
// Rust tokenizers' BPE does, and merges run over integer symbols. `ByteLevelBpe.from` accepts only the
// configurations whose every step it reproduces; ModelTokenizer uses the library for every other file.
import { BpeMerges } from './bpe-merge';

type Json = Record<string, unknown>;

/** The GPT-2 pre-tokenizer pattern, which the library's ByteLevel pre-tokenizer always uses. */
const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
/** Pre-tokens longer than this are encoded each time (a long run of spaces or a URL rarely repeats). */
const MAX_CACHED_CHARS = 128;
/** The cache starts over when it holds this many pre-tokens (the pdlm corpus has about 81k distinct ones). */
const CACHE_LIMIT = 1 << 17;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFlag = (v: unknown): boolean => v === undefined || v === null || typeof v === 'boolean';
const isUnset = (v: unknown): boolean => v === undefined || v === null || v === false || v === '';

export class ByteLevelBpe {
  private readonly cache = new Map<string, readonly number[]>();
  private readonly pattern = new RegExp(GPT2_PATTERN.source, 'gu');
  private readonly utf8 = new TextEncoder();

  private constructor(
    private readonly merges: BpeMerges,
    /** Symbol of each byte's GPT-2 character. */
    private readonly byteSymbol: Int32Array,
    /** Token id of each symbol (an added token of the same content takes over its id). */
    private readonly idOf: Int32Array,
    /** Added tokens (e.g. `<|endoftext|>`) by content, and a pattern finding them in text. */
    private readonly added: ReadonlyMap<string, number>,
    private readonly addedPattern: RegExp | undefined,
    private readonly addPrefixSpace: boolean,
    private readonly useRegex: boolean,
  ) {}

  /** The encoder for this tokenizer.json and tokenizer_config.json, or undefined when they are not a kind it reproduces exactly. */
  static from(json: Json, config: Json): ByteLevelBpe | undefined {
    const pre = json.pre_tokenizer;
    const model = json.model;
    const post = json.post_processor;
    const added = json.added_tokens;
    if (json.normalizer !== null || !isObject(pre) || pre.type !== 'ByteLevel') return undefined;
    if (!isFlag(pre.add_prefix_space) || !isFlag(pre.use_regex)) return undefined;
    if (post !== null && !(isObject(post) && post.type === 'ByteLevel')) return undefined;
    if (config.remove_space === true || !isUnset(config.do_lowercase_and_remove_accent)) return undefined;
    if (!isObject(model) || model.type !== 'BPE' || !isObject(model.vocab) || !Array.isArray(model.merges))
      return undefined;
    const plain = ['dropout', 'byte_fallback', 'ignore_merges', 'end_of_word_suffix', 'continuing_subword_suffix'];
    if (!plain.every((k) => isUnset(model[k])) || !isUnset(model.continuing_subword_prefix)) return undefined;
    if (!Array.isArray(added) || !added.every((t) => isObject(t) && isUnset(t.lstrip) && isUnset(t.rstrip)))
      return undefined;

    const vocab = Object.entries(model.vocab as Record<string, number>);
    const symbolOf = new Map(vocab.map(([token], i) => [token, i]));
    const addedIds = new Map<string, number>();
    for (const t of added as { content: string; id: number }[]) addedIds.set(t.content, t.id); // the last one wins
    const idOf = Int32Array.from(vocab, ([token, id]) => addedIds.get(token) ?? id);
    const byteSymbol = new Int32Array(256);
    for (const [byte, char] of BYTE_CHARS.entries()) {
      const s = symbolOf.get(char);
      if (s === undefined) return undefined; // the library would give the unknown token or nothing
      byteSymbol[byte] = s;
    }
    const merges = mergeTriples(model.merges, symbolOf);
    if (!merges) return undefined;
    return new ByteLevelBpe(
      new BpeMerges(vocab.length, merges),
      byteSymbol,
      idOf,
      addedIds,
      addedTokenPattern([...addedIds.keys()]),
      pre.add_prefix_space === true,
      pre.use_regex !== false,
    );
  }

  /** Token ids of `text`; added tokens written in it map to their ids. */
  encode(text: string): number[] {
    const out: number[] = [];
    const re = this.addedPattern;
    if (!re) {
      this.encodeSection(text, out);
      return out;
    }
    re.lastIndex = 0;
    let start = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      this.encodeSection(text.slice(start, m.index), out);
      out.push(this.added.get(m[0])!);
      start = m.index + m[0].length;
    }
    this.encodeSection(text.slice(start), out);
    return out;
  }

  /** Text between added tokens: pre-tokens (GPT-2 pattern), each through the cache or BPE. */
  private encodeSection(text: string, out: number[]): void {
    if (text.length === 0) return;
    if (this.addPrefixSpace && !text.startsWith(' ')) text = ` ${text}`;
    if (!this.useRegex) {
      this.encodeWord(text, out);
      return;
    }
    const re = this.pattern;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) this.encodeWord(m[0], out);
  }

  private encodeWord(word: string, out: number[]): void {
    let ids = this.cache.get(word);
    if (ids === undefined) {
      const bytes = this.utf8.encode(word); // a lone surrogate becomes U+FFFD's bytes, as in the library
      const symbols = new Int32Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) symbols[i] = this.byteSymbol[bytes[i]!]!;
      ids = Array.from(this.merges.apply(symbols), (s) => this.idOf[s]!);
      if (word.length <= MAX_CACHED_CHARS) {
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(word, ids);
      }
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
  }
}

/**
 * GPT-2's printable stand-in for each byte: the printable Latin-1 bytes stand for themselves, the other 68
 * (controls, space, DEL, NBSP, soft hyphen) take U+0100 onwards in byte order.
 */
const BYTE_CHARS: readonly string[] = (() => {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
  let shifted = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCharCode(printable(b) ? b : 0x100 + shifted++));
})();

/**
 * The merges as [left, right, merged] symbols in rank order. Like the library: the format of the first entry
 * ("a b" or ["a", "b"]) decides, and in the pair format a string entry matches nothing. Undefined when a token
 * is missing from the vocab (checkTokenizerJson refuses such files before).
 */
function mergeTriples(
  merges: unknown[],
  symbolOf: ReadonlyMap<string, number>,
): [number, number, number][] | undefined {
  const pairFormat = Array.isArray(merges[0]);
  const triples: [number, number, number][] = [];
  for (const m of merges) {
    if (pairFormat && !Array.isArray(m)) continue;
    const [a, b] = (pairFormat ? m : (m as string).split(' ', 2)) as [string, string];
    const left = symbolOf.get(a);
    const right = symbolOf.get(b);
    const merged = symbolOf.get(a + b);
    if (left === undefined || right === undefined || merged === undefined) return undefined;
    triples.push([left, right, merged]);
  }
  return triples;
}

/**
 * A pattern finding added tokens the way the library's splitter does: at the leftmost position where one starts,
 * the longest one (alternatives longest first); on UTF-16 units, so no 'u' flag. Undefined when there are none.
 */
function addedTokenPattern(contents: string[]): RegExp | undefined {
  const nonEmpty = contents.filter((c) => c.length > 0).sort((a, b) => b.length - a.length);
  if (nonEmpty.length === 0) return undefined;
  return new RegExp(nonEmpty.map((c) => c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('|'), 'g');
}
