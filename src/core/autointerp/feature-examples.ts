// A feature's activating and non-activating examples from its stored samples, cut as lm-saes cuts them
// (llamascopium/analysis/autointerp/feature_interpreter.py: generate_activating_examples — max_length tokens
// centred on the sample's maximum, from the first sampling, `top_activations`; generate_non_activating_examples —
// the first max_length tokens of each `non_activating` sample).
import type { FeatureDetail, FeatureSampleDetail } from '../store/features';
import type { TokenizedSample } from './tokenized-sample';

/** The text of one token id; '' for special tokens (lm-saes keeps only tokens with a text origin). */
export type TokenText = (id: number) => string;

export interface FeatureExamples {
  activating: TokenizedSample[];
  nonActivating: TokenizedSample[];
}

/** Dense activations of a sample over its context: [n_tokens]. */
function denseActivations(sample: FeatureSampleDetail): Float32Array {
  const dense = new Float32Array(sample.tokens.length);
  sample.positions.forEach((p, i) => {
    if (p >= 0 && p < dense.length) dense[p] = sample.values[i]!;
  });
  return dense;
}

function toSample(
  tokens: Int32Array,
  acts: Float32Array,
  from: number,
  to: number,
  text: TokenText,
  max: number,
): TokenizedSample {
  const segments = [];
  for (let i = from; i < to; i++) {
    const t = text(tokens[i]!);
    if (t !== '') segments.push({ text: t, activation: acts[i]! });
  }
  return { segments, maxActivation: max };
}

/** lm-saes's window: max_length // 2 tokens either side of the argmax (the first one on ties, like torch.argmax). */
export function activatingExample(
  sample: FeatureSampleDetail,
  text: TokenText,
  maxActivation: number,
  maxLength: number,
): TokenizedSample {
  const acts = denseActivations(sample);
  let arg = 0;
  for (let i = 1; i < acts.length; i++) if (acts[i]! > acts[arg]!) arg = i;
  const half = Math.floor(maxLength / 2);
  return toSample(sample.tokens, acts, Math.max(0, arg - half), Math.min(acts.length, arg + half), text, maxActivation);
}

export function nonActivatingExample(
  sample: FeatureSampleDetail,
  text: TokenText,
  maxActivation: number,
  maxLength: number,
): TokenizedSample {
  const acts = denseActivations(sample);
  return toSample(sample.tokens, acts, 0, Math.min(acts.length, maxLength), text, maxActivation);
}

/** The examples of a feature (empty lists when it has no analysis or never fired). */
export function featureExamples(
  feature: FeatureDetail,
  text: TokenText,
  opts: { nActivating: number; nNonActivating: number; maxLength: number },
): FeatureExamples {
  const max = feature.stats?.maxActivation ?? 0;
  const top = feature.samplings[0];
  const non = feature.samplings.find((s) => s.name === 'non_activating');
  return {
    activating:
      top && top.name !== 'non_activating'
        ? top.samples.slice(0, opts.nActivating).map((s) => activatingExample(s, text, max, opts.maxLength))
        : [],
    nonActivating: (non?.samples ?? [])
      .slice(0, opts.nNonActivating)
      .map((s) => nonActivatingExample(s, text, max, opts.maxLength)),
  };
}
