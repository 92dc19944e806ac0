/**
 * Command-line switches main appends to the renderer's `process.argv` (`webPreferences.additionalArguments`), the
 * one channel through which a sandboxed preload receives data synchronously at startup. Written `--name=value`.
 * Kept free of zod so the preload bundle stays small.
 */
export const APP_VERSION_SWITCH = '--sae-app-version';
