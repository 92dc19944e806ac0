/**
 * Steering in the process that serves the UI: a feature's steered and unsteered continuations of a prompt
 * (core/steering), with the last dictionary used (its model and tokenizer) kept loaded and reloaded when its
 * weights change on disk, one request at a time. The prompt is read as the other live views read it: a BOS in
 * front where the model has one.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../core/errors';
import { loadAnyDictionary, type AnyDictionary } from '../core/dictionary/registry';
import type { HookedTransformer } from '../core/lm/hooked-transformer';
import { loadModel } from '../core/lm/load-model';
import { ModelTokenizer } from '../core/lm/tokenizer';
import { steerContinuation, type Continuation } from '../core/steering/steer';
import { getDictionary, type Store } from '../core/store';
import { ensureBackend, type BackendRequest } from '../core/tensor/backend';
import type { SteeredText, SteerFeatureResponse, SteeringSettings } from '../protocol/steering';

export interface SteerFeatureInput extends SteeringSettings {
  dictionary: string;
  index: number;
  prompt: string;
}

interface Loaded {
  key: string;
  modelRef: string;
  model: HookedTransformer;
  dict: AnyDictionary;
  tokenizer: ModelTokenizer;
}

export class FeatureSteerer {
  private loaded: Loaded | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly backend: BackendRequest,
  ) {}

  run(input: SteerFeatureInput): Promise<SteerFeatureResponse> {
    const next = this.queue.then(() => this.runNow(input));
    this.queue = next.catch(() => undefined);
    return next;
  }

  dispose(): void {
    this.loaded?.model.dispose();
    this.loaded = null;
  }

  private async runNow(input: SteerFeatureInput): Promise<SteerFeatureResponse> {
    if (input.prompt.trim() === '') throw new InputError('prompt: it is empty; expected some text');
    await ensureBackend(this.backend);
    const l = this.load(input.dictionary);
    let ids = l.tokenizer.encode(input.prompt);
    const bos = l.model.cfg.bosTokenId;
    if (bos !== null && ids[0] !== bos) ids = [bos, ...ids];
    const r = await steerContinuation(l.model, l.dict, input.index, ids, input);
    const text = (c: Continuation): SteeredText => ({
      tokens: l.tokenizer.tokenStrings(c.ids),
      ids: c.ids,
      activations: c.activations.map((a) => (Number.isFinite(a) ? a : 0)),
      text: l.tokenizer.decode(c.ids.slice(r.promptLength)),
    });
    return {
      model: l.modelRef,
      hooks: r.hooks,
      promptLength: r.promptLength,
      steeredPositions: r.steeredPositions,
      unsteered: text(r.unsteered),
      steered: text(r.steered),
    };
  }

  private load(name: string): Loaded {
    const row = getDictionary(this.store, name);
    const key = `${row.path}@${weightsStamp(row.path)}`;
    if (this.loaded?.key === key) return this.loaded;
    this.dispose();
    const dict = loadAnyDictionary(row.path);
    const fromLm = dict.lmConfig?.model_name;
    const modelRef = row.modelName ?? (typeof fromLm === 'string' ? fromLm : dict.cfg.model_name);
    if (!modelRef) throw new InputError(`dictionary '${name}': it records no model to steer`);
    const { model, location } = loadModel(modelRef, { basis: dict.cfg.activation_basis });
    this.loaded = { key, modelRef, model, dict, tokenizer: ModelTokenizer.load(location.dir) };
    return this.loaded;
  }
}

/** The newest modification time of the folder's safetensors files (0 where there are none). */
function weightsStamp(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .reduce((t, f) => Math.max(t, statSync(join(dir, f)).mtimeMs), 0);
}
