// From a dataset spec to context windows: open the source, get its token stream (from the cache when a cache
// folder is given), cut windows, and keep one split when asked.
import { InputError } from '../errors';
import type { TokenBatch } from '../lm/token-batch';
import { embeddedDataset, isEmbeddedDataset } from './sources/embedded-corpus';
import { openDataset, type DatasetOptions } from './sources/open-dataset';
import { splitWindowIndices, type SplitName, type WindowSplitRule } from './split';
import { cachedTokenStream } from './token-cache';
import { tokenizeDocuments, type TokenEncoder, type TokenStream, type TokenizeProgress } from './token-stream';
import { gatherWindows, windowCount, type WindowSpec } from './windows';

export interface DatasetWindowsOptions extends WindowSpec {
  tokenizer: TokenEncoder & { readonly dir: string };
  eosId: number;
  /** Token cache folder (e.g. `$SAE_STUDIO_HOME/tokens`); without it the dataset is tokenized every time. */
  cacheDir?: string;
  /** Keep only this split; needs `splitRule` or an embedded dataset that defines one. */
  split?: SplitName;
  splitRule?: WindowSplitRule;
  dataset?: DatasetOptions;
  onProgress?: (p: TokenizeProgress) => void;
}

export interface DatasetWindows {
  windows: TokenBatch; // [indices.length, seqLen]
  /** Index of each row among all the dataset's windows. */
  indices: Int32Array;
  totalWindows: number;
  stream: TokenStream;
  fromCache: boolean;
}

export async function loadDatasetWindows(spec: string, opts: DatasetWindowsOptions): Promise<DatasetWindows> {
  const rule = opts.split === undefined ? undefined : splitRuleFor(spec, opts.splitRule);
  const source = openDataset(spec, opts.dataset);
  const { tokenizer, eosId, onProgress } = opts;
  const cached =
    opts.cacheDir === undefined
      ? undefined
      : await cachedTokenStream(source, tokenizer, { cacheDir: opts.cacheDir, eosId, onProgress });
  const stream = cached ?? (await tokenizeDocuments(source.documents(), tokenizer, { eosId, onProgress }));
  const totalWindows = windowCount(stream.tokens.length, opts.seqLen);
  if (totalWindows === 0) {
    throw new InputError(
      `${spec}: ${stream.tokens.length} tokens make no complete window of ${opts.seqLen} tokens (${opts.seqLen - 1} after the BOS), expected more text`,
    );
  }
  const indices =
    rule === undefined
      ? Int32Array.from({ length: totalWindows }, (_, i) => i)
      : splitWindowIndices(totalWindows, rule, opts.split!);
  const windows = gatherWindows(stream.tokens, indices, opts);
  return {
    windows,
    indices,
    totalWindows,
    stream: { tokens: stream.tokens, documentStarts: stream.documentStarts },
    fromCache: cached?.fromCache ?? false,
  };
}

function splitRuleFor(spec: string, given: WindowSplitRule | undefined): WindowSplitRule {
  const rule = given ?? (isEmbeddedDataset(spec) ? embeddedDataset(spec).windowSplit : undefined);
  if (!rule)
    throw new InputError(`${spec}: no reference split, expected a split rule (seed, validation fraction) for it`);
  return rule;
}
