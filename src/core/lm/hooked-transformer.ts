// A decoder-only transformer with TransformerLens hook points: forward, run-with-cache that stops after the
// deepest requested hook, and hook functions that observe or replace activations.
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import { block } from './components/block';
import { causalMask } from './components/attention';
import { HookRunner, type HookFn } from './components/hook-runner';
import { applyNorm } from './components/norm';
import { rotaryTables } from './components/rotary';
import { HOOK_EMBED, HOOK_POS_EMBED, hookName } from '../../protocol/hook-names';
import { hookStage, listHookNames } from './hooks';
import type { ModelConfig } from './model-config';
import { listParams, mapParams, type HostTensor, type ModelParams } from './params';
import { checkTokenBatch, tokenBatch, type TokenBatch } from './token-batch';
import { checkWebGpuBinding } from '../tensor/webgpu-guard';
import type { ActivationBasis } from '../../protocol/kind-configs/common';
import { processWeightsTransformerLens } from './weight-processing';
import type { KvCache } from './kv-cache';
import { forwardKernelUsable } from '../tensor/kernels/forward-only';
import { SAE_EMBED } from '../tensor/kernels/kernel-names';

export type { HookFn, HookInfo } from './components/hook-runner';

export interface HostParamsOptions {
  /** The activation basis to run in (default 'unprocessed'); 'transformer-lens' processes the weights first. */
  basis?: ActivationBasis;
}

export interface ForwardOptions {
  /** Hook functions by hook name (several per name run in order). */
  hooks?: Record<string, HookFn | HookFn[]>;
  /** Hook names whose activations are returned. */
  cache?: string[];
  /** Compute logits (default true); when false the pass stops after the deepest cached or hooked point. */
  logits?: boolean;
  /**
   * Incremental decoding: the input holds the positions after those already in the cache (its `length`), which
   * this pass extends. Needs logits (every layer runs). Hooks see only the new positions (HookInfo.positionOffset).
   */
  kvCache?: KvCache;
  /**
   * Resumes a pass at a block boundary instead of embedding the tokens: `activation` ([batch, seq, d_model]) is
   * taken as the output of hook point `hook` (a blocks.L.hook_resid_pre or hook_resid_post), as if a hook had
   * returned it, and the blocks after it run as in a full pass (the same ops, so the same bits). Hooks and cached
   * names must come after that point. Lets an evaluation run the layers below a hook once and the rest once per
   * replacement (see resumePoint).
   */
  from?: { hook: string; activation: tf.Tensor };
}

export interface ForwardResult {
  logits: tf.Tensor3D | null; // [batch, seq, d_vocab]
  cache: Record<string, tf.Tensor>;
}

export class HookedTransformer {
  private readonly hookNameSet: Set<string>;
  private readonly masks = new Map<string, tf.Tensor>();
  private readonly rotary = new Map<number, { cos: tf.Tensor; sin: tf.Tensor }>();
  private disposed = false;

  constructor(
    readonly cfg: ModelConfig,
    private readonly params: ModelParams<tf.Tensor>,
    /** The basis `params` are in: activations are only comparable between models of the same basis. */
    readonly basis: ActivationBasis = 'unprocessed',
  ) {
    this.hookNameSet = new Set(listHookNames(cfg));
  }

  /** Uploads host weights (as loaded, unprocessed) to the active tfjs backend, in the basis asked for. */
  static fromHostParams(
    cfg: ModelConfig,
    loaded: ModelParams<HostTensor>,
    opts: HostParamsOptions = {},
  ): HookedTransformer {
    const basis = opts.basis ?? 'unprocessed';
    const host = basis === 'transformer-lens' ? processWeightsTransformerLens(cfg, loaded) : loaded;
    // On webgpu a weight past the device's binding limit would make every shader reading it fail: refused here.
    for (const [name, t] of listParams(host)) checkWebGpuBinding(`model weight '${name}'`, t.shape);
    return new HookedTransformer(
      cfg,
      mapParams(host, (t) => tf.tensor(t.data, t.shape, 'float32')),
      basis,
    );
  }

  get hookNames(): string[] {
    return [...this.hookNameSet];
  }

  /** Read-only access to the weights (e.g. for direct logit attribution through W_U). */
  get weights(): ModelParams<tf.Tensor> {
    return this.params;
  }

  parameterCount(): number {
    return listParams(this.params).reduce((n, [, t]) => n + t.size, 0);
  }

  forward(input: TokenBatch | ArrayLike<number>[], opts: ForwardOptions = {}): ForwardResult {
    if (this.disposed) throw new Error('HookedTransformer used after dispose()');
    const cfg = this.cfg;
    const batch = tokenBatch(input as TokenBatch | ArrayLike<number>[]);
    const kv = opts.kvCache ?? null;
    const past = kv ? kv.length : 0;
    checkTokenBatch(batch, cfg.dVocab, cfg.nCtx);
    const { batch: B, seq: S } = batch;
    if (kv && opts.logits === false) throw new InputError('forward: a KV cache needs every layer (logits: true)');
    if (kv && opts.from) throw new InputError('forward: a KV cache cannot resume from a hook point (from)');
    // The first block to run: 0, or the block after the resumed point.
    const firstBlock = opts.from ? this.resumeBlock(opts.from, B, S, opts) : 0;
    kv?.begin(B, S);

    const hookMap = new Map<string, HookFn[]>();
    for (const [name, fns] of Object.entries(opts.hooks ?? {})) {
      hookStage(cfg, name, this.hookNameSet);
      hookMap.set(name, Array.isArray(fns) ? fns : [fns]);
    }
    const cacheNames = new Set(opts.cache ?? []);
    for (const name of cacheNames) hookStage(cfg, name, this.hookNameSet);
    const wantLogits = opts.logits ?? true;
    const lastStage = wantLogits
      ? cfg.nLayers
      : Math.max(-1, ...[...cacheNames, ...hookMap.keys()].map((n) => hookStage(cfg, n, this.hookNameSet)));

    const out = tf.tidy((): tf.TensorContainer => {
      const ctxTables = kv ? kv.rotary(S) : this.tables(S);
      const hooks = new HookRunner(hookMap, cacheNames, past);
      let resid = opts.from ? opts.from.activation : this.embed(batch, past, hooks);
      const lastBlock = Math.min(lastStage, cfg.nLayers - 1);
      for (let l = firstBlock; l <= lastBlock; l++) {
        const window = cfg.slidingWindows[l] ?? null;
        const mask = kv ? kv.mask(S, window) : this.mask(S, window);
        const ctx = { batch: B, seq: S, mask, window, ...ctxTables, kvCache: kv };
        resid = block(resid, this.params.blocks[l]!, cfg, l, ctx, hooks);
      }
      let logits: tf.Tensor3D | null = null;
      if (lastStage >= cfg.nLayers) {
        const normed = applyNorm(cfg.normType, resid, this.params.lnFinal, cfg.normEps, hooks, 'ln_final');
        if (wantLogits) {
          let l2 = tf.matMul(normed.reshape([B * S, cfg.dModel]) as tf.Tensor2D, this.params.W_U as tf.Tensor2D);
          if (this.params.b_U) l2 = tf.add(l2, this.params.b_U);
          if (cfg.finalSoftcap !== null) l2 = tf.mul(tf.tanh(tf.div(l2, cfg.finalSoftcap)), cfg.finalSoftcap);
          logits = l2.reshape([B, S, cfg.dVocab]) as tf.Tensor3D;
        }
      }
      return { logits, cache: hooks.cache } as unknown as tf.TensorContainer;
    }) as unknown as ForwardResult;
    kv?.commit();
    return out;
  }

  /**
   * The block boundary a pass can resume from (ForwardOptions.from) to reach hook point `name` again: `name`
   * itself for a hook_resid_pre or hook_resid_post, the block's hook_resid_pre for a hook inside a block (that
   * block then runs again, with the hook applied), the last block's hook_resid_post for the final norm's hooks,
   * and null for the embeddings (nothing to skip).
   */
  resumePoint(name: string): string | null {
    const stage = hookStage(this.cfg, name, this.hookNameSet);
    if (stage < 0) return null;
    if (stage >= this.cfg.nLayers) return hookName(this.cfg.nLayers - 1, 'hook_resid_post');
    if (name === hookName(stage, 'hook_resid_post')) return name;
    return hookName(stage, 'hook_resid_pre');
  }

  /** Activations at `names` without logits; the pass stops after the block holding the deepest of them. */
  runWithCache(
    input: TokenBatch | ArrayLike<number>[],
    names: string[],
    opts: Omit<ForwardOptions, 'cache'> = {},
  ): ForwardResult {
    if (names.length === 0) throw new InputError('runWithCache: no hook names given');
    return this.forward(input, { ...opts, cache: names, logits: opts.logits ?? false });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const [, t] of listParams(this.params)) t.dispose();
    for (const t of this.masks.values()) t.dispose();
    for (const { cos, sin } of this.rotary.values()) tf.dispose([cos, sin]);
  }

  /** The token (and position) embeddings with their hooks: [B, S, d], the input of block 0. */
  private embed(batch: TokenBatch, past: number, hooks: HookRunner): tf.Tensor {
    const cfg = this.cfg;
    const { batch: B, seq: S } = batch;
    const ids = tf.tensor2d(batch.ids, [B, S], 'int32');
    // Token and position rows in one native pass where nothing watches either embedding on its own.
    if (
      cfg.embedScale === null &&
      !hooks.watches(HOOK_EMBED) &&
      !hooks.watches(HOOK_POS_EMBED) &&
      forwardKernelUsable(SAE_EMBED, this.params.W_E, ...(this.params.W_pos ? [this.params.W_pos] : []))
    ) {
      const inputs: tf.NamedTensorMap = { W_E: this.params.W_E, ids };
      if (this.params.W_pos) inputs.W_pos = this.params.W_pos;
      return tf.engine().runKernel(SAE_EMBED, inputs, { pos0: past } as unknown as tf.NamedAttrMap) as tf.Tensor;
    }
    let embed = tf.gather(this.params.W_E, ids); // [B, S, d]
    if (cfg.embedScale !== null) embed = tf.mul(embed, cfg.embedScale);
    let resid = hooks.point(HOOK_EMBED, embed);
    if (this.params.W_pos) {
      const pos = tf.slice(this.params.W_pos, [past, 0], [S, cfg.dModel]).expandDims(0); // [1, S, d], broadcast below
      // Materialised to [B, S, d] only when something reads or changes hook_pos_embed.
      resid = tf.add(
        resid,
        hooks.watches(HOOK_POS_EMBED) ? hooks.point(HOOK_POS_EMBED, tf.broadcastTo(pos, [B, S, cfg.dModel])) : pos,
      );
    }
    return resid;
  }

  /** Checks a resumed pass (ForwardOptions.from); returns the first block it runs. */
  private resumeBlock(
    from: { hook: string; activation: tf.Tensor },
    B: number,
    S: number,
    opts: ForwardOptions,
  ): number {
    const cfg = this.cfg;
    const stage = hookStage(cfg, from.hook, this.hookNameSet);
    const isPre = from.hook === hookName(stage, 'hook_resid_pre');
    if (!isPre && from.hook !== hookName(stage, 'hook_resid_post')) {
      throw new InputError(
        `forward: cannot resume from '${from.hook}', expected a hook_resid_pre or hook_resid_post (see resumePoint)`,
      );
    }
    const want = [B, S, cfg.dModel];
    const shape = from.activation.shape;
    if (shape.length !== 3 || shape.some((d, i) => d !== want[i])) {
      throw new InputError(
        `forward: the activation resumed at '${from.hook}' has shape [${shape}], expected [${want}]`,
      );
    }
    const first = isPre ? stage : stage + 1;
    // Every hook and cached point must lie after the resumed one (block `first` on, not its own hook_resid_pre).
    const before = (n: string) => hookStage(cfg, n, this.hookNameSet) < first || n === from.hook;
    const early = [...Object.keys(opts.hooks ?? {}), ...(opts.cache ?? [])].find(before);
    if (early !== undefined) {
      throw new InputError(`forward: hook '${early}' lies at or before '${from.hook}', where the pass resumes`);
    }
    return first;
  }

  private mask(seq: number, window: number | null): tf.Tensor {
    const key = `${seq}:${window}`;
    let m = this.masks.get(key);
    if (!m) {
      m = tf.keep(causalMask(seq, window));
      this.masks.set(key, m);
    }
    return m;
  }

  private tables(seq: number): { cos: tf.Tensor | null; sin: tf.Tensor | null } {
    const r = this.cfg.rotary;
    if (!r) return { cos: null, sin: null };
    let t = this.rotary.get(seq);
    if (!t) {
      const { cos, sin } = rotaryTables(r, seq);
      t = { cos: tf.keep(tf.tensor4d(cos, [1, seq, 1, r.dim])), sin: tf.keep(tf.tensor4d(sin, [1, seq, 1, r.dim])) };
      this.rotary.set(seq, t);
    }
    return t;
  }
}
