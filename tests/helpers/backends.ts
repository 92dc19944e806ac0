// Runs a suite once per compute backend this machine offers (webgpu only where an adapter exists, e.g.
// lavapipe in CI), like tfjs's describeWithFlags(..., ALL_ENVS).
import { beforeAll, describe } from 'vitest';
import { availableBackends, initBackend, type BackendName } from '../../src/core/tensor/backend';

const available = await availableBackends();

/** SAE_STUDIO_TEST_BACKENDS=cpu,wasm limits the backends (e.g. to keep a local run short). */
function selected(): BackendName[] {
  return available.filter(wanted);
}

function wanted(backend: BackendName): boolean {
  const only = process.env.SAE_STUDIO_TEST_BACKENDS?.split(',').map((s) => s.trim());
  return !only || only.includes(backend);
}

/**
 * One suite per backend; a backend this machine lacks (webgpu without an adapter) still shows, as a skipped suite
 * with the reason, so a missing driver is never mistaken for a pass (`npm test` prints how to install it).
 */
export function describeEachBackend(name: string, fn: (backend: BackendName) => void, only?: BackendName[]): void {
  const backends = only ?? selected();
  if (only === undefined && !available.includes('webgpu') && wanted('webgpu')) {
    describe.skip(`${name} [webgpu: no WebGPU adapter on this machine]`, () => fn('webgpu'));
  }
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
