// Benchmark: tokenizing the embedded corpus (pdlm-corpus, ~22.5M characters) for training, through
// tokenizeDocuments, with @huggingface/tokenizers against our ByteLevelBpe (ModelTokenizer), alternating
// library/ours each round with cold caches (fresh tokenizers), and checking the two token streams are identical.
// Usage: node --import tsx bench/tokenize.ts [--rounds 2] [--docs 251]   (last line of output: one JSON object)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { Document } from '../src/core/data/sources/dataset-source';
import { openDataset } from '../src/core/data/sources/open-dataset';
import { tokenizeDocuments, type TokenEncoder, type TokenStream } from '../src/core/data/token-stream';
import { ModelTokenizer } from '../src/core/lm/tokenizer';
import { bundledModelsDir } from '../src/core/resources/resource-dir';

const require = createRequire(import.meta.url);
type TokenizerClass = typeof import('@huggingface/tokenizers').Tokenizer;
const { Tokenizer } = require('@huggingface/tokenizers') as { Tokenizer: TokenizerClass };

const DIR = join(bundledModelsDir(), 'pdlm-4l-256');
const readJson = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(DIR, name), 'utf8')) as Record<string, unknown>;

/** The library exactly as ModelTokenizer used it before ByteLevelBpe. */
function libraryEncoder(): TokenEncoder {
  const inner = new Tokenizer(readJson('tokenizer.json'), readJson('tokenizer_config.json'));
  return { encode: (text, opts) => inner.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids };
}

async function* inMemory(docs: readonly Document[]): AsyncIterable<Document> {
  yield* docs;
}

async function timed(docs: readonly Document[], encoder: TokenEncoder): Promise<{ s: number; stream: TokenStream }> {
  const t0 = performance.now();
  const stream = await tokenizeDocuments(inMemory(docs), encoder, { eosId: 0 });
  return { s: (performance.now() - t0) / 1000, stream };
}

const sameStream = (a: TokenStream, b: TokenStream): boolean =>
  Buffer.from(a.tokens.buffer).equals(Buffer.from(b.tokens.buffer)) &&
  Buffer.from(a.documentStarts.buffer).equals(Buffer.from(b.documentStarts.buffer));

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '2' }, docs: { type: 'string' } },
  });
  const rounds = Number(values.rounds);
  const docs: Document[] = [];
  for await (const doc of openDataset('pdlm-corpus').documents()) docs.push(doc);
  if (values.docs !== undefined) docs.splice(Number(values.docs));
  const chars = docs.reduce((n, d) => n + d.text.length, 0);

  const library: number[] = [];
  const ours: number[] = [];
  let identical = true;
  let tokens = 0;
  for (let r = 0; r < rounds; r++) {
    const a = await timed(docs, libraryEncoder());
    const tokenizer = ModelTokenizer.load(DIR);
    if (tokenizer.engine !== 'byte-level-bpe') throw new Error(`pdlm-4l-256 encodes through ${tokenizer.engine}`);
    const b = await timed(docs, tokenizer);
    identical &&= sameStream(a.stream, b.stream);
    tokens = b.stream.tokens.length;
    library.push(a.s);
    ours.push(b.s);
    process.stderr.write(`round ${r + 1}: library ${a.s.toFixed(2)} s, ours ${b.s.toFixed(2)} s\n`);
  }
  const result = {
    name: 'tokenize_pdlm_corpus',
    date: new Date().toISOString(),
    cpu_model: cpus()[0]?.model,
    node: process.version,
    documents: docs.length,
    chars,
    tokens,
    rounds,
    library_seconds: library.map((s) => round(s, 3)),
    ours_seconds: ours.map((s) => round(s, 3)),
    library_tokens_per_second: Math.round(tokens / median(library)),
    ours_tokens_per_second: Math.round(tokens / median(ours)),
    speedup_median: round(median(library) / median(ours), 2),
    speedup_best: round(Math.min(...library) / Math.min(...ours), 2),
    identical_ids: identical,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(identical ? 0 : 1);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
