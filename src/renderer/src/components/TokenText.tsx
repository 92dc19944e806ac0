/**
 * A context window with per-token highlighting: each token's background is the feature's colour at an opacity
 * proportional to its activation over `scale` (the feature's maximum), and hovering a token shows its value below the
 * text. Zero tokens stay plain. Used by the feature page's samples and by "try text".
 */
import { useState } from 'react';
import { tokenLabel } from './format';

export interface TokenTextProps {
  tokens: readonly string[];
  values: readonly number[];
  /** The activation drawn at full strength (default: the largest of `values`). */
  scale?: number;
  /** Index of a token to outline (e.g. the sample's maximum). */
  focus?: number;
  /** What a hover shows: default `<value>`. */
  describe?: (index: number) => string;
}

/** Opacity of a token's highlight, 0..1. */
export function highlightAlpha(value: number, scale: number): number {
  if (!(value > 0) || !(scale > 0)) return 0;
  return Math.min(1, 0.12 + 0.88 * (value / scale));
}

export function TokenText({ tokens, values, scale, focus, describe }: TokenTextProps) {
  const top = scale ?? Math.max(0, ...values);
  const [hover, setHover] = useState<number | null>(null);
  const text = (i: number) => describe?.(i) ?? `activation ${(values[i] ?? 0).toFixed(3)}`;
  return (
    <div className="token-text">
      <div className="token-line" onMouseLeave={() => setHover(null)}>
        {tokens.map((t, i) => {
          const a = highlightAlpha(values[i] ?? 0, top);
          return (
            <span
              key={i}
              className={`token${i === focus ? ' token-focus' : ''}${a > 0 ? ' token-on' : ''}`}
              data-value={values[i] ?? 0}
              title={`${JSON.stringify(t)} · ${text(i)}`}
              style={a > 0 ? { backgroundColor: `rgba(255, 122, 0, ${a.toFixed(3)})` } : undefined}
              onMouseEnter={() => setHover(i)}
            >
              {tokenLabel(t)}
            </span>
          );
        })}
      </div>
      <div className="token-hover" aria-live="polite">
        {hover === null ? '\u00a0' : `${JSON.stringify(tokens[hover])} (position ${hover}): ${text(hover)}`}
      </div>
    </div>
  );
}
