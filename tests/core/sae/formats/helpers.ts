// Shared builders for the dictionary-format suites: configs, seeded random dictionaries and inputs, a forward
// pass through `Sae` read back to the host, and scratch directories.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SaeConfigSchema, type SaeConfig, type SaeConfigInput } from '../../../../src/protocol/dictionary-config';
import { Mt19937 } from '../../../../src/core/data/random/mt19937';
import type { HostParams } from '../../../../src/core/sae/host-tensor';
import { Sae, saeBufferShapes, saeParamShapes } from '../../../../src/core/sae/variants/sae';

export const HOOK = 'blocks.1.hook_resid_post';
export const HOOK_IN = 'blocks.2.ln2.hook_normalized';
export const HOOK_OUT = 'blocks.2.hook_mlp_out';

export function buildSaeConfig(overrides: Partial<SaeConfigInput> = {}): SaeConfig {
  return SaeConfigSchema.parse({
    hook_point_in: HOOK,
    d_model: 8,
    d_sae: 24,
    top_k: 4,
    norm_activation: 'inference',
    ...overrides,
  });
}

/** A transcoder config (hook_point_out ≠ hook_point_in). */
export function buildTranscoderConfig(overrides: Partial<SaeConfigInput> = {}): SaeConfig {
  return buildSaeConfig({ hook_point_in: HOOK_IN, hook_point_out: HOOK_OUT, ...overrides });
}

export function uniform(seed: number): (lo: number, hi: number) => number {
  const mt = new Mt19937(seed);
  return (lo, hi) => lo + (hi - lo) * mt.nextFloat53();
}

/**
 * A random dictionary with unequal decoder row norms (so decoder-norm handling matters), a nonzero b_D, JumpReLU
 * thresholds and a BatchTopK threshold inside the range of the scores, so that some latents fire and some do not.
 */
export function randomParams(cfg: SaeConfig, seed: number): HostParams {
  const u = uniform(seed);
  const shapes = { ...saeParamShapes(cfg), ...saeBufferShapes(cfg) };
  const params: HostParams = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name === 'W_D') {
      data = new Float32Array(n);
      for (let i = 0; i < cfg.d_sae; i++) {
        const rowScale = u(0.2, 2);
        for (let j = 0; j < cfg.d_model; j++) data[i * cfg.d_model + j] = rowScale * u(-0.5, 0.5);
      }
    } else if (name === 'log_jumprelu_threshold') data = Float32Array.from({ length: n }, () => Math.log(u(0.05, 0.6)));
    else if (name === 'batchtopk_threshold') data = Float32Array.of(0.3);
    else data = Float32Array.from({ length: n }, () => u(-0.5, 0.5) * (name.startsWith('b_') ? 0.4 : 1));
    params[name] = { data, shape };
  }
  return params;
}

export function randomInputs(rows: number, d: number, seed: number, scale = 1): Float32Array {
  const u = uniform(seed);
  return Float32Array.from({ length: rows * d }, () => scale * u(-1, 1));
}

export function scaledCopy(x: Float32Array, factor: number): Float32Array {
  return Float32Array.from(x, (v) => v * factor);
}

export interface HostForward {
  acts: Float32Array; // [B, d_sae]
  recon: Float32Array; // [B, d_model]
}

/** Sae.forward in inference mode (BatchTopK applies its threshold), read back to the host. */
export async function forward(cfg: SaeConfig, params: HostParams, x: Float32Array): Promise<HostForward> {
  const sae = new Sae(cfg, params);
  try {
    const xt = tf.tensor2d(x, [x.length / cfg.d_model, cfg.d_model]);
    const out = sae.forward(xt);
    const result = { acts: (await out.acts!.data()) as Float32Array, recon: (await out.recon.data()) as Float32Array };
    tf.dispose([xt, out.pre!, out.acts!, out.recon, ...(out.indices ? [out.indices] : [])]);
    return result;
  } finally {
    sae.dispose();
  }
}

export function countNonzero(a: Float32Array): number {
  return a.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);
}

/** A scratch directory per suite; `remove()` deletes it. */
export function scratch(prefix: string): { dir: string; remove(): void; entries(): string[] } {
  const dir = mkdtempSync(join(tmpdir(), `sae-studio-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }), entries: () => readdirSync(dir).sort() };
}
