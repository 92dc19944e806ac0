// A sample as text segments with activations, and the ways lm-saes shows one to a language model
// (llamascopium/analysis/samples.py: process_token, Segment.display, TokenizedSample.display_highlighted,
// display_plain, display_max, display_next).

export interface Segment {
  text: string;
  activation: number;
}

export interface TokenizedSample {
  segments: Segment[];
  /** The feature's maximum activation over the analysis (lm-saes's `analysis.max_feature_acts`). */
  maxActivation: number;
}

/** samples.py process_token: newlines, tabs and carriage returns as visible symbols. */
export function processToken(token: string): string {
  return token.replace(/\n/g, '⏎').replace(/\t/g, '→').replace(/\r/g, '↵');
}

/** TokenizedSample.display_highlighted: segments above threshold × max activation wrapped in << >>. */
export function displayHighlighted(sample: TokenizedSample, threshold: number): string {
  const abs = threshold * sample.maxActivation;
  return sample.segments.map((s) => (s.activation > abs ? `<<${s.text}>>` : s.text)).join('');
}

/** TokenizedSample.display_plain. */
export function displayPlain(sample: TokenizedSample): string {
  return sample.segments.map((s) => s.text).join('');
}

/** TokenizedSample.display_max: each distinct activating token after its 3 preceding tokens in parentheses. */
export function displayMax(sample: TokenizedSample, threshold: number): string {
  const abs = threshold * sample.maxActivation;
  const seen = new Set<string>();
  let out = '';
  sample.segments.forEach((seg, i) => {
    if (!(seg.activation > abs) || seg.text === '' || seen.has(seg.text)) return;
    seen.add(seg.text);
    const prev = sample.segments
      .slice(Math.max(0, i - 3), i)
      .map((s) => s.text)
      .join('');
    out += `(${processToken(prev)}) ${processToken(seg.text)}\n`;
  });
  return out;
}

/** TokenizedSample.display_next: the token after an activating one (as lm-saes writes it, the last one found). */
export function displayNext(sample: TokenizedSample, threshold: number): string {
  const abs = threshold * sample.maxActivation;
  const seen = new Set<string>();
  let out = '';
  let after = false;
  for (const seg of sample.segments) {
    if (after && seg.text !== '' && !seen.has(seg.text)) {
      seen.add(seg.text);
      out = `${processToken(seg.text)}\n`;
    }
    after = seg.activation > abs;
  }
  return out;
}

/** Sample max of the segments (lm-saes's sample_max_activation). */
export function sampleMaxActivation(sample: TokenizedSample): number {
  return Math.max(...sample.segments.map((s) => s.activation));
}
