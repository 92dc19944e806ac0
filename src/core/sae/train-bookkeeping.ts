// The per-step bookkeeping of a training run, beside the parameters and the optimiser: which latents are dead or
// dense, and BatchTopK's inference threshold; checkpointed with them so that a resumed run continues bit for bit.
import * as tf from '@tensorflow/tfjs-core';
import type { HostParams } from './host-tensor';
import type { StepStats } from './train-step';

const TRACKER = 'tracker.tokens_since_fired';
const EMA_THRESHOLD = 'buffer.batchtopk_threshold';

/**
 * A non-trainable variable holding `init`'s values. tf.variable shares the initial tensor's data and leaves that
 * tensor alive, so it is disposed here: otherwise every new variable would leak a tensor (and its buffer).
 */
function variableFrom(init: tf.Tensor): tf.Variable {
  const v = tf.variable(init, false);
  init.dispose();
  return v;
}

/**
 * The per-step bookkeeping tensors: tokens since each latent last fired (dead latents), firings in the current
 * logging window (dense latents), the BatchTopK threshold's moving average, and cached scalar constants.
 */
export class Bookkeeping {
  readonly tokensSinceFired: tf.Variable;
  readonly emaThreshold: tf.Variable;
  firedWindow: tf.Variable;
  // Constants of the per-step bookkeeping, made once: on webgpu every fresh scalar is an upload (a new staging
  // buffer) each step.
  private readonly constants = new Map<number, tf.Scalar>();

  constructor(
    host: HostParams,
    private readonly F: number,
  ) {
    const tracker = host[TRACKER];
    this.tokensSinceFired = variableFrom(tracker ? tf.tensor1d(tracker.data) : tf.zeros([F]));
    this.emaThreshold = variableFrom(tf.scalar(host[EMA_THRESHOLD]?.data[0] ?? host.batchtopk_threshold?.data[0] ?? 0));
    this.firedWindow = variableFrom(tf.zeros([F]));
  }

  constant(v: number): tf.Scalar {
    let c = this.constants.get(v);
    if (!c) this.constants.set(v, (c = tf.keep(tf.scalar(v))));
    return c;
  }

  /** After a step: reset the trackers of the latents that fired, count the window's firings, move the EMA. */
  update(stats: StepStats, rows: number, firstStepOfNewRun: boolean): void {
    const nextTracker = tf.tidy(() =>
      tf.where(
        tf.greater(stats.fired, this.constant(0)),
        tf.zerosLike(this.tokensSinceFired),
        tf.add(this.tokensSinceFired, this.constant(rows)),
      ),
    );
    this.tokensSinceFired.assign(nextTracker);
    nextTracker.dispose();
    const nextFired = tf.tidy(() => tf.add(this.firedWindow, stats.fired));
    this.firedWindow.assign(nextFired);
    nextFired.dispose();
    const batchThreshold = stats.batchThreshold;
    if (batchThreshold) {
      // The inference threshold of BatchTopK: an exponential moving average of the batches' thresholds.
      const ema = tf.tidy((): tf.Scalar =>
        firstStepOfNewRun
          ? batchThreshold.clone()
          : (tf.add(tf.mul(this.emaThreshold, 0.99), tf.mul(batchThreshold, 0.01)) as tf.Scalar),
      );
      this.emaThreshold.assign(ema);
      ema.dispose();
    }
  }

  /** A new logging window: firings counted from zero. */
  resetWindow(): void {
    this.firedWindow.dispose();
    this.firedWindow = variableFrom(tf.zeros([this.F]));
  }

  /** The tensors a checkpoint stores beside the parameters and optimiser state. */
  checkpointTensors(): Record<string, tf.Tensor> {
    return { [TRACKER]: this.tokensSinceFired, [EMA_THRESHOLD]: this.emaThreshold };
  }

  dispose(): void {
    tf.dispose([this.tokensSinceFired, this.emaThreshold, this.firedWindow, ...this.constants.values()]);
  }
}
