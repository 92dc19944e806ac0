// @vitest-environment jsdom
// Token highlighting: each token's background strength follows its activation over the scale, tokens that did not
// fire stay plain, the strongest one can be outlined, and hovering a token shows its value.
import { cleanup, fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { highlightAlpha, TokenText } from '../../src/renderer/src/components/TokenText';
import { tokenLabel } from '../../src/renderer/src/components/format';
import { renderWithStudio } from './dom';

afterEach(cleanup);

describe('highlightAlpha', () => {
  it('is 0 for tokens that did not fire and grows linearly from 0.12 to 1 with the activation', () => {
    expect(highlightAlpha(0, 5)).toBe(0);
    expect(highlightAlpha(-1, 5)).toBe(0);
    expect(highlightAlpha(Number.NaN, 5)).toBe(0);
    expect(highlightAlpha(2, 0)).toBe(0);
    expect(highlightAlpha(5, 5)).toBeCloseTo(1, 12);
    expect(highlightAlpha(2.5, 5)).toBeCloseTo(0.12 + 0.44, 12);
    expect(highlightAlpha(10, 5)).toBe(1); // above the scale: capped
  });
});

describe('TokenText', () => {
  const tokens = [' The', ' cat', '\n', ' sat', '\t'];
  const values = [0, 4, 0, 2, 0];

  it('colours only the tokens that fired, in proportion to their activation', () => {
    const { container } = renderWithStudio(<TokenText tokens={tokens} values={values} focus={1} />);
    const spans = Array.from(container.querySelectorAll<HTMLSpanElement>('.token'));
    expect(spans.map((s) => s.textContent)).toEqual([' The', ' cat', '↵', ' sat', '⇥']);
    const alpha = (s: HTMLSpanElement) => {
      const bg = s.style.backgroundColor;
      if (bg === 'rgb(255, 122, 0)') return 1; // full strength: the browser drops an alpha of 1
      const m = /rgba\(255, 122, 0, ([\d.]+)\)/.exec(bg);
      return m ? Number(m[1]) : 0;
    };
    expect(spans.map(alpha)).toEqual([0, 1, 0, 0.56, 0]);
    expect(spans.map((s) => s.classList.contains('token-on'))).toEqual([false, true, false, true, false]);
    expect(spans[1]?.classList.contains('token-focus')).toBe(true);
    expect(spans[3]?.getAttribute('data-value')).toBe('2');
  });

  it('uses the given scale (the feature maximum) rather than the sample maximum', () => {
    const { container } = renderWithStudio(<TokenText tokens={tokens} values={values} scale={8} />);
    const cat = container.querySelectorAll<HTMLSpanElement>('.token')[1]!;
    expect(cat.style.backgroundColor).toBe('rgba(255, 122, 0, 0.56)');
  });

  it('shows the hovered token and its value, and clears it on leave', () => {
    const { container } = renderWithStudio(
      <TokenText tokens={tokens} values={values} describe={(i) => `#7 ${(values[i] ?? 0).toFixed(2)}`} />,
    );
    const hover = container.querySelector('.token-hover')!;
    fireEvent.mouseEnter(container.querySelectorAll('.token')[3]!);
    expect(hover.textContent).toBe('" sat" (position 3): #7 2.00');
    fireEvent.mouseLeave(container.querySelector('.token-line')!);
    expect(hover.textContent?.trim()).toBe('');
    expect(screen.getByTitle('" cat" · #7 4.00')).toBeTruthy();
  });

  it('shows whitespace tokens as visible symbols', () => {
    expect(tokenLabel('a\nb\tc')).toBe('a↵b⇥c');
  });
});
