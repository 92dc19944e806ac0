// Checks a user-chosen Hugging Face model folder with the studio once its path stops changing; the answer for the
// path now in the form is the one that counts.
import { useEffect, useState } from 'react';
import type { ModelInfo } from '../../../protocol/models';
import { errorText, useStudio } from '../client/studio';
import { CHECK_DELAY_MS } from './wizard-model';

export interface FolderModel {
  /** The model the folder holds, or null when it is not a usable model (error says why). */
  info: ModelInfo | null;
  error: string | null;
}

/** The check of `path`: null while none has answered for this path yet, and whenever `enabled` is false. */
export function useFolderModel(path: string, enabled: boolean): FolderModel | null {
  const client = useStudio();
  const [answer, setAnswer] = useState<(FolderModel & { path: string }) | null>(null);
  useEffect(() => {
    if (!enabled || path.trim() === '') return;
    let live = true;
    const timer = setTimeout(() => {
      client.validateModelFolder({ path }).then(
        (r) =>
          live &&
          setAnswer({
            path,
            info: r.ok ? r.model : null,
            error: r.ok ? null : r.issues.map((i) => i.message).join('; '),
          }),
        (err: unknown) => live && setAnswer({ path, info: null, error: errorText(err) }),
      );
    }, CHECK_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [client, path, enabled]);
  return enabled && answer?.path === path ? answer : null;
}
