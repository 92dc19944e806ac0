// The dictionary kinds by lm-saes `sae_type`. Everything that trains, evaluates, saves, loads, analyses or shows a
// dictionary asks here (kindOf, loadAnyDictionary, saveAnyDictionary), never a concrete kind.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SaeConfig } from '../../protocol/dictionary-config';
import { InputError } from '../errors';
import type { BasisSource } from '../lm/activation-basis';
import { loadLmSaesDictionary, saveLmSaesDictionary } from '../sae/formats/lm-saes';
import { importSaeLens } from '../sae/formats/saelens';
import { readJsonObject } from '../sae/formats/check-params';
import type { HostParams } from '../sae/host-tensor';
import type { DictionaryKind, KindConfigBase } from './kind';
import { cltKind } from './kinds/clt';
import { crosscoderKind } from './kinds/crosscoder';
import { lorsaKind } from './kinds/lorsa';
import { moltKind } from './kinds/molt';
import { saeKind, unknownKind } from './kinds/sae';
import { loadKindDictionary, saveKindDictionary } from './lm-saes-files';

const KINDS: Record<string, DictionaryKind> = {
  sae: saeKind as unknown as DictionaryKind,
  crosscoder: crosscoderKind as unknown as DictionaryKind,
  clt: cltKind as unknown as DictionaryKind,
  lorsa: lorsaKind as unknown as DictionaryKind,
  molt: moltKind as unknown as DictionaryKind,
};

export const DICTIONARY_KIND_NAMES = Object.keys(KINDS);

export function allKinds(): DictionaryKind[] {
  return Object.values(KINDS);
}

/** The kind of `saeType`; an unknown one is a one-line error naming `source` (a file, a field). */
export function kindOf(saeType: string, source = 'sae_type'): DictionaryKind {
  const kind = KINDS[saeType];
  if (!kind) throw unknownKind(saeType, source, DICTIONARY_KIND_NAMES);
  return kind;
}

export interface AnyDictionary {
  dir: string;
  kind: DictionaryKind;
  cfg: KindConfigBase;
  params: HostParams;
  lmConfig: Record<string, unknown> | null;
  /** Where cfg.activation_basis came from; 'default' when nothing in the files says (see chooseBasis). */
  basisSource: BasisSource;
}

/** Loads a dictionary folder of any kind: lm-saes layout (config.json) or SAELens (cfg.json, `sae` only). */
export function loadAnyDictionary(dir: string): AnyDictionary {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`${dir}: no such dictionary directory`);
  if (existsSync(join(dir, 'cfg.json')) && !existsSync(join(dir, 'config.json'))) {
    const { cfg, params, basisSource } = importSaeLens(dir);
    return { dir, kind: kindOf('sae'), cfg: cfg as unknown as KindConfigBase, params, lmConfig: null, basisSource };
  }
  const configPath = join(dir, 'config.json');
  const raw = existsSync(configPath) ? readJsonObject(configPath) : {};
  const saeType = typeof raw.sae_type === 'string' ? raw.sae_type : 'sae';
  if (saeType === 'sae') {
    // The `sae` kind keeps its own reader (JumpReLU and pre-encoder-bias conventions, BatchTopK threshold).
    const sae = loadLmSaesDictionary(dir);
    return {
      dir,
      kind: kindOf('sae'),
      cfg: sae.cfg as unknown as KindConfigBase,
      params: sae.params,
      lmConfig: sae.lmConfig,
      basisSource: sae.basisSource,
    };
  }
  const loaded = loadKindDictionary(dir, (type, file) => kindOf(type, file));
  return { dir, ...loaded };
}

export function saveAnyDictionary(
  dir: string,
  kind: DictionaryKind,
  cfg: KindConfigBase,
  params: HostParams,
  opts: { lmConfig?: object } = {},
): void {
  if (kind.saeType === 'sae') saveLmSaesDictionary(dir, cfg as unknown as SaeConfig, params, opts);
  else saveKindDictionary(dir, kind, cfg, params, opts);
}
