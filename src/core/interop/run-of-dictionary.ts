// The training run behind a stored dictionary, when the store has one (a dictionary imported or analysed from a
// folder has none): its run config supplies what a dictionary's own files do not say (model, data, window size).
import { listRecentRuns, type Store } from '../store';

/** The config of the newest finished run that produced `dictionaryName`, or null. */
export function latestRunConfigOf(store: Store, dictionaryName: string): Record<string, unknown> | null {
  const [run] = listRecentRuns(store, { dictionaryName, status: 'done', limit: 1 });
  return run ? run.config : null;
}
