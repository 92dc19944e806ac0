/**
 * "Which features fire on this text", in the process that serves the UI: keeps the last dictionary used (with its
 * model and tokenizer) loaded, reloads it when its weights change on disk, and runs one request at a time.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { featuresOnText } from '../core/analysis';
import { InputError } from '../core/errors';
import type { StudioHome } from '../core/home';
import type { HookedTransformer } from '../core/lm/hooked-transformer';
import { loadModel } from '../core/lm/load-model';
import { ModelTokenizer } from '../core/lm/tokenizer';
import { loadDictionary, resolveDictionaryDir, recordedModel } from '../core/sae/dictionary-store';
import { Sae } from '../core/sae/variants/sae';
import { ensureBackend, type BackendRequest } from '../core/tensor/backend';
import type { TokenFeatures } from '../protocol/features';

interface Loaded {
  key: string;
  model: HookedTransformer;
  sae: Sae;
  tokenizer: ModelTokenizer;
}

export class TextInference {
  private loaded: Loaded | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly home: StudioHome,
    private readonly backend: BackendRequest,
  ) {}

  run(dictionary: string, text: string, topFeatures: number): Promise<TokenFeatures[]> {
    const next = this.queue.then(() => this.runNow(dictionary, text, topFeatures));
    this.queue = next.catch(() => undefined);
    return next;
  }

  dispose(): void {
    this.unload();
  }

  private async runNow(dictionary: string, text: string, topFeatures: number): Promise<TokenFeatures[]> {
    await ensureBackend(this.backend);
    const l = this.load(dictionary);
    const rows = await featuresOnText(l.model, l.sae, l.tokenizer, text, { topFeatures });
    return rows.map((r) => ({ position: r.position, tokenId: r.tokenId, token: r.token, features: r.features }));
  }

  private load(dictionary: string): Loaded {
    const dir = resolveDictionaryDir(dictionary, this.home);
    const key = `${dir}@${weightsStamp(dir)}`;
    if (this.loaded?.key === key) return this.loaded;
    this.unload();
    const stored = loadDictionary(dir, this.home);
    const modelRef = recordedModel(stored);
    if (!modelRef) throw new InputError(`${dir}: the dictionary does not record its model`);
    // The basis the dictionary records ('unprocessed' when it records none: the UI has no flag to ask with).
    const { model, location } = loadModel(modelRef, { basis: stored.cfg.activation_basis });
    this.loaded = { key, model, sae: new Sae(stored.cfg, stored.params), tokenizer: ModelTokenizer.load(location.dir) };
    return this.loaded;
  }

  private unload(): void {
    this.loaded?.sae.dispose();
    this.loaded?.model.dispose();
    this.loaded = null;
  }
}

function weightsStamp(dir: string): number {
  try {
    return statSync(join(dir, 'sae_weights.safetensors')).mtimeMs;
  } catch {
    return 0;
  }
}
