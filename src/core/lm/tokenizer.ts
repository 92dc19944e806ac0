// Hugging Face tokenizer.json (byte-level BPE, SentencePiece-style BPE/Unigram, WordPiece) through the pure-JS
// @huggingface/tokenizers, with the folder checks and errors of the rest of the loader. GPT-2-style byte-level BPE
// files encode through our ByteLevelBpe (same ids, much faster on a corpus); decoding always uses the library.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { InputError } from '../errors';
import { ByteLevelBpe } from './byte-level-bpe';
import { checkTokenizerJson } from './tokenizer-json-check';

// The package's "import" entry points at a file it does not ship; its CommonJS build is complete.
const require = createRequire(import.meta.url);
type TokenizerClass = typeof import('@huggingface/tokenizers').Tokenizer;
const { Tokenizer: HfTokenizer } = require('@huggingface/tokenizers') as { Tokenizer: TokenizerClass };

export class ModelTokenizer {
  /** Which code encodes: our byte-level BPE, or the library for every other kind of tokenizer.json. */
  readonly engine: 'byte-level-bpe' | 'library';

  private constructor(
    private readonly inner: InstanceType<TokenizerClass>,
    private readonly fast: ByteLevelBpe | undefined,
    readonly dir: string,
  ) {
    this.engine = fast ? 'byte-level-bpe' : 'library';
  }

  static load(dir: string): ModelTokenizer {
    const file = join(dir, 'tokenizer.json');
    if (!existsSync(file))
      throw new InputError(`${dir}: no tokenizer.json (only Hugging Face fast-tokenizer files are supported)`);
    const json = checkTokenizerJson(readJson(file), file);
    const configFile = join(dir, 'tokenizer_config.json');
    const config = existsSync(configFile) ? readJson(configFile) : {};
    let inner: InstanceType<TokenizerClass>;
    try {
      inner = new HfTokenizer(json, config);
    } catch (err) {
      throw new InputError(`${file}: cannot build the tokenizer (${(err as Error).message})`);
    }
    return new ModelTokenizer(inner, ByteLevelBpe.from(json, config), dir);
  }

  /** Token ids of `text` (special tokens added as HF's `encode` does unless turned off); special tokens written in the text (e.g. `<|endoftext|>`) map to their ids. */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    // The kinds ByteLevelBpe takes have no post-processor that adds tokens, so the flag changes nothing there.
    if (this.fast) return this.fast.encode(text);
    return this.inner.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    return this.inner.decode(ids, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  /** The string of each token, for display (byte-level markers decoded). */
  tokenStrings(ids: number[]): string[] {
    return ids.map((id) => this.inner.decode([id], { skip_special_tokens: false }));
  }
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new InputError(`${file}: not valid JSON (${(err as Error).message})`);
  }
}
