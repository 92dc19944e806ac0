/**
 * The studio service's circuit methods: the store's dictionary sets, the next-token preview of a prompt (in this
 * process, with the model kept loaded: NextTokenPreviewer), and a new circuit computed by an 'attribute' job in its
 * own engine process (Supervisor.startAttribution), whose graph row the Circuits page follows.
 */
import { InputError } from '../core/errors';
import { getDictionary, listDictionarySets, requireDictionarySet, type Store } from '../core/store';
import type { BackendRequest } from '../core/tensor/backend';
import { ServiceError, type FieldIssue } from '../protocol/service-error';
import type { StudioServiceImpl } from '../protocol/studio-service';
import { freeGraphName } from './graph-views';
import type { NextTokenPreviewer } from './next-token-preview';
import type { Supervisor } from './supervisor';

type CircuitMethods = Pick<StudioServiceImpl, 'listDictionarySets' | 'previewNextToken' | 'computeCircuit'>;

export function circuitMethods(deps: {
  store: Store;
  supervisor: Supervisor;
  backend?: BackendRequest;
  refused: (refs: Record<string, string | null | undefined>) => FieldIssue[];
}): CircuitMethods & { dispose(): void } {
  const { store, supervisor } = deps;
  let previewer: NextTokenPreviewer | null = null;

  /** The model a dictionary set replaces: the one it records, else its first dictionary's. */
  function setModel(name: string): string {
    const s = requireDictionarySet(store, name);
    const model = s.modelName ?? getDictionary(store, s.members[0]!.dictionary).modelName;
    if (!model) throw new InputError(`dictionary set '${name}' records no model, nor does its first dictionary`);
    return model;
  }

  return {
    listDictionarySets: async () => ({
      sets: listDictionarySets(store).map((s) => ({
        name: s.name,
        modelName: s.modelName,
        description: s.description,
        members: s.members,
        createdAt: s.createdAt,
      })),
    }),
    previewNextToken: async ({ set, model, prompt, top }) => {
      const issues = deps.refused({ model });
      if (issues.length > 0) throw ServiceError.invalidInput(issues);
      const ref = model ?? setModel(set!);
      if (!previewer) {
        // Loaded on first use: it brings in the model code and the compute backend.
        const { NextTokenPreviewer } = await import('./next-token-preview');
        previewer ??= new NextTokenPreviewer(deps.backend ?? 'auto');
      }
      return previewer.run(ref, prompt, top);
    },
    computeCircuit: async ({ set, prompt, settings, prune, qk, name }) => {
      requireDictionarySet(store, set);
      const graph = freeGraphName(store, name ?? `graph-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      const { jobId } = supervisor.startAttribution({
        set,
        prompt,
        name: graph,
        settings,
        prune,
        qk,
        backend: deps.backend ?? 'auto',
      });
      return { jobId, name: graph };
    },
    dispose: () => {
      previewer?.dispose();
      previewer = null;
    },
  };
}
