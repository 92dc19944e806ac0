// What jsdom lacks and Mantine uses (matchMedia, ResizeObserver, scrollIntoView), and a render helper that wraps a
// component in the app's providers with a studio client.
import { MantineProvider } from '@mantine/core';
import { render, type RenderResult } from '@testing-library/react';
import type { ReactNode } from 'react';
import type { StudioClient } from '../../src/protocol/studio-client';
import { StudioProvider } from '../../src/renderer/src/client/studio';

export function installDomGaps(): void {
  if (!window.matchMedia) {
    window.matchMedia = (query: string) =>
      ({
        matches: false,
        media: query,
        onchange: null,
        addListener: () => {},
        removeListener: () => {},
        addEventListener: () => {},
        removeEventListener: () => {},
        dispatchEvent: () => false,
      }) as MediaQueryList;
  }
  if (!('ResizeObserver' in window)) {
    (window as unknown as { ResizeObserver: unknown }).ResizeObserver = class {
      observe() {}
      unobserve() {}
      disconnect() {}
    };
  }
  Element.prototype.scrollIntoView ??= function scrollIntoView() {};
}

export function renderWithStudio(ui: ReactNode, client?: StudioClient): RenderResult {
  installDomGaps();
  return render(
    <MantineProvider>{client ? <StudioProvider client={client}>{ui}</StudioProvider> : ui}</MantineProvider>,
  );
}
