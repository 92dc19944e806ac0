import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'tests/**/*.test.tsx'],
    exclude: ['tests/e2e/**'],
    environment: 'node',
    globalSetup: ['tests/global-setup.ts'],
    // The model-runner suites spin up tfjs backends (wasm, webgpu) that are process-wide singletons.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
