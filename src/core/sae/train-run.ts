// The training job's vocabulary: its options, events, metrics and result (the public contract of trainDictionary),
// and the state one run carries from setup through its steps to the saved dictionary.
import type { ActivationBatch, ActivationStream, ActivationStreamState } from '../activations';
import type { RowSpool } from '../activations/row-spool';
import type { SaeConfig } from '../../protocol/dictionary-config';
import type { TrainConfig } from '../../protocol/run-config';
import type { StudioHome } from '../home';
import type { HostParams } from './host-tensor';
import type { Adam } from './optim/adam';
import type { Bookkeeping } from './train-bookkeeping';
import type { SparsePathChoice } from './train-setup';
import type { Sae } from './variants/sae';

export interface TrainMetrics {
  step: number;
  tokens: number;
  lr: number;
  k: number | null;
  loss: number;
  l_rec: number;
  l_s: number;
  l_p: number;
  l_aux: number;
  l0: number;
  explained_variance: number;
  /** Latents that have not fired for dead_threshold_tokens tokens, and those firing on > 10% of this window's tokens. */
  dead: number;
  dense: number;
  tokens_per_second: number;
}

export type TrainEvent =
  | { type: 'log'; message: string }
  | {
      type: 'started';
      totalSteps: number;
      totalTokens: number;
      resumedFromStep: number;
      backend: string;
      /** Seconds before the first step: loading the model and the windows (tokenizing unless cached), then the
       * dataset statistics with their LM pass (0 on a resume). */
      prep?: { data_seconds: number; statistics_seconds: number };
    }
  | { type: 'metrics'; metrics: TrainMetrics }
  | { type: 'checkpoint'; step: number; tokens: number; dir: string }
  | { type: 'done'; dictionaryDir: string; steps: number; tokens: number; seconds: number; cancelled: boolean };

export interface TrainJobOptions {
  home: StudioHome;
  /** Folder name under runs/ (a new run, or the one to resume). */
  runId: string;
  resume?: boolean;
  onEvent?: (e: TrainEvent) => void;
  signal?: AbortSignal;
  /**
   * Hand the run's activation spool (its one LM pass's rows, when it made one) to the caller in the result
   * instead of removing it: e.g. the demo's analysis reads it back. The caller disposes it.
   */
  keepSpool?: boolean;
  /** Stop (with a checkpoint) after this many steps in this process: lets tests interrupt a run. */
  maxStepsThisProcess?: number;
}

export interface TrainResult {
  dictionaryDir: string | null;
  steps: number;
  tokens: number;
  seconds: number;
  cancelled: boolean;
  sae: SaeConfig;
  /** The run's activation spool, when keepSpool asked for it and the run made one (the caller disposes it). */
  spool?: RowSpool | null;
}

export interface CheckpointState {
  format: 'sae-studio-checkpoint-1';
  step: number;
  tokens: number;
  adam_step: number;
  seconds: number;
  stream: ActivationStreamState;
  sae: SaeConfig;
  train_config: TrainConfig;
}

export type Checkpoint = { tensors: HostParams; state: CheckpointState };
export type Emit = (e: TrainEvent) => void;
export type Log = (message: string) => void;

/** Where the dictionary reads and writes: its input and output hook points, and all of them in stream order. */
export interface Hooks {
  hookIn: string;
  hookOut: string;
  all: string[];
}

/** The step schedule, fixed for the whole run. */
export interface Schedule {
  totalSteps: number;
  warmL1: number;
  warmK: number;
  lrFactors: Record<string, number>;
}

/** What the step loop advances (and a checkpoint records). */
export interface Progress {
  step: number;
  tokens: number;
  stepsThisProcess: number;
  /** The stream's state after the last batch trained on: what a checkpoint resumes from. */
  lastState: ActivationStreamState;
  /** Tokens and start of the current logging window (for tokens per second and the dense-latent count). */
  windowStart: number;
  windowTokens: number;
  nextCheckpointTokens: number;
}

/** One run between setup and finish: what setup fixed, the live tensors, and the progress. */
export interface Run {
  cfg: TrainConfig;
  opts: TrainJobOptions;
  emit: Emit;
  log: Log;
  runDir: string;
  resumed: boolean;
  saeCfg: SaeConfig;
  hooks: Hooks;
  sIn: number;
  sOut: number;
  unitNorm: boolean;
  sparse: SparsePathChoice;
  schedule: Schedule;
  stream: ActivationStream;
  /** The batch a new run was initialised from: the first one trained on. */
  pending: ActivationBatch | null;
  sae: Sae;
  adam: Adam;
  book: Bookkeeping;
  priorSeconds: number;
  t0: number;
  progress: Progress;
  /** The statistics pass's rows on disk (null: the stream runs the model). */
  spool: RowSpool | null;
}
