// A set of dictionaries that together replace parts of a model (a replacement model: transcoders or a CLT on the
// MLPs, Lorsas on the attention layers), evaluated as one: every output spliced in at every non-BOS position,
// sequentially in the model's hook order — output i is computed from the inputs the model produces with outputs
// < i already replaced — and the LM's cross-entropy compared with the original model and with all those outputs
// zero-ablated. Per output, the explained variance on the clean run.
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { HookFn, HookedTransformer } from '../lm/hooked-transformer';
import { listHookNames } from '../lm/hooks';
import { sliceRows, type TokenBatch } from '../lm/token-batch';
import type { HostParams } from '../sae/host-tensor';
import { checkDictionaryHooks, kindOutputs, kindTensors } from './apply';
import { meanLoss, outputSlice, spliceNonBos } from './evaluate-kind';
import type { DictionaryKind, KindConfigBase } from './kind';

export interface SetMember {
  name: string;
  kind: DictionaryKind;
  cfg: KindConfigBase;
  params: HostParams;
}

export interface SetEvalResult {
  tokens: number;
  ce_orig: number;
  ce_with_set: number;
  ce_zero_ablation: number;
  ce_loss_recovered: number;
  outputs: { dictionary: string; hook: string; explained_variance: number }[];
}

interface Output {
  member: number;
  t: number;
  hook: string;
}

async function ceOf(model: HookedTransformer, rows: TokenBatch, hooks: Record<string, HookFn>) {
  const { logits } = model.forward(rows, { hooks });
  const r = await meanLoss(logits!, rows);
  logits!.dispose();
  return r;
}

/** The outputs of every member in the model's hook order; two members writing one hook is an error. */
function orderedOutputs(model: HookedTransformer, members: readonly SetMember[]): Output[] {
  const order = new Map(listHookNames(model.cfg).map((h, i) => [h, i]));
  const outputs: Output[] = [];
  const owner = new Map<string, string>();
  members.forEach((m, member) => {
    checkDictionaryHooks(model, m.kind, m.cfg);
    m.kind.hooksOut(m.cfg).forEach((hook, t) => {
      const other = owner.get(hook);
      if (other) throw new InputError(`dictionaries '${other}' and '${m.name}' both replace '${hook}'`);
      owner.set(hook, m.name);
      outputs.push({ member, t, hook });
    });
  });
  return outputs.sort((a, b) => order.get(a.hook)! - order.get(b.hook)!);
}

export async function evaluateDictionarySet(
  model: HookedTransformer,
  members: readonly SetMember[],
  windows: TokenBatch,
  opts: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<SetEvalResult> {
  const outputs = orderedOutputs(model, members);
  const d = model.cfg.dModel;
  const S = windows.seq;
  const batchSize = opts.batchSize ?? Math.max(1, Math.floor(2048 / S));
  const tensors = members.map((m) => kindTensors(m.kind, m.cfg, m.params));
  const allHooks = [...new Set(members.flatMap((m) => [...m.kind.hooksIn(m.cfg), ...m.kind.hooksOut(m.cfg)]))];
  const ce = { orig: { sum: 0, count: 0 }, set: { sum: 0, count: 0 }, zero: { sum: 0, count: 0 } };
  const ev = outputs.map(() => ({ res: 0, sumY: new Float64Array(d), sumYSq: 0, n: 0 }));
  const add = (a: { sum: number; count: number }, b: { sum: number; count: number }) => {
    a.sum += b.sum;
    a.count += b.count;
  };
  try {
    for (let start = 0; start < windows.batch; start += batchSize) {
      const rows = sliceRows(windows, start, batchSize);
      const n = rows.batch * S;
      const clean = model.forward(rows, { cache: allHooks, logits: false });
      const acts: Record<string, Float32Array> = {};
      for (const h of allHooks) acts[h] = (await clean.cache[h]!.data()) as Float32Array;
      tf.dispose(Object.values(clean.cache));
      add(ce.orig, await ceOf(model, rows, {}));
      // Explained variance per output on the clean run (non-BOS rows).
      for (const [i, o] of outputs.entries()) {
        const m = members[o.member]!;
        const y = outputSlice(
          (await kindOutputs(m.kind, m.cfg, tensors[o.member]!, acts, n, S)).recon,
          n,
          m.kind.hooksOut(m.cfg).length,
          o.t,
          d,
        );
        const real = acts[o.hook]!;
        const e = ev[i]!;
        for (let r = 0; r < n; r++) {
          if (r % S === 0) continue;
          e.n++;
          for (let c = 0; c < d; c++) {
            const v = real[r * d + c]!;
            e.res += (y[r * d + c]! - v) ** 2;
            e.sumY[c]! += v;
            e.sumYSq += v * v;
          }
        }
      }
      // Sequential splicing in hook order.
      const spliced: Float32Array[] = [];
      for (const [i, o] of outputs.entries()) {
        const hooks: Record<string, HookFn> = {};
        for (let j = 0; j < i; j++) hooks[outputs[j]!.hook] = (y) => spliceNonBos(y, spliced[j]!);
        const m = members[o.member]!;
        const ins = m.kind.hooksIn(m.cfg);
        const pass = model.forward(rows, { cache: ins, hooks, logits: false });
        const inputs: Record<string, Float32Array> = { ...acts };
        for (const h of ins) inputs[h] = (await pass.cache[h]!.data()) as Float32Array;
        tf.dispose(Object.values(pass.cache));
        const out = await kindOutputs(m.kind, m.cfg, tensors[o.member]!, inputs, n, S);
        spliced.push(outputSlice(out.recon, n, m.kind.hooksOut(m.cfg).length, o.t, d));
      }
      const all: Record<string, HookFn> = {};
      const zero: Record<string, HookFn> = {};
      outputs.forEach((o, i) => {
        all[o.hook] = (y) => spliceNonBos(y, spliced[i]!);
        zero[o.hook] = (y) => spliceNonBos(y, new Float32Array(n * d));
      });
      add(ce.set, await ceOf(model, rows, all));
      add(ce.zero, await ceOf(model, rows, zero));
      opts.onProgress?.(start + rows.batch, windows.batch);
    }
  } finally {
    for (const t of tensors) tf.dispose(Object.values(t));
  }
  const orig = ce.orig.sum / ce.orig.count;
  const withSet = ce.set.sum / ce.set.count;
  const zeroed = ce.zero.sum / ce.zero.count;
  return {
    tokens: ev[0]?.n ?? 0,
    ce_orig: orig,
    ce_with_set: withSet,
    ce_zero_ablation: zeroed,
    ce_loss_recovered: (zeroed - withSet) / (zeroed - orig),
    outputs: outputs.map((o, i) => {
      const e = ev[i]!;
      let meanSq = 0;
      for (const s of e.sumY) meanSq += (s / e.n) ** 2;
      return {
        dictionary: members[o.member]!.name,
        hook: o.hook,
        explained_variance: 1 - e.res / (e.sumYSq - e.n * meanSq),
      };
    }),
  };
}
