// A few documents of the chosen dataset split by the model's tokenizer: fetched while the dataset step is open
// (once per dataset, model and refresh), kept when the step is left, shown only for the dataset now in the form.
import { useCallback, useEffect, useState } from 'react';
import type { DatasetPreview } from '../../../protocol/system';
import { errorText, useStudio } from '../client/studio';
import { CHECK_DELAY_MS } from './wizard-model';

export interface DatasetPreviewState {
  /** The preview of the dataset now in the form (null: none yet, or it failed — see error). */
  result: DatasetPreview | null;
  error: string | null;
  loading: boolean;
  /** Reads the dataset again (it may have changed on disk). */
  refresh: () => void;
}

export function useDatasetPreview(dataset: string, model: string, wanted: boolean): DatasetPreviewState {
  const client = useStudio();
  const [round, setRound] = useState(0);
  const request = JSON.stringify([round, model, dataset]);
  const [answer, setAnswer] = useState<{
    request: string;
    dataset: string;
    result: DatasetPreview | null;
    error: string | null;
  } | null>(null);
  const due = wanted && dataset.trim() !== '' && answer?.request !== request;
  useEffect(() => {
    if (!due) return;
    let live = true;
    const timer = setTimeout(() => {
      client.previewDataset({ dataset, model, samples: 3 }).then(
        (result) => live && setAnswer({ request, dataset, result, error: null }),
        (err: unknown) => live && setAnswer({ request, dataset, result: null, error: errorText(err) }),
      );
    }, CHECK_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [client, due, request, dataset, model]);
  const refresh = useCallback(() => setRound((r) => r + 1), []);
  const current = answer?.dataset === dataset ? answer : null;
  return { result: current?.result ?? null, error: current?.error ?? null, loading: due, refresh };
}
