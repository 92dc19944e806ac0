/**
 * The Circuits page's "New circuit" section: places NewCircuitForm with the store's dictionary sets, previews the
 * next-token probabilities of the prompt (debounced as it is typed, under the chosen set's model), and submits the
 * request as a computeCircuit job. The QK-tracing fields of the form are not sent: the attribution job does not
 * trace QK yet.
 */
import { Alert, Text } from '@mantine/core';
import { useEffect, useRef, useState } from 'react';
import { MAX_PROMPT_CHARS, type ComputeCircuitRequest, type NextTokenPreview } from '../../../protocol/graphs';
import { errorText, useLoad, useStudio } from '../client/studio';
import { LoadedView } from '../components/LoadedView';
import type { NewCircuitRequest } from './new-circuit-model';
import { NewCircuitForm } from './NewCircuitForm';

/** How long the prompt must stay unchanged before its preview is asked for. */
export const PREVIEW_DEBOUNCE_MS = 300;

export function toComputeRequest(r: NewCircuitRequest): ComputeCircuitRequest {
  const s = r.settings;
  return {
    set: r.set,
    prompt: r.prompt,
    settings: {
      max_feature_nodes: s.max_feature_nodes,
      desired_logit_prob: s.desired_logit_prob,
      max_n_logits: s.max_n_logits,
      batch_size: s.batch_size,
    },
    prune: { node_threshold: s.node_threshold, edge_threshold: s.edge_threshold },
    qk: { qk_tracing_topk: s.qk_tracing_topk, qk_top_fraction: s.qk_top_fraction },
  };
}

/** The debounced preview of `prompt` under `set`'s model (null while there is none), and its error. */
function usePreview(set: string | null, prompt: string): { preview: NextTokenPreview | null; error: string | null } {
  const client = useStudio();
  const [state, setState] = useState<{ preview: NextTokenPreview | null; error: string | null }>({
    preview: null,
    error: null,
  });
  const latest = useRef(0);
  useEffect(() => {
    if (!set || prompt.trim() === '') return;
    const ask = ++latest.current;
    const timer = setTimeout(() => {
      client.previewNextToken({ set, prompt }).then(
        (preview) => ask === latest.current && setState({ preview, error: null }),
        (err: unknown) => ask === latest.current && setState({ preview: null, error: errorText(err) }),
      );
    }, PREVIEW_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [client, set, prompt]);
  return set && prompt.trim() !== '' ? state : { preview: null, error: null };
}

export function NewCircuitSection({ onStarted }: { onStarted: (graph: string, jobId: string) => void }) {
  const client = useStudio();
  const sets = useLoad((c) => c.listDictionarySets({}), []);
  const [prompt, setPrompt] = useState('');
  const [chosen, setChosen] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const names = sets.data?.sets.map((s) => s.name) ?? [];
  // Under the chosen set's model; before a set is chosen, the first set's.
  const { preview, error: previewError } = usePreview(chosen || (names[0] ?? null), prompt);
  const submit = async (request: NewCircuitRequest) => {
    setBusy(true);
    try {
      const { name, jobId } = await client.computeCircuit(toComputeRequest(request));
      setError(null);
      onStarted(name, jobId);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <LoadedView state={sets} what="dictionary sets">
      {(d) => (
        <>
          {d.sets.length === 0 && (
            <Text size="sm" c="dimmed">
              No dictionary set in the store: train one with `sae-studio demo --recipe replacement`.
            </Text>
          )}
          <NewCircuitForm
            sets={d.sets.map((s) => s.name)}
            preview={preview?.top ?? null}
            onPromptChange={setPrompt}
            onSetChange={setChosen}
            onSubmit={(r) => void submit(r)}
            busy={busy}
            maxPromptChars={MAX_PROMPT_CHARS}
          />
          {previewError && (
            <Text size="xs" c="red" data-testid="preview-error">
              {previewError}
            </Text>
          )}
          {error && (
            <Alert color="red" title="Could not start the circuit" role="alert" data-testid="compute-error">
              {error}
            </Alert>
          )}
        </>
      )}
    </LoadedView>
  );
}
