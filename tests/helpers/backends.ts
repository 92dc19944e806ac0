// Runs a suite once per compute backend this machine offers (webgpu only where an adapter exists, e.g.
// lavapipe in CI), like tfjs's describeWithFlags(..., ALL_ENVS).
import { beforeAll, describe } from 'vitest';
import { availableBackends, initBackend, type BackendName } from '../../src/core/tensor/backend';

const available = await availableBackends();

/** SAE_STUDIO_TEST_BACKENDS=cpu,wasm limits the backends (e.g. to keep a local run short). */
function selected(): BackendName[] {
  const only = process.env.SAE_STUDIO_TEST_BACKENDS?.split(',').map((s) => s.trim());
  return available.filter((b) => !only || only.includes(b));
}

export function describeEachBackend(name: string, fn: (backend: BackendName) => void, backends = selected()): void {
  for (const backend of backends) {
    describe(`${name} [${backend}]`, () => {
      beforeAll(async () => {
        await initBackend(backend);
      });
      fn(backend);
    });
  }
}

export function hasBackend(name: BackendName): boolean {
  return available.includes(name);
}
