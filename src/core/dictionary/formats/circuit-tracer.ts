// circuit-tracer's cross-layer transcoder layout (decoderesearch/circuit-tracer, transcoder/cross_layer_transcoder.py
// `to_safetensors` / `_load_state_dict`): per source layer s, `W_enc_{s}.safetensors` holds W_enc_s [F, d] (the
// transpose of lm-saes's W_E[s]), b_enc_s [F], b_dec_s [d] (the bias of target layer s) and, for JumpReLU,
// threshold_s [F]; `W_dec_{s}.safetensors` holds W_dec_s [F, L−s, d] with W_dec_s[:, t−s, :] = lm-saes W_D.{t}[s].
// circuit-tracer encodes raw activations with no decoder-norm gating: f = h·[h > θ] (or relu(h)). Export therefore
// folds a dataset-wise dictionary first and turns lm-saes's gate on h·n into θ/n; import yields an lm-saes-style
// config with sparsity_include_decoder_norm false, norm_activation 'inference' and log θ, whose forward is
// circuit-tracer's.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CltConfigSchema, type CltConfig } from '../../../protocol/kind-configs/clt';
import { hookName } from '../../../protocol/hook-names';
import { parseConfig } from '../../config/validate';
import { InputError } from '../../errors';
import type { HostParams } from '../../sae/host-tensor';
import { openSafetensors, writeSafetensors, type SafetensorsFile } from '../../tensor/safetensors';
import { f64 } from '../host64';
import { CLT_JUMPRELU_KEY, cltDecoderBiasKey, cltDecoderKey, cltGateNorms, cltKind } from '../kinds/clt';

const encFile = (s: number): string => `W_enc_${s}.safetensors`;
const decFile = (s: number): string => `W_dec_${s}.safetensors`;

/** Writes `dir` in circuit-tracer's layout. relu and jumprelu only (circuit-tracer's CLT has no TopK family). */
export function exportCircuitTracerClt(dir: string, cfg: CltConfig, params: HostParams): void {
  if (cfg.act_fn !== 'relu' && cfg.act_fn !== 'jumprelu')
    throw new InputError(`${dir}: field 'act_fn': circuit-tracer's CLT takes relu or jumprelu, not '${cfg.act_fn}'`);
  const folded = cltKind.fold(cfg, params); // raw activations in and out; exact for relu and jumprelu
  const c = folded.cfg;
  const p = folded.params;
  const L = c.hook_points_in.length;
  const { d_model: d, d_sae: F } = c;
  const n = cltGateNorms(c, p);
  const W_E = f64(p, 'W_E');
  const b_E = f64(p, 'b_E');
  const logT = c.act_fn === 'jumprelu' ? f64(p, CLT_JUMPRELU_KEY) : null;
  const decoders = Array.from({ length: L }, (_, t) => f64(p, cltDecoderKey(t)));
  mkdirSync(dir, { recursive: true });
  // A layer file beyond L (from an earlier, deeper export) would make the folder read back as a deeper CLT.
  const stale = readdirSync(dir).find((f) => Number(/^W_(?:enc|dec)_(\d+)\.safetensors$/.exec(f)?.[1] ?? -1) >= L);
  if (stale)
    throw new InputError(
      `${join(dir, stale)}: already there, but this CLT has ${L} layers; export into an empty folder`,
    );
  for (let s = 0; s < L; s++) {
    const W_enc = new Float32Array(F * d); // [F, d]
    for (let c2 = 0; c2 < d; c2++) for (let i = 0; i < F; i++) W_enc[i * d + c2] = W_E[(s * d + c2) * F + i]!;
    const enc: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {
      [`W_enc_${s}`]: { dtype: 'F32', shape: [F, d], data: W_enc },
      [`b_enc_${s}`]: { dtype: 'F32', shape: [F], data: Float32Array.from(b_E.subarray(s * F, (s + 1) * F)) },
      [`b_dec_${s}`]: { dtype: 'F32', shape: [d], data: Float32Array.from(f64(p, cltDecoderBiasKey(s))) },
    };
    if (logT) {
      // lm-saes gates h·n > θ; with n > 0 that is h > θ/n, circuit-tracer's threshold on h.
      const theta = Float32Array.from({ length: F }, (_, i) => {
        const t = Math.exp(logT[s * F + i]!);
        const norm = c.sparsity_include_decoder_norm ? n[s * F + i]! : 1;
        return norm > 0 ? t / norm : Number.POSITIVE_INFINITY;
      });
      enc[`threshold_${s}`] = { dtype: 'F32', shape: [F], data: theta };
    }
    writeSafetensors(join(dir, encFile(s)), enc);
    const W_dec = new Float32Array(F * (L - s) * d); // [F, L−s, d]
    for (let t = s; t < L; t++)
      for (let i = 0; i < F; i++)
        for (let c2 = 0; c2 < d; c2++) W_dec[(i * (L - s) + (t - s)) * d + c2] = decoders[t]![(s * F + i) * d + c2]!;
    writeSafetensors(join(dir, decFile(s)), { [`W_dec_${s}`]: { dtype: 'F32', shape: [F, L - s, d], data: W_dec } });
  }
}

export interface CircuitTracerImportOptions {
  /** The hooks each layer reads and writes; circuit-tracer's defaults: blocks.{l}.hook_resid_mid → hook_mlp_out. */
  hookPointsIn?: string[];
  hookPointsOut?: string[];
  modelName?: string | null;
}

function tensorOf(file: SafetensorsFile, name: string, shape: number[]): Float32Array {
  if (!file.has(name)) throw new InputError(`${file.path}: missing tensor '${name}' (expected shape [${shape}])`);
  const got = file.info(name).shape;
  if (got.length !== shape.length || got.some((v, i) => v !== shape[i]))
    throw new InputError(`${file.path}: tensor '${name}' has shape [${got}], expected [${shape}]`);
  return file.readFloat32(name);
}

function withFile<T>(path: string, read: (file: SafetensorsFile) => T): T {
  if (!existsSync(path)) throw new InputError(`${path}: missing (a circuit-tracer CLT has one per layer)`);
  const file = openSafetensors(path);
  try {
    return read(file);
  } finally {
    file.close();
  }
}

/** Reads circuit-tracer's layout into an lm-saes-style CLT whose forward equals circuit-tracer's. */
export function importCircuitTracerClt(
  dir: string,
  opts: CircuitTracerImportOptions = {},
): { cfg: CltConfig; params: HostParams } {
  if (!existsSync(dir))
    throw new InputError(`${dir}: missing (expected a folder of W_enc_{l} / W_dec_{l} safetensors)`);
  const L = readdirSync(dir).filter((f) => /^W_enc_\d+\.safetensors$/.test(f)).length;
  if (L === 0) throw new InputError(`${join(dir, encFile(0))}: missing (a circuit-tracer CLT has one per layer)`);
  const [F, d] = withFile(join(dir, encFile(0)), (f) => {
    if (!f.has('W_enc_0'))
      throw new InputError(`${f.path}: missing tensor 'W_enc_0' (expected shape [d_sae, d_model])`);
    const shape = f.info('W_enc_0').shape;
    if (shape.length !== 2)
      throw new InputError(`${f.path}: tensor 'W_enc_0' has shape [${shape}], expected [d_sae, d_model]`);
    return shape as [number, number];
  });
  const hasThreshold = withFile(join(dir, encFile(0)), (f) => f.has('threshold_0'));
  const params: HostParams = {
    W_E: { data: new Float32Array(L * d * F), shape: [L, d, F] },
    b_E: { data: new Float32Array(L * F), shape: [L, F] },
  };
  const logT = new Float32Array(L * F);
  for (let t = 0; t < L; t++)
    params[cltDecoderKey(t)] = { data: new Float32Array((t + 1) * F * d), shape: [t + 1, F, d] };
  for (let s = 0; s < L; s++) {
    withFile(join(dir, encFile(s)), (f) => {
      const W_enc = tensorOf(f, `W_enc_${s}`, [F, d]);
      for (let i = 0; i < F; i++) for (let c = 0; c < d; c++) params.W_E!.data[(s * d + c) * F + i] = W_enc[i * d + c]!;
      params.b_E!.data.set(tensorOf(f, `b_enc_${s}`, [F]), s * F);
      params[cltDecoderBiasKey(s)] = { data: Float32Array.from(tensorOf(f, `b_dec_${s}`, [d])), shape: [d] };
      if (f.has('W_skip') || f.has(`W_skip_${s}`))
        throw new InputError(`${f.path}: tensor 'W_skip': skip connections are not supported`);
      if (hasThreshold) {
        const theta = tensorOf(f, `threshold_${s}`, [F]);
        theta.forEach((v, i) => {
          if (!(v >= 0))
            throw new InputError(`${f.path}: tensor 'threshold_${s}'[${i}] is ${v}; a JumpReLU threshold must be ≥ 0`);
          logT[s * F + i] = Math.log(v);
        });
      } else if (f.has(`threshold_${s}`))
        throw new InputError(`${f.path}: tensor 'threshold_${s}' present but W_enc_0's file has no threshold_0`);
    });
    withFile(join(dir, decFile(s)), (f) => {
      const W_dec = tensorOf(f, `W_dec_${s}`, [F, L - s, d]);
      for (let t = s; t < L; t++) {
        const W = params[cltDecoderKey(t)]!.data;
        for (let i = 0; i < F; i++)
          for (let c = 0; c < d; c++) W[(s * F + i) * d + c] = W_dec[(i * (L - s) + (t - s)) * d + c]!;
      }
    });
  }
  if (hasThreshold) params[CLT_JUMPRELU_KEY] = { data: logT, shape: [L, F] };
  const cfg = parseConfig(
    CltConfigSchema,
    {
      sae_type: 'clt',
      d_model: d,
      d_sae: F,
      hook_points_in: opts.hookPointsIn ?? Array.from({ length: L }, (_, l) => hookName(l, 'hook_resid_mid')),
      hook_points_out: opts.hookPointsOut ?? Array.from({ length: L }, (_, l) => hookName(l, 'hook_mlp_out')),
      act_fn: hasThreshold ? 'jumprelu' : 'relu',
      sparsity_include_decoder_norm: false, // circuit-tracer gates h itself
      norm_activation: 'inference', // circuit-tracer reads raw activations
      model_name: opts.modelName ?? null,
    },
    dir,
  );
  return { cfg, params };
}
