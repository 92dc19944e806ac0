// End-to-end tests (`npm run test:e2e`): Debian's chromium, driven by playwright-core, against the built
// `sae-studio serve` (run `npm run build` first; `npm test` does). One file at a time: each starts its own server.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
