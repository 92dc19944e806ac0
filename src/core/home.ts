// The SAE Studio home folder (SAE_STUDIO_HOME, default ~/.sae-studio) and where things live inside it.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { PATH_SEGMENT_RULE, isPathSegment } from '../protocol/path-segment';
import { InputError } from './errors';

export interface StudioHome {
  root: string;
  dictionaries: string;
  runs: string;
  tokens: string;
  activations: string;
  /** Locks between processes (the store's owner, each running run): made with the rest, so that none is left behind. */
  locks: string;
}

export function studioHome(root = process.env.SAE_STUDIO_HOME || join(homedir(), '.sae-studio')): StudioHome {
  const abs = resolve(root);
  const home = {
    root: abs,
    dictionaries: join(abs, 'dictionaries'),
    runs: join(abs, 'runs'),
    tokens: join(abs, 'tokens'),
    activations: join(abs, 'activations'),
    locks: join(abs, 'locks'),
  };
  for (const dir of Object.values(home)) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTDIR') throw err;
      throw new InputError(
        `studio home '${abs}': ${dir} is a file, expected a folder (set SAE_STUDIO_HOME to a folder)`,
      );
    }
  }
  return home;
}

/** A name or id that becomes one folder under the home, checked here where every such path is built. */
function segment(value: string, what: string): string {
  if (!isPathSegment(value)) throw new InputError(`${what} '${value}' is not ${PATH_SEGMENT_RULE}`);
  return value;
}

/** runs/<runId>: the run's checkpoints, log and config. */
export function runDir(home: StudioHome, runId: string): string {
  return join(home.runs, segment(runId, 'run id'));
}

/** dictionaries/<name>: a trained dictionary, by its name. */
export function dictionaryDir(home: StudioHome, name: string): string {
  return join(home.dictionaries, segment(name, 'dictionary name'));
}
