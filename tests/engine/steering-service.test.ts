// The studio service's steerFeature over the in-memory transport, on a dictionary saved in lm-saes's layout and
// registered in the store: strength 0 returns the unsteered text token for token; clamping sets the feature's
// activation on the generated tokens; what cannot be steered comes back as one-line invalid_input errors.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/validate';
import { kindOf, saveAnyDictionary } from '../../src/core/dictionary/registry';
import { upsertDictionary } from '../../src/core/store';
import { kindDictionary } from '../helpers/kind-dictionaries';
import { createStudioFixture, type StudioFixture } from './studio-fixture';

let f: StudioFixture;

function register(name: string, kind: ReturnType<typeof kindOf>, cfg: Record<string, unknown>, params: object) {
  const path = join(f.home.dictionaries, name);
  saveAnyDictionary(path, kind, cfg as never, params as never);
  upsertDictionary(f.store, { name, path, config: cfg as { d_sae: number }, modelName: 'pdlm-4l-256' });
}

beforeAll(() => {
  f = createStudioFixture();
  const kind = kindOf('sae');
  const cfg = parseConfig(
    kind.schema,
    {
      hook_point_in: 'blocks.2.hook_resid_post',
      d_model: 256,
      d_sae: 24,
      act_fn: 'relu',
      norm_activation: 'inference',
    },
    'test sae',
  );
  register('steer-sae', kind, cfg as unknown as Record<string, unknown>, kind.init(cfg, 3));
  const lorsa = kindDictionary('lorsa');
  register('steer-lorsa', lorsa.kind, lorsa.cfg as unknown as Record<string, unknown>, lorsa.params);
});

afterAll(async () => {
  await f.close();
});

describe('StudioService steerFeature', () => {
  it('with strength 0 returns the unsteered continuation token for token (sampling, same seed)', async () => {
    const r = await f.client.steerFeature({
      dictionary: 'steer-sae',
      index: 4,
      prompt: 'Once upon a time',
      strength: 0,
      maxNewTokens: 8,
      temperature: 0.8,
      seed: 9,
    });
    expect(r.model).toBe('pdlm-4l-256');
    expect(r.hooks).toEqual(['blocks.2.hook_resid_post']);
    expect(r.steered.ids).toEqual(r.unsteered.ids);
    expect(r.steered.tokens).toHaveLength(r.promptLength + 8);
    expect(r.steered.activations).toHaveLength(r.promptLength + 8);
    expect(r.steered.tokens.slice(r.promptLength).join('')).toBe(r.steered.text);
    expect(r.steeredPositions).toHaveLength(r.promptLength + 8);
  });

  it('clamps the feature on the generated tokens only', async () => {
    const r = await f.client.steerFeature({
      dictionary: 'steer-sae',
      index: 4,
      prompt: 'The cat sat on the mat.',
      mode: 'clamp',
      strength: 6,
      positions: 'generated',
      maxNewTokens: 6,
    });
    expect(r.steeredPositions).toEqual([0, 1, 2, 3, 4, 5].map((i) => r.promptLength + i));
    for (const p of r.steeredPositions) expect(r.steered.activations[p]).toBeCloseTo(6, 4);
    expect(r.steered.activations.slice(0, r.promptLength)).toEqual(r.unsteered.activations.slice(0, r.promptLength));
  });

  it('refuses kinds without a decoder direction, and unknown dictionaries, in one line', async () => {
    await expect(
      f.client.steerFeature({ dictionary: 'steer-lorsa', index: 0, prompt: 'Hello', strength: 1 }),
    ).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/no single decoder direction/) });
    await expect(
      f.client.steerFeature({ dictionary: 'nope', index: 0, prompt: 'Hello', strength: 1 }),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(
      f.client.steerFeature({ dictionary: 'steer-sae', index: 0, prompt: 'Hello', strength: 1, positions: [400] }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/positions: 400 is past the end/),
    });
  });
});
