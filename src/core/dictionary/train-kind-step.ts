// One optimiser step of the kind trainer (train-kind.ts): lm-saes's generic loss through the kind's tensor forward
// (l_rec = Σ_d (ŷ−y)² averaged over tokens and over the kind's outputs, l_s = Σ_F p(f·n)), tfjs autodiff, Adam with
// the SAE trainer's lr / L1 / K schedules, and the metrics of the steps that log. Also the run's shared state.
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from '../../protocol/run-config';
import { toHost, type HostParams } from '../sae/host-tensor';
import type { Adam } from '../sae/optim/adam';
import { annealedK, learningRate, resolveSteps, warmedCoefficient } from '../sae/optim/schedules';
import type { ModelAndWindows } from '../sae/train-data';
import type { TrainEvent, TrainJobOptions } from '../sae/train-run';
import type { DictionaryKind, KindConfigBase } from './kind';
import type { BatchSource, KindBatch, KindStreamState } from './kind-batches';

/** What the step loop advances (and a checkpoint records). */
export interface KindProgress {
  step: number;
  tokens: number;
  stepsThisProcess: number;
  /** The source's state after the last batch trained on: what a checkpoint resumes from. */
  lastState: KindStreamState;
  nextCheckpointTokens: number;
  /** Start and tokens of the current logging window (tokens per second). */
  windowStart: number;
  windowTokens: number;
}

/** One run between setup and finish: what setup fixed, the live tensors, and the progress. */
export interface KindRun {
  cfg: TrainConfig;
  opts: TrainJobOptions;
  emit: (e: TrainEvent) => void;
  log: (message: string) => void;
  runDir: string;
  kind: DictionaryKind;
  kcfg: KindConfigBase;
  data: ModelAndWindows;
  source: BatchSource;
  /** A new run's first batch, used for the data-dependent initialisation and trained on first. */
  pending: KindBatch | null;
  vars: Record<string, tf.Variable>;
  buffers: Record<string, tf.Tensor>;
  adam: Adam;
  totalSteps: number;
  tokensPerStep: number;
  progress: KindProgress;
  /** Training seconds of the earlier processes of a resumed run. */
  priorSeconds: number;
  t0: number;
}

/** The sparsity penalty Σ_F p(f ⊙ n) averaged over tokens and feature axes; f [N, A, F], n [A, F]. */
function sparsityPenalty(cfg: TrainConfig, f: tf.Tensor3D, n: tf.Tensor2D): tf.Scalar {
  const w = tf.mul(f, n); // f ≥ 0
  switch (cfg.sparsity_loss_type) {
    case null:
      return tf.scalar(0);
    case 'power':
      // relu, not abs: w ≥ 0, and tfjs's abs has gradient −1 at 0 where torch's has 0 (JumpReLU's θ sees it).
      return tf.mean(tf.sum(cfg.p === 1 ? tf.relu(w) : tf.pow(tf.relu(w), cfg.p), 2));
    case 'tanh':
      return tf.mean(tf.sum(tf.tanh(tf.mul(w, cfg.tanh_stretch_coefficient)), 2));
    case 'tanh-quad': {
      const freq = tf.mean(tf.tanh(tf.mul(w, cfg.tanh_stretch_coefficient)), 0); // [A, F]
      return tf.div(tf.sum(tf.mul(freq, tf.add(1, tf.div(freq, cfg.frequency_scale)))), n.shape[0]) as tf.Scalar;
    }
  }
}

/** One optimiser step: lm-saes's generic loss through the kind's tensor forward, Adam, and metrics when due. */
export async function kindStep(run: KindRun, batch: KindBatch): Promise<void> {
  const { cfg, kind, kcfg, vars, buffers, progress, totalSteps } = run;
  const step = progress.step;
  const lr = learningRate(
    {
      name: cfg.lr_scheduler_name,
      lr: cfg.lr,
      totalSteps,
      warmUpSteps: cfg.lr_warm_up_steps,
      coolDownSteps: cfg.lr_cool_down_steps,
      endRatio: cfg.lr_end_ratio,
    },
    step,
  );
  const usesK = kcfg.act_fn !== 'relu' && kcfg.act_fn !== 'jumprelu';
  const k = usesK
    ? annealedK(kcfg.top_k, cfg.initial_k, resolveSteps(cfg.k_warmup_steps, totalSteps), step)
    : undefined;
  const l1 = warmedCoefficient(cfg.l1_coefficient, resolveSteps(cfg.l1_coefficient_warmup_steps, totalSteps), step);
  const N = batch.rows;
  const d = kcfg.d_model;
  const S = run.data.windows.seq;
  const logNow = (step + 1) % cfg.log_frequency === 0 || step + 1 === totalSteps;
  const x = tf.tensor3d(batch.x, [N, kind.hooksIn(kcfg).length, d]);
  const y = tf.tensor3d(batch.y, [N, kind.hooksOut(kcfg).length, d]);
  const weights = batch.lossRows ? tf.tensor1d(batch.lossRows) : null;
  const kept = batch.lossRows ? batch.lossRows.reduce((a, b) => a + b, 0) : N;
  const logged: tf.Tensor[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const params = { ...buffers, ...vars };
    const fwd = kind.tf.forward(kcfg, params, x, { k, seqLen: kind.needsSequences ? S : 1, training: true });
    const perRow = tf.mean(tf.sum(tf.square(tf.sub(fwd.recon, y)), 2), 1); // [N]
    const l_rec = (weights ? tf.div(tf.sum(tf.mul(perRow, weights)), kept) : tf.mean(perRow)) as tf.Scalar;
    const fRows = (weights ? tf.mul(fwd.featureActs, tf.reshape(weights, [N, 1, 1])) : fwd.featureActs) as tf.Tensor3D;
    const penalty =
      cfg.sparsity_loss_type && l1 > 0
        ? (tf.mul(sparsityPenalty(cfg, fRows, kind.tf.gateNorms(kcfg, params)), (l1 * N) / kept) as tf.Scalar)
        : tf.scalar(0);
    if (logNow) logged.push(tf.keep(l_rec), tf.keep(penalty), tf.keep(fwd.featureActs), tf.keep(fwd.recon));
    return tf.add(l_rec, penalty) as tf.Scalar;
  }, Object.values(vars));
  run.adam.apply(Object.fromEntries(Object.entries(vars).map(([n, v]) => [n, grads[v.name]!])), lr);
  tf.dispose(Object.values(grads));
  progress.step += 1;
  progress.stepsThisProcess += 1;
  progress.tokens += kept;
  progress.windowTokens += kept;
  if (logNow) await emitKindMetrics(run, batch, value, logged, { lr, k });
  tf.dispose([value, x, y, ...logged, ...(weights ? [weights] : [])]);
}

async function emitKindMetrics(
  run: KindRun,
  batch: KindBatch,
  value: tf.Scalar,
  logged: tf.Tensor[],
  at: { lr: number; k: number | undefined },
): Promise<void> {
  const { kind, kcfg, progress } = run;
  const [loss, lRec, lS, fData, rData] = await Promise.all([value.data(), ...logged.map((t) => t.data())]);
  const N = batch.rows;
  const nOut = kind.hooksOut(kcfg).length;
  const m = kind.metrics(
    kcfg,
    { ...hostBuffers(kind, kcfg), ...(await toHost(run.vars)) },
    { featureActs: Float64Array.from(fData!), hiddenPre: new Float64Array(0), recon: Float64Array.from(rData!) },
    Float64Array.from(batch.y),
    N,
  );
  const ev = batchEv(rData!, batch.y, N, nOut, kcfg.d_model);
  const l0 = typeof m['metrics/l0'] === 'number' ? m['metrics/l0'] : countActive(fData!) / N / kind.featureAxes(kcfg);
  const now = performance.now();
  run.emit({
    type: 'metrics',
    metrics: {
      step: progress.step,
      tokens: progress.tokens,
      lr: at.lr,
      k: at.k ?? null,
      loss: loss![0]!,
      l_rec: lRec![0]!,
      l_s: lS![0]!,
      l_p: 0,
      l_aux: 0,
      l0,
      explained_variance: ev,
      dead: 0,
      dense: 0,
      tokens_per_second: Math.round(progress.windowTokens / ((now - progress.windowStart) / 1000)),
    },
  });
  progress.windowStart = now;
  progress.windowTokens = 0;
}

/** The kind's buffers as host tensors (the reference and the metrics read them beside the parameters). */
export function hostBuffers(kind: DictionaryKind, cfg: KindConfigBase): HostParams {
  return Object.fromEntries(
    Object.entries(kind.buffers(cfg)).map(([n, b]) => [
      n,
      { data: Float32Array.from(b.data as ArrayLike<number>, Number), shape: [...b.shape] },
    ]),
  );
}

function countActive(f: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < f.length; i++) if (f[i]! > 0) n++;
  return n;
}

/** Mean over outputs of 1 − Σ‖ŷ−y‖² / Σ‖y−ȳ‖² on one batch. */
function batchEv(yHat: ArrayLike<number>, y: ArrayLike<number>, N: number, nOut: number, d: number): number {
  let total = 0;
  for (let t = 0; t < nOut; t++) {
    const mean = new Float64Array(d);
    for (let r = 0; r < N; r++) for (let c = 0; c < d; c++) mean[c]! += y[(r * nOut + t) * d + c]! / N;
    let res = 0;
    let vari = 0;
    for (let r = 0; r < N; r++)
      for (let c = 0; c < d; c++) {
        const i = (r * nOut + t) * d + c;
        res += (yHat[i]! - y[i]!) ** 2;
        vari += (y[i]! - mean[c]!) ** 2;
      }
    total += 1 - res / vari;
  }
  return total / nOut;
}
