// Finds a saved dictionary by folder or by name (under $SAE_STUDIO_HOME/dictionaries) and loads it, in the
// lm-saes layout or (when it has cfg.json) the SAELens one.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../errors';
import type { BasisSource } from '../lm/activation-basis';
import { dictionaryDir, type StudioHome } from '../home';
import { isPathSegment } from '../../protocol/path-segment';
import { loadLmSaesDictionary } from './formats/lm-saes';
import { importSaeLens } from './formats/saelens';
import type { HostParams } from './host-tensor';
import type { SaeConfig } from '../../protocol/dictionary-config';

export interface StoredDictionary {
  dir: string;
  cfg: SaeConfig;
  params: HostParams;
  lmConfig: Record<string, unknown> | null;
  /** Where cfg.activation_basis came from; 'default' when nothing in the files says (see chooseBasis). */
  basisSource: BasisSource;
}

/** The model a dictionary was trained on, as recorded with it (lm_config.json or its config's model_name). */
export function recordedModel(stored: StoredDictionary): string | null {
  const fromLm = stored.lmConfig?.model_name;
  return typeof fromLm === 'string' ? fromLm : stored.cfg.model_name;
}

export function resolveDictionaryDir(ref: string, home: StudioHome): string {
  if (existsSync(ref) && statSync(ref).isDirectory()) return resolve(ref);
  const named = isPathSegment(ref) ? dictionaryDir(home, ref) : null;
  if (named && existsSync(named)) return named;
  throw new InputError(
    `dictionary '${ref}' not found: expected a dictionary folder or a name under ${home.dictionaries}`,
  );
}

export function loadDictionary(ref: string, home: StudioHome): StoredDictionary {
  const dir = resolveDictionaryDir(ref, home);
  if (existsSync(join(dir, 'cfg.json')) && !existsSync(join(dir, 'config.json'))) {
    return { dir, lmConfig: null, ...importSaeLens(dir) };
  }
  return { dir, ...loadLmSaesDictionary(dir) };
}
