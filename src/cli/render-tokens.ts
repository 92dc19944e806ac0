// Renders a context with a feature's activating tokens highlighted: ANSI background shades in a terminal,
// «token:value» markers elsewhere; long contexts are cut to a window around the strongest activation.
export function renderSample(
  tokens: string[],
  positions: Int32Array,
  values: Float32Array,
  maxActivation: number,
  color: boolean,
  width = 24,
): string {
  const act = new Map<number, number>();
  positions.forEach((p, i) => act.set(p, values[i] ?? 0));
  let peak = positions[0] ?? 0;
  for (const [p, v] of act) if (v > (act.get(peak) ?? 0)) peak = p;
  const start = Math.max(0, peak - Math.floor((width * 3) / 4));
  const end = Math.min(tokens.length, start + width);
  const parts: string[] = [];
  for (const [offset, token] of tokens.slice(start, end).entries()) {
    const i = start + offset;
    const text = token.replace(/\n/g, '⏎');
    const v = act.get(i);
    if (v === undefined || v <= 0) parts.push(text);
    else if (color) {
      const shade = Math.min(5, Math.max(1, Math.round((v / Math.max(maxActivation, 1e-9)) * 5)));
      parts.push(`\x1b[48;5;${[0, 223, 222, 215, 209, 203][shade]}m\x1b[30m${text}\x1b[0m`);
    } else parts.push(`«${text}:${v.toFixed(2)}»`);
  }
  return `${start > 0 ? '…' : ''}${parts.join('')}${end < tokens.length ? '…' : ''}`;
}
