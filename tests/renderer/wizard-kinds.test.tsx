// @vitest-environment jsdom
// The wizard's dictionary kinds against the real studio service over the in-memory transport: each kind's
// defaults on pdlm-4l-256 (taken from the model record the service sends) make a config the service's check
// accepts; the check's issues land on the field that edits them (a Lorsa whose QK heads do not divide d_sae,
// rotary positions on a model with learned ones, a MoLT rank count of zero); and the page offers each kind with its
// explanation and only the fields it needs.
import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DICTIONARY_KIND_TEXTS } from '../../src/protocol/dictionary-kinds';
import type { ModelInfo } from '../../src/protocol/models';
import { DICTIONARY_KINDS, type DictionaryKindName } from '../../src/protocol/run-config';
import { allKinds } from '../../src/core/dictionary/registry';
import { WizardPage } from '../../src/renderer/src/pages/WizardPage';
import { cltHooks, rankCountsSum } from '../../src/renderer/src/wizard/kind-fields';
import {
  actFnOptions,
  chooseKind,
  defaultForm,
  toTrainConfig,
  withModelHooks,
  type WizardForm,
} from '../../src/renderer/src/wizard/wizard-model';
import { issuesToFields } from '../../src/renderer/src/wizard/field-issues';
import { createStudioFixture, type StudioFixture } from '../engine/studio-fixture';
import { renderWithStudio } from './dom';

let f: StudioFixture;
let pdlm: ModelInfo;
beforeAll(async () => {
  f = createStudioFixture();
  const { models } = await f.client.listModels({});
  pdlm = models.find((m) => m.ref === 'pdlm-4l-256')!;
});
afterAll(async () => {
  await f.close();
});
afterEach(cleanup);

/** The form of `kind` on pdlm-4l-256 as the wizard derives it, with a short run. */
const formOf = (kind: DictionaryKindName, patch: Partial<WizardForm> = {}): WizardForm =>
  withModelHooks({ ...chooseKind(defaultForm(), kind, pdlm), totalTokens: 8192, batchSize: 4096, ...patch }, pdlm);

describe('wizard kinds: the model', () => {
  it('mirrors the core registry: every kind offered with the same label and description', () => {
    expect(allKinds().map((k) => k.saeType)).toEqual([...DICTIONARY_KINDS]);
    for (const k of allKinds()) {
      const text = DICTIONARY_KIND_TEXTS[k.saeType as DictionaryKindName];
      expect({ label: k.label, description: k.description }).toEqual({
        label: text.label,
        description: text.description,
      });
    }
  });

  it('the model record carries what a Lorsa needs: pdlm has learned positions and 8 heads of 32', () => {
    expect(pdlm).toMatchObject({ nHeads: 8, dHead: 32, nCtx: 256, rotary: null });
  });

  it("derives each kind's hooks and shapes from the model", () => {
    expect(toTrainConfig(formOf('crosscoder')).sae).toMatchObject({
      sae_type: 'crosscoder',
      hook_points: ['blocks.1.hook_resid_post', 'blocks.2.hook_resid_post', 'blocks.3.hook_resid_post'],
      d_sae: 2048,
      top_k: 32,
    });
    const clt = toTrainConfig(formOf('clt', { cltFirstLayer: 1, cltLastLayer: 2 })).sae;
    expect(clt).toMatchObject({
      sae_type: 'clt',
      hook_points_in: ['blocks.1.ln2.hook_normalized', 'blocks.2.ln2.hook_normalized'],
      hook_points_out: ['blocks.1.hook_mlp_out', 'blocks.2.hook_mlp_out'],
    });
    expect(cltHooks(formOf('clt')).in).toHaveLength(4);
    expect(toTrainConfig(formOf('lorsa')).sae).toMatchObject({
      sae_type: 'lorsa',
      hook_point_in: 'blocks.2.ln1.hook_normalized',
      hook_point_out: 'blocks.2.hook_attn_out',
      n_qk_heads: 8,
      d_qk_head: 32,
      n_ctx: 256,
      positional_embedding_type: 'none',
    });
    const molt = formOf('molt');
    expect(toTrainConfig(molt).sae).toMatchObject({
      sae_type: 'molt',
      hook_point_in: 'blocks.2.ln2.hook_normalized',
      hook_point_out: 'blocks.2.hook_mlp_out',
      rank_counts: { '1': 256, '2': 128, '4': 64, '8': 32 },
    });
    expect(toTrainConfig(molt).sae).not.toHaveProperty('d_sae');
    expect(rankCountsSum(molt.rankCounts)).toBe(480);
    // Picking a kind renames a dictionary that still has the previous kind's name, and only that.
    expect(chooseKind(defaultForm(), 'clt', pdlm).name).toBe('clt');
    expect(chooseKind({ ...defaultForm(), name: 'mine' }, 'clt', pdlm).name).toBe('mine');
  });

  it("the service's check accepts every kind's defaults on pdlm-4l-256", async () => {
    for (const kind of DICTIONARY_KINDS) {
      const r = await f.client.validateTrainConfig({ config: toTrainConfig(formOf(kind)) });
      expect({ kind, issues: r.ok ? [] : r.issues }).toEqual({ kind, issues: [] });
    }
  });

  it("offers the layer-wide TopK to the CLT alone, and the service's check takes it", async () => {
    expect(actFnOptions('clt').map((o) => o.value)).toContain('layertopk');
    for (const kind of ['sae', 'crosscoder', 'lorsa', 'molt'] as const)
      expect(actFnOptions(kind).map((o) => o.value)).not.toContain('layertopk');
    const clt = formOf('clt', { actFn: 'layertopk', topK: 32 });
    expect(toTrainConfig(clt).sae).toMatchObject({ act_fn: 'layertopk', top_k: 32 });
    const r = await f.client.validateTrainConfig({ config: toTrainConfig(clt) });
    expect(r.ok ? [] : r.issues).toEqual([]);
    // k of a layer-wide TopK is bounded by n_layers × d_sae, not d_sae.
    const big = await f.client.validateTrainConfig({ config: toTrainConfig({ ...clt, dSae: 16, topK: 65 }) });
    expect(big.ok ? null : issuesToFields(big.issues, 'clt').byField.topK).toMatch(/n_layers × d_sae = 64/);
    expect(chooseKind(clt, 'crosscoder', pdlm).actFn).toBe('topk');
  });

  it("maps the check's issues onto the fields that edit them", async () => {
    const check = async (form: WizardForm) => {
      const r = await f.client.validateTrainConfig({ config: toTrainConfig(form) });
      expect(r.ok).toBe(false);
      return issuesToFields(r.ok ? [] : r.issues, form.saeType).byField;
    };
    expect((await check(formOf('lorsa', { nQkHeads: 3 }))).nQkHeads).toMatch(/must divide d_sae = 1024/);
    const rotary = { positional: 'rotary' as const, rotaryDim: 32, rotaryBase: 10000, adjacentPairs: false };
    expect((await check(formOf('lorsa', { lorsaRotary: rotary }))).lorsaRotary).toMatch(/must be 'none'/);
    expect((await check(formOf('lorsa', { nCtx: 64 }))).nCtx).toMatch(/at least the training windows' 256/);
    expect((await check(formOf('lorsa', { lorsaLayer: 9 }))).lorsaLayer).toMatch(/blocks\.9/);
    const zero = [
      { rank: 1, count: 16 },
      { rank: 2, count: 0 },
    ];
    expect((await check(formOf('molt', { rankCounts: zero }))).rankCounts).toMatch(/count of rank 2/);
    expect((await check(formOf('clt', { cltFirstLayer: 3, cltLastLayer: 1 }))).cltLastLayer).toMatch(/at least one/);
    expect((await check(formOf('crosscoder', { crosscoderHooks: [] }))).crosscoderHooks).toMatch(/at least one/);
    expect((await check(formOf('crosscoder', { topK: 5000 }))).topK).toMatch(/at most d_sae = 2048/);
    // A field no wizard input edits stays on the review step.
    expect(issuesToFields([{ field: 'config.sae.use_decoder_bias', message: 'x' }], 'crosscoder').other).toHaveLength(
      1,
    );
  });
});

const next = () => screen.getByTestId('wizard-next') as HTMLButtonElement;
const setValue = (testId: string, value: string) => fireEvent.change(screen.getByTestId(testId), { target: { value } });

describe('wizard kinds: the page', () => {
  it('explains each kind, shows only its fields, and reports a Lorsa head count that does not divide d_sae', async () => {
    renderWithStudio(<WizardPage />, f.client);
    await screen.findByTestId('model-card', {}, { timeout: 20_000 });
    fireEvent.click(screen.getByTestId('step-kind'));
    for (const kind of DICTIONARY_KINDS) expect(screen.getByText(DICTIONARY_KIND_TEXTS[kind].description)).toBeTruthy();

    fireEvent.click(screen.getByTestId('kind-clt'));
    fireEvent.click(screen.getByTestId('step-hook'));
    expect(screen.queryByTestId('crosscoder-hooks')).toBeNull();
    expect((screen.getByTestId('clt-last-layer') as HTMLInputElement).value).toBe('3');
    expect(screen.getByText(/hook_points_out: blocks\.0\.hook_mlp_out, .*blocks\.3\.hook_mlp_out/)).toBeTruthy();

    fireEvent.click(screen.getByTestId('step-kind'));
    fireEvent.click(screen.getByTestId('kind-lorsa'));
    fireEvent.click(screen.getByTestId('step-dictionary'));
    expect(screen.queryByTestId('rank-table')).toBeNull();
    expect((screen.getByTestId('n-qk-heads') as HTMLInputElement).value).toBe('8');
    setValue('n-qk-heads', '3');
    await waitFor(
      () => {
        const input = screen.getByTestId('n-qk-heads');
        expect(input.getAttribute('aria-invalid')).toBe('true');
        expect(document.body.textContent).toMatch(/must divide d_sae = 1024/);
      },
      { timeout: 10_000 },
    );
    expect(next().disabled).toBe(true);
    setValue('n-qk-heads', '4');
    await waitFor(() => expect(next().disabled).toBe(false), { timeout: 10_000 });

    fireEvent.click(screen.getByTestId('step-kind'));
    fireEvent.click(screen.getByTestId('kind-molt'));
    fireEvent.click(screen.getByTestId('step-dictionary'));
    expect(screen.queryByTestId('d-sae')).toBeNull();
    expect(screen.getByTestId('molt-d-sae').textContent).toMatch(/d_sae = 480/);
    setValue('rank-count-0', '100');
    await waitFor(() => expect(screen.getByTestId('molt-d-sae').textContent).toMatch(/d_sae = 324/));
  });
});
