// Checkpoints of the kind trainer, in the SAE trainer's atomic checkpoint folders (src/core/sae/checkpoint.ts:
// runs/<id>/checkpoints/step-NNNNNNNN/ with state.safetensors and state.json, written into a temporary folder and
// renamed; the newest that reads back whole is resumed from). state.safetensors holds the trainable tensors and
// Adam's moments (`adam.m.<name>`, `adam.v.<name>`); state.json the step, tokens, Adam's step, the seconds, the batch
// source's state, the kind's config with its dataset norms (a resume does not estimate them again) and the run
// config (openRunDir compares it with the one given).
import type { TrainConfig } from '../../protocol/run-config';
import { parseConfig } from '../config/validate';
import { InputError } from '../errors';
import { writeCheckpoint } from '../sae/checkpoint';
import { toHost, type HostParams } from '../sae/host-tensor';
import type { DictionaryKind, KindConfigBase } from './kind';
import type { KindStreamState } from './kind-batches';
import type { KindRun } from './train-kind-step';

export const KIND_CHECKPOINT_FORMAT = 'sae-studio-kind-checkpoint-1';

export interface KindCheckpointState {
  format: typeof KIND_CHECKPOINT_FORMAT;
  sae_type: string;
  step: number;
  tokens: number;
  adam_step: number;
  seconds: number;
  stream: KindStreamState;
  /** The kind's config (lm-saes field names) with its dataset-wise norms. */
  config: KindConfigBase;
  train_config: TrainConfig;
}

/** What a resumed run starts from: the checked state, the kind's config, and the tensors. */
export interface KindResume {
  state: KindCheckpointState;
  kcfg: KindConfigBase;
  tensors: HostParams;
}

/** Writes the checkpoint of the step just taken (atomically; the two newest are kept) and reports it. */
export async function saveKindCheckpoint(run: KindRun): Promise<void> {
  const { progress, adam, kind } = run;
  const state: KindCheckpointState = {
    format: KIND_CHECKPOINT_FORMAT,
    sae_type: kind.saeType,
    step: progress.step,
    tokens: progress.tokens,
    adam_step: adam.step,
    seconds: run.priorSeconds + (performance.now() - run.t0) / 1000,
    stream: progress.lastState,
    config: run.kcfg,
    train_config: run.cfg,
  };
  const tensors = await toHost({ ...run.vars, ...adam.state() });
  const info = writeCheckpoint(run.runDir, progress.step, tensors, state);
  run.emit({ type: 'checkpoint', step: progress.step, tokens: progress.tokens, dir: info.dir });
}

/**
 * A checkpoint read back by openRunDir, checked for this kind: its format and sae_type, its config (parsed again
 * with the kind's schema), its counters, and every trainable tensor and Adam moment with the config's shape.
 */
export function kindResume(
  runDir: string,
  kind: DictionaryKind,
  checkpoint: { tensors: HostParams; state: unknown },
): KindResume {
  const where = `${runDir}: the checkpoint`;
  const state = checkpoint.state as Partial<KindCheckpointState> | null;
  if (state?.format !== KIND_CHECKPOINT_FORMAT)
    throw new InputError(
      `${where} has format ${JSON.stringify(state?.format)}, expected '${KIND_CHECKPOINT_FORMAT}' (a ${kind.saeType} run's)`,
    );
  if (state.sae_type !== kind.saeType)
    throw new InputError(`${where} is of a ${String(state.sae_type)} run, but the run config trains a ${kind.saeType}`);
  for (const key of ['step', 'tokens', 'adam_step'] as const)
    if (!Number.isSafeInteger(state[key]) || state[key]! < 0)
      throw new InputError(`${where} has ${key} ${JSON.stringify(state[key])}, expected an integer ≥ 0`);
  if (typeof state.seconds !== 'number' || !(state.seconds >= 0))
    throw new InputError(`${where} has seconds ${JSON.stringify(state.seconds)}, expected a number ≥ 0`);
  if (typeof state.stream !== 'object' || state.stream === null) throw new InputError(`${where} has no stream state`);
  const kcfg = parseConfig(kind.schema, state.config, `${where}'s config`);
  const shapes = kind.stateShapes(kcfg);
  for (const name of kind.trainable(kcfg)) {
    const want = JSON.stringify(shapes[name]);
    for (const key of [name, `adam.m.${name}`, `adam.v.${name}`]) {
      const t = checkpoint.tensors[key];
      if (!t) throw new InputError(`${where} has no tensor '${key}'`);
      if (JSON.stringify(t.shape) !== want)
        throw new InputError(`${where}'s tensor '${key}' has shape ${JSON.stringify(t.shape)}, expected ${want}`);
    }
  }
  return { state: state as KindCheckpointState, kcfg, tensors: checkpoint.tensors };
}
