/**
 * Types `window.api` for the renderer without importing Electron or Node types. Absent when the renderer runs in a
 * browser tab served by `sae-studio serve`, hence optional.
 */
import type { Api } from './api';

declare global {
  interface Window {
    api?: Api;
  }
}

export {};
