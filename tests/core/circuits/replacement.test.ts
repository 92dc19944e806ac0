// The replacement model's validation and the engine's bad input, each a one-line InputError naming what is wrong:
// a hook the model lacks, two dictionaries for one MLP, an MLP left uncovered, another d_model or basis, an SAE
// or a kind that cannot be a site, an empty or too long prompt, settings out of range, an unknown feature target.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAttribution } from '../../../src/core/circuits/attribute';
import { describeReplacement, type NamedDictionary } from '../../../src/core/circuits/replacement';
import { InputError } from '../../../src/core/errors';
import { initBackend } from '../../../src/core/tensor/backend';
import { loadModel } from '../../../src/core/lm/load-model';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { archFixture } from '../../helpers/fixtures';
import { clt, lorsas, transcoders } from './replacement-fixtures';

let model: HookedTransformer;
beforeAll(async () => {
  await initBackend('cpu');
  model = loadModel(archFixture('gpt2')).model;
});
afterAll(() => model.dispose());

function expectInputError(fn: () => unknown, pattern: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InputError);
  const message = (err as Error).message;
  expect(message).toMatch(pattern);
  expect(message).not.toContain('\n');
}

const withCfg = (d: NamedDictionary, patch: Record<string, unknown>): NamedDictionary => ({
  ...d,
  cfg: { ...d.cfg, ...patch } as NamedDictionary['cfg'],
});

describe('replacement model: validation', () => {
  it('places transcoders, a CLT and Lorsas on their layers', () => {
    const rm = describeReplacement(model, [...transcoders(model.cfg), ...lorsas(model.cfg)]);
    expect(rm.mlp.map((r) => rm.sites[r.site]!.name)).toEqual(['plt-0', 'plt-1']);
    expect(rm.attn.map((r) => r && rm.sites[r.site]!.name)).toEqual(['lorsa-0', 'lorsa-1']);
    const withClt = describeReplacement(model, [clt(model.cfg)]);
    expect(withClt.mlp).toEqual([
      { site: 0, slot: 0 },
      { site: 0, slot: 1 },
    ]);
    expect(withClt.attn).toEqual([null, null]);
  });

  it('rejects sets that do not cover the model, overlap, or do not fit it', () => {
    const [t0, t1] = transcoders(model.cfg);
    expectInputError(() => describeReplacement(model, [t0!]), /no transcoder or CLT replaces layer 1's MLP/);
    expectInputError(
      () => describeReplacement(model, [t0!, t1!, clt(model.cfg)]),
      /'plt-0' and 'clt' both replace layer 0's MLP/,
    );
    expectInputError(
      () => describeReplacement(model, [withCfg(t0!, { hook_point_out: 'blocks.7.hook_mlp_out' }), t1!]),
      /field 'hook_point_out': 'blocks.7.hook_mlp_out' is not a hook of this gpt2 model/,
    );
    expectInputError(
      () => describeReplacement(model, [withCfg(t0!, { d_model: 32 }), t1!]),
      /'plt-0': field 'd_model': 32, but the model's d_model is 64/,
    );
    expectInputError(
      () => describeReplacement(model, [withCfg(t0!, { activation_basis: 'transformer-lens' }), t1!]),
      /field 'activation_basis': 'transformer-lens', but the model runs in the 'unprocessed' basis/,
    );
    expectInputError(
      () => describeReplacement(model, [withCfg(t0!, { hook_point_out: 'blocks.0.ln2.hook_normalized' }), t1!]),
      /an SAE .* replaces nothing/,
    );
    expectInputError(
      () => describeReplacement(model, [withCfg(t0!, { hook_point_out: 'blocks.0.hook_attn_out' }), t1!]),
      /a transcoder site reads .* and writes blocks\.0\.hook_mlp_out; got/,
    );
    expectInputError(
      () => describeReplacement(model, [withCfg(t0!, { hook_point_out: 'blocks.1.hook_mlp_out' }), t1!]),
      /a replacement site reads and writes one layer/,
    );
    expectInputError(() => describeReplacement(model, [t0!, { ...t1!, name: 'plt-0' }]), /two dictionaries are named/);
    expectInputError(
      () => describeReplacement(model, [t0!, t1!, { ...t1!, name: 'x', kind: { ...t1!.kind, saeType: 'molt' } }]),
      /'x': field 'sae_type': a 'molt' cannot be a replacement site/,
    );
  });
});

describe('attribution engine: bad input', () => {
  const sites = () => transcoders(model.cfg);
  const rejects = async (p: Promise<unknown>, pattern: RegExp) => {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(pattern);
  };

  it('rejects an empty prompt, one longer than the context, and ids outside the vocabulary', async () => {
    await rejects(runAttribution(model, sites(), []), /prompt: empty/);
    const long = Array.from({ length: model.cfg.nCtx + 1 }, () => 1);
    await rejects(runAttribution(model, sites(), long), /longer than the model's context of/);
    await rejects(runAttribution(model, sites(), [1, 99999]), /token 1 is 99999, expected an integer id in 0\.\.511/);
  });

  it('rejects settings out of range and targets that are not on the prompt', async () => {
    await rejects(runAttribution(model, sites(), [1, 2, 3], { desired_logit_prob: 0 }), /field 'desired_logit_prob'/);
    await rejects(runAttribution(model, sites(), [1, 2, 3], { desired_logit_prob: 1.5 }), /field 'desired_logit_prob'/);
    await rejects(runAttribution(model, sites(), [1, 2, 3], { batch_size: 0 }), /field 'batch_size'/);
    await rejects(
      runAttribution(model, sites(), [1, 2, 3], { targets: { type: 'tokens', ids: [600] } }),
      /token id 600 is outside the vocabulary/,
    );
    await rejects(
      runAttribution(model, sites(), [1, 2, 3], {
        targets: { type: 'features', features: [{ dictionary: 'nope', layer: 0, pos: 1, feature: 0 }] },
      }),
      /no dictionary 'nope'/,
    );
    await rejects(
      runAttribution(model, sites(), [1, 2, 3], {
        targets: { type: 'features', features: [{ dictionary: 'plt-0', layer: 0, pos: 0, feature: 0 }] },
      }),
      /is not an active feature node on this prompt/,
    );
  });
});
