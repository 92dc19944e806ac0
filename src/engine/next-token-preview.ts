/**
 * The "New circuit" form's preview: the model's next-token probabilities for a prompt, in the process that serves the
 * UI. One forward pass of a small model over a short prompt takes milliseconds once the model is loaded, so the last
 * model used stays loaded, and requests run one at a time. The prompt is read as attribution reads it: a BOS in front
 * where the model has one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../core/errors';
import type { HookedTransformer } from '../core/lm/hooked-transformer';
import { loadModel } from '../core/lm/load-model';
import { ModelTokenizer } from '../core/lm/tokenizer';
import { ensureBackend, type BackendRequest } from '../core/tensor/backend';
import type { NextTokenPreview } from '../protocol/graphs';

interface Loaded {
  ref: string;
  model: HookedTransformer;
  tokenizer: ModelTokenizer;
}

export class NextTokenPreviewer {
  private loaded: Loaded | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly backend: BackendRequest) {}

  run(modelRef: string, prompt: string, top: number): Promise<NextTokenPreview> {
    const next = this.queue.then(() => this.runNow(modelRef, prompt, top));
    this.queue = next.catch(() => undefined);
    return next;
  }

  dispose(): void {
    this.loaded?.model.dispose();
    this.loaded = null;
  }

  private async runNow(modelRef: string, prompt: string, top: number): Promise<NextTokenPreview> {
    if (prompt.trim() === '') throw new InputError('prompt: it is empty; expected some text');
    await ensureBackend(this.backend);
    const { model, tokenizer } = this.load(modelRef);
    let ids = tokenizer.encode(prompt);
    const bos = model.cfg.bosTokenId;
    if (bos !== null && ids[0] !== bos) ids = [bos, ...ids];
    if (ids.length > model.cfg.nCtx)
      throw new InputError(`prompt: ${ids.length} tokens, more than ${modelRef}'s context of ${model.cfg.nCtx}`);
    const probs = tf.tidy(() => {
      const { logits } = model.forward([ids]);
      const last = logits!.slice([0, ids.length - 1, 0], [1, 1, model.cfg.dVocab]).reshape([model.cfg.dVocab]);
      return tf.softmax(last.toFloat());
    });
    const values = (await probs.data()) as Float32Array;
    probs.dispose();
    const order = Array.from(values.keys())
      .sort((a, b) => values[b]! - values[a]!)
      .slice(0, top);
    return {
      model: modelRef,
      promptTokens: tokenizer.tokenStrings(ids),
      top: order.map((id) => ({ id, token: tokenizer.decode([id]), prob: Math.min(1, Math.max(0, values[id]!)) })),
    };
  }

  private load(ref: string): Loaded {
    if (this.loaded?.ref === ref) return this.loaded;
    this.dispose();
    const { model, location } = loadModel(ref);
    this.loaded = { ref, model, tokenizer: ModelTokenizer.load(location.dir) };
    return this.loaded;
  }
}
