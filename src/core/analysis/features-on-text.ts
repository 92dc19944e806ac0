// "Which features fire on this prompt": the dictionary's activations on each token of a text, as the top
// active features per token.
import { InputError } from '../errors';
import type { HookedTransformer } from '../lm/hooked-transformer';
import type { SparseDictionary } from '../sae/sparse-dictionary';
import { dictionaryInput } from './dictionary-input';
import { encodeSparse } from './sparse-activations';

/** What featuresOnText needs of a tokenizer (ModelTokenizer has it). */
export interface TextTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  tokenStrings(ids: number[]): string[];
}

export interface TokenFeatures {
  position: number;
  tokenId: number;
  token: string;
  /** Active features (activation > 0), strongest first, at most topFeatures. */
  features: { index: number; activation: number }[];
}

export interface FeaturesOnTextOptions {
  topFeatures?: number;
  /** Start with the model's BOS id (as analysis windows do) unless the tokenizer already did; default true. */
  prependBos?: boolean;
}

export async function featuresOnText(
  model: HookedTransformer,
  dictionary: SparseDictionary,
  tokenizer: TextTokenizer,
  text: string,
  opts: FeaturesOnTextOptions = {},
): Promise<TokenFeatures[]> {
  const ids = tokenizer.encode(text);
  const bos = model.cfg.bosTokenId;
  if ((opts.prependBos ?? true) && bos !== null && bos < model.cfg.dVocab && ids[0] !== bos) ids.unshift(bos);
  return featuresOnTokens(model, dictionary, ids, tokenizer.tokenStrings(ids), opts.topFeatures);
}

/** The same for token ids already in hand (`strings` labels them). */
export async function featuresOnTokens(
  model: HookedTransformer,
  dictionary: SparseDictionary,
  ids: number[],
  strings: string[],
  topFeatures = 10,
): Promise<TokenFeatures[]> {
  if (ids.length === 0) throw new InputError('featuresOnText: the text has no tokens');
  if (ids.length > model.cfg.nCtx)
    throw new InputError(`featuresOnText: ${ids.length} tokens exceed the model's context of ${model.cfg.nCtx}`);
  const x = dictionaryInput(model, dictionary, { ids: Int32Array.from(ids), batch: 1, seq: ids.length }); // [S, d_in]
  let acts;
  try {
    acts = await encodeSparse(dictionary, x);
  } finally {
    x.dispose();
  }
  return ids.map((tokenId, position) => {
    const features: { index: number; activation: number }[] = [];
    for (let j = acts.rowPtr[position]!; j < acts.rowPtr[position + 1]!; j++)
      features.push({ index: acts.feature[j]!, activation: acts.value[j]! });
    features.sort((a, b) => b.activation - a.activation || a.index - b.index);
    return { position, tokenId, token: strings[position] ?? String(tokenId), features: features.slice(0, topFeatures) };
  });
}
