/**
 * The studio service's steering method: a feature's steered and unsteered continuations of a prompt, computed in
 * this process with the model kept loaded (FeatureSteerer, loaded on first use).
 */
import type { Store } from '../core/store';
import type { BackendRequest } from '../core/tensor/backend';
import type { StudioServiceImpl } from '../protocol/studio-service';
import type { FeatureSteerer } from './feature-steering';

type SteeringMethods = Pick<StudioServiceImpl, 'steerFeature'>;

export function steeringMethods(deps: { store: Store; backend?: BackendRequest }): SteeringMethods & {
  dispose(): void;
} {
  let steerer: FeatureSteerer | null = null;
  return {
    steerFeature: async (request) => {
      if (!steerer) {
        // Loaded on first use: it brings in the model code and the compute backend.
        const { FeatureSteerer } = await import('./feature-steering');
        steerer ??= new FeatureSteerer(deps.store, deps.backend ?? 'auto');
      }
      return steerer.run(request);
    },
    dispose: () => {
      steerer?.dispose();
      steerer = null;
    },
  };
}
