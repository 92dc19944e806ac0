// A disk cache of token streams: `<cacheDir>/<key>.safetensors` (I32 `tokens`, `document_starts`) and
// `<key>.json` (what was tokenized), both written atomically, the JSON last, so a present JSON means a complete
// entry. The key hashes the dataset spec and settings, each file's path, size and mtime, the tokenizer files
// and the EOS id: change any of them and the stream is tokenized again.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../errors';
import { sweepDeadTempFiles, writeFileAtomic } from '../util/atomic-file';
import { openSafetensors, writeSafetensors } from '../tensor/safetensors';
import type { DatasetSource } from './sources/dataset-source';
import { tokenizeDocuments, type TokenEncoder, type TokenStream, type TokenizeProgress } from './token-stream';

const FORMAT = 'sae-studio/token-stream@1';

export interface TokenCacheOptions {
  /** Where cached streams live, e.g. `$SAE_STUDIO_HOME/tokens`; created when missing. */
  cacheDir: string;
  eosId: number;
  onProgress?: (p: TokenizeProgress) => void;
}

export interface TokenCacheMeta {
  format: typeof FORMAT;
  key: string;
  spec: string;
  kind: string;
  settings: Record<string, string | number>;
  files: { path: string; size: number; mtimeMs: number }[];
  tokenizer: { dir: string; sha256: string };
  eosId: number;
  tokens: number;
  documents: number;
  tokenizeSeconds: number;
  createdAt: string;
}

export interface CachedTokenStream extends TokenStream {
  /** True when read from the cache, false when tokenized now (and written to it). */
  fromCache: boolean;
  meta: TokenCacheMeta;
}

/** The dataset's token stream from the cache when an entry for exactly these inputs exists, else tokenized and stored. */
export async function cachedTokenStream(
  source: DatasetSource,
  tokenizer: TokenEncoder & { readonly dir: string },
  opts: TokenCacheOptions,
): Promise<CachedTokenStream> {
  const tokenizerSha = tokenizerFingerprint(tokenizer.dir);
  const files = source.files.map((f) => ({ path: resolve(f.path), size: f.size, mtimeMs: f.mtimeMs }));
  const spec = source.kind === 'embedded' ? source.spec : resolve(source.spec);
  const identity = {
    format: FORMAT,
    spec,
    kind: source.kind,
    settings: source.settings,
    files,
    tokenizer: tokenizerSha,
    eosId: opts.eosId,
  };
  const key = createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 32);
  const tensorsPath = join(opts.cacheDir, `${key}.safetensors`);
  const metaPath = join(opts.cacheDir, `${key}.json`);

  sweepDeadTempFiles(opts.cacheDir); // an entry whose writer was killed before its rename
  const hit = readEntry(tensorsPath, metaPath, key);
  if (hit) return { ...hit, fromCache: true };

  const t0 = performance.now();
  const stream = await tokenizeDocuments(source.documents(), tokenizer, {
    eosId: opts.eosId,
    onProgress: opts.onProgress,
  });
  const meta: TokenCacheMeta = {
    format: FORMAT,
    key,
    spec,
    kind: source.kind,
    settings: { ...source.settings },
    files,
    tokenizer: { dir: resolve(tokenizer.dir), sha256: tokenizerSha },
    eosId: opts.eosId,
    tokens: stream.tokens.length,
    documents: stream.documentStarts.length,
    tokenizeSeconds: (performance.now() - t0) / 1000,
    createdAt: new Date().toISOString(),
  };
  try {
    mkdirSync(opts.cacheDir, { recursive: true });
  } catch (err) {
    throw new InputError(
      `${opts.cacheDir}: cannot create the token cache folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  writeSafetensors(tensorsPath, {
    tokens: { dtype: 'I32', shape: [stream.tokens.length], data: stream.tokens },
    document_starts: { dtype: 'I32', shape: [stream.documentStarts.length], data: stream.documentStarts },
  });
  writeFileAtomic(metaPath, `${JSON.stringify(meta, null, 1)}\n`);
  return { ...stream, fromCache: false, meta };
}

/** sha256 of tokenizer.json, plus tokenizer_config.json when present (it changes how text is encoded). */
export function tokenizerFingerprint(dir: string): string {
  const hash = createHash('sha256');
  for (const name of ['tokenizer.json', 'tokenizer_config.json']) {
    const file = join(dir, name);
    if (existsSync(file)) hash.update(name).update(readFileSync(file));
  }
  return hash.digest('hex');
}

/** A complete, consistent entry, or undefined (missing, half-written or damaged entries are rebuilt). */
function readEntry(
  tensorsPath: string,
  metaPath: string,
  key: string,
): (TokenStream & { meta: TokenCacheMeta }) | undefined {
  if (!existsSync(metaPath) || !existsSync(tensorsPath)) return undefined;
  try {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as TokenCacheMeta;
    if (meta.format !== FORMAT || meta.key !== key) return undefined;
    const file = openSafetensors(tensorsPath);
    try {
      const tokens = file.readInt32('tokens');
      const documentStarts = file.readInt32('document_starts');
      if (tokens.length !== meta.tokens || documentStarts.length !== meta.documents) return undefined;
      return { tokens, documentStarts, meta };
    } finally {
      file.close();
    }
  } catch {
    return undefined;
  }
}
