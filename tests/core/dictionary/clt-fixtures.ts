// Shared fixtures of the cross-layer transcoder tests: tiny configs, random weights and inputs.
import { parseConfig } from '../../../src/core/config/validate';
import { uniformGenerator } from '../../../src/core/dictionary/host64';
import { CLT_JUMPRELU_KEY, cltKind } from '../../../src/core/dictionary/kinds/clt';
import type { HostParams } from '../../../src/core/sae/host-tensor';
import { CltConfigSchema, type CltConfig } from '../../../src/protocol/kind-configs/clt';
import type { KindActFn } from '../../../src/protocol/kind-configs/common';

export const ALL_ACTS: KindActFn[] = ['relu', 'jumprelu', 'topk', 'batchtopk', 'layertopk', 'batchlayertopk'];
export const hooksIn = (L: number) => Array.from({ length: L }, (_, l) => `blocks.${l}.ln2.hook_normalized`);
export const hooksOut = (L: number) => Array.from({ length: L }, (_, l) => `blocks.${l}.hook_mlp_out`);

export function config(over: Record<string, unknown> = {}, L = 3, d = 8, F = 12): CltConfig {
  return parseConfig(
    CltConfigSchema,
    {
      sae_type: 'clt',
      d_model: d,
      d_sae: F,
      hook_points_in: hooksIn(L),
      hook_points_out: hooksOut(L),
      norm_activation: 'inference',
      top_k: 3,
      ...over,
    },
    'test config',
  );
}

/** Random weights (not lm-saes's init: biases and thresholds nonzero so that every term is exercised). */
export function randomParams(cfg: CltConfig, seed: number): HostParams {
  const draw = uniformGenerator(seed);
  const p: HostParams = {};
  const scale: Record<string, number> = { W_E: 0.5, b_E: 0.3 };
  for (const [name, shape] of Object.entries(cltKind.stateShapes(cfg))) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data =
      name === CLT_JUMPRELU_KEY
        ? Float32Array.from({ length: size }, () => Math.log(0.15 + Math.abs(draw(0.25))))
        : Float32Array.from({ length: size }, () => draw(scale[name] ?? (name.startsWith('b_D') ? 0.2 : 0.4)));
    p[name] = { data, shape };
  }
  return p;
}

export function randomX(N: number, L: number, d: number, seed: number, scales: number[] = []): Float64Array {
  const draw = uniformGenerator(seed);
  return Float64Array.from({ length: N * L * d }, (_, j) => draw(1) * (scales[Math.floor(j / d) % L] ?? 1));
}

/** Nested-array view of a parameter: get(name)(i, j, k). */
export const at = (p: HostParams, name: string) => {
  const t = p[name]!;
  return (...idx: number[]) => t.data[idx.reduce((o, v, a) => o * t.shape[a]! + v, 0)]!;
};
