/**
 * One feature as the browser shows it: the store's samples (token ids, sparse activations) turned into token
 * strings with one activation per token, through the tokenizer of the model the analysis ran on.
 */
import { isInputError } from '../core/errors';
import { resolveModel } from '../core/lm/load-model';
import { ModelTokenizer } from '../core/lm/tokenizer';
import type { FeatureDetail as StoredFeature } from '../core/store';
import type { FeatureDetail, FeatureSample } from '../protocol/features';

/** Token strings of a model's ids; one tokenizer per model, loaded on first use. */
export class TokenLabels {
  private readonly tokenizers = new Map<string, ModelTokenizer | null>();

  /** Falls back to the ids as text when the model (or its tokenizer) cannot be found any more. */
  strings(modelRef: string | null, ids: readonly number[]): string[] {
    const tokenizer = modelRef === null ? null : this.tokenizer(modelRef);
    return tokenizer ? tokenizer.tokenStrings([...ids]) : ids.map((id) => `⟨${id}⟩`);
  }

  private tokenizer(modelRef: string): ModelTokenizer | null {
    const cached = this.tokenizers.get(modelRef);
    if (cached !== undefined) return cached;
    let tokenizer: ModelTokenizer | null;
    try {
      tokenizer = ModelTokenizer.load(resolveModel(modelRef).dir);
    } catch (err) {
      if (!isInputError(err)) throw err;
      tokenizer = null;
    }
    this.tokenizers.set(modelRef, tokenizer);
    return tokenizer;
  }
}

export function featureView(f: StoredFeature, labels: TokenLabels): FeatureDetail {
  const model = f.analysis?.modelName ?? null;
  return {
    dictionary: f.dictionary,
    index: f.index,
    kind: f.kind,
    interpretation: f.interpretation,
    bookmark: f.bookmark,
    analysis: f.analysis,
    stats: f.stats,
    kindData: f.kindData,
    samplings: f.samplings.map((s) => ({
      name: s.name,
      samples: s.samples.map((x): FeatureSample => {
        const tokenIds = Array.from(x.tokens);
        const activations = new Array<number>(tokenIds.length).fill(0);
        x.positions.forEach((p, i) => (activations[p] = x.values[i]!));
        return {
          rank: x.rank,
          contextIndex: x.contextIndex,
          tokens: labels.strings(model, tokenIds),
          tokenIds,
          activations,
          maxActivation: x.maxActivation,
          kindData: x.kindData,
        };
      }),
    })),
  };
}
