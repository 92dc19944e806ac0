// Per-layer transcoders viewed as a CLT with zero cross-layer decoders compute exactly what the transcoders do.
import { describe, expect, it } from 'vitest';
import { SaeConfigSchema } from '../../../src/protocol/dictionary-config';
import { uniformGenerator } from '../../../src/core/dictionary/host64';
import { kindOf } from '../../../src/core/dictionary/registry';
import { transcodersAsClt } from '../../../src/core/dictionary/transcoder-set';
import type { HostParams } from '../../../src/core/sae/host-tensor';
import { expectClose } from '../../helpers/expect-close';

const d = 8;
const F = 12;
const L = 3;
const u = uniformGenerator(3);
const rand = (n: number, b = 0.5) => Float32Array.from({ length: n }, () => u(b));

function transcoder(l: number) {
  const cfg = SaeConfigSchema.parse({
    hook_point_in: `blocks.${l}.ln2.hook_normalized`,
    hook_point_out: `blocks.${l}.hook_mlp_out`,
    d_model: d,
    d_sae: F,
    act_fn: 'topk',
    top_k: 3,
    norm_activation: 'inference',
    sparsity_include_decoder_norm: true,
  });
  const params: HostParams = {
    W_E: { data: rand(d * F), shape: [d, F] },
    b_E: { data: rand(F, 0.1), shape: [F] },
    W_D: { data: rand(F * d), shape: [F, d] },
    b_D: { data: rand(d, 0.1), shape: [d] },
  };
  return { cfg, params, dir: `layer-${l}` };
}

describe('transcodersAsClt', () => {
  it('the CLT of zero cross-layer decoders equals the per-layer transcoders, layer by layer', () => {
    const ts = Array.from({ length: L }, (_, l) => transcoder(l));
    const set = transcodersAsClt(ts);
    const B = 2;
    const S = 5;
    const x = Float64Array.from({ length: B * S * L * d }, () => u(2));
    const clt = kindOf('clt').reference(set.cfg, set.params, { x, B, S });
    const sae = kindOf('sae');
    ts.forEach((t, l) => {
      const xl = new Float64Array(B * S * d);
      for (let r = 0; r < B * S; r++) xl.set(x.subarray((r * L + l) * d, (r * L + l + 1) * d), r * d);
      const own = sae.reference(t.cfg, t.params, { x: xl, B, S });
      const recon = new Float64Array(B * S * d);
      const acts = new Float64Array(B * S * F);
      for (let r = 0; r < B * S; r++) {
        recon.set(clt.recon.subarray((r * L + l) * d, (r * L + l + 1) * d), r * d);
        acts.set(clt.featureActs.subarray((r * L + l) * F, (r * L + l + 1) * F), r * F);
      }
      expectClose(recon, own.recon, { rtol: 1e-12, label: `layer ${l} reconstruction` });
      expectClose(acts, own.featureActs, { rtol: 1e-12, label: `layer ${l} features` });
      expect(own.featureActs.filter((v) => v > 0).length).toBeGreaterThan(0);
    });
  });

  it('refuses transcoders that disagree', () => {
    const a = transcoder(0);
    const b = { ...transcoder(1), cfg: { ...transcoder(1).cfg, top_k: 4 } };
    expect(() => transcodersAsClt([a, b])).toThrow(/layer-1: the transcoders of a set must share/);
  });
});
