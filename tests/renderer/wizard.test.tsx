// @vitest-environment jsdom
// The new-experiment wizard's validation, against the real studio service (its config check is the one the CLI
// runs) over the in-memory transport: an impossible k, a batch larger than the run, an unknown model folder and an
// unreadable dataset are each reported on their own field, and Next stays disabled until they are fixed.
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WizardPage } from '../../src/renderer/src/pages/WizardPage';
import type { ModelInfo } from '../../src/protocol/models';
import {
  defaultForm,
  toTrainConfig,
  transcoderTarget,
  withModelHooks,
} from '../../src/renderer/src/wizard/wizard-model';
import { issuesToFields } from '../../src/renderer/src/wizard/field-issues';
import { createStudioFixture, type StudioFixture } from '../engine/studio-fixture';
import { renderWithStudio } from './dom';

let f: StudioFixture;
beforeAll(() => {
  f = createStudioFixture();
});
afterAll(async () => {
  await f.close();
});
afterEach(cleanup);

const next = () => screen.getByTestId('wizard-next') as HTMLButtonElement;
const setValue = (testId: string, value: string) => fireEvent.change(screen.getByTestId(testId), { target: { value } });
/** The inline error Mantine shows under the input with this test id. */
async function fieldError(testId: string, text: RegExp): Promise<void> {
  await waitFor(
    () => {
      const input = screen.getByTestId(testId);
      const id = input.getAttribute('aria-describedby') ?? '';
      const described = id
        .split(' ')
        .map((x) => document.getElementById(x)?.textContent ?? '')
        .join(' ');
      expect(input.getAttribute('aria-invalid')).toBe('true');
      expect(described).toMatch(text);
    },
    { timeout: 10_000 },
  );
}

describe('wizard model', () => {
  it('maps the form to a train config and the check issues back to its fields', () => {
    const cfg = toTrainConfig({ ...defaultForm(), hookIn: 'blocks.1.hook_resid_post', topK: '' });
    expect(cfg).toMatchObject({
      model: 'pdlm-4l-256',
      dataset: 'pdlm-corpus',
      sae: { hook_point_in: 'blocks.1.hook_resid_post', act_fn: 'topk', d_sae: 4096 },
    });
    expect((cfg.sae as Record<string, unknown>).top_k).toBeUndefined(); // an empty field is left out, so it is reported
    const mapped = issuesToFields([
      { field: 'config.sae.top_k', message: 'must be at most d_sae = 16' },
      { field: 'config.seed', message: 'bad' },
    ]);
    expect(mapped.byField).toEqual({ topK: 'must be at most d_sae = 16' });
    expect(mapped.other).toEqual([{ field: 'config.seed', message: 'bad' }]);
  });

  it('asks a ReLU dictionary for its sparsity penalty instead of k', () => {
    const cfg = toTrainConfig({ ...defaultForm(), actFn: 'relu', sparsityLoss: 'tanh', l1Coefficient: 3 });
    expect(cfg).toMatchObject({ sparsity_loss_type: 'tanh', l1_coefficient: 3 });
    expect(cfg.sae).not.toHaveProperty('top_k');
    expect(cfg.sae).not.toHaveProperty('sparsity_include_decoder_norm');
  });

  it("fits the form's hooks to the chosen model without forgetting the user's choice", () => {
    const hooks = [
      'hook_embed',
      'blocks.0.hook_resid_post',
      'blocks.0.hook_mlp_out',
      'blocks.1.hook_resid_post',
      'blocks.1.hook_mlp_out',
    ];
    const model: ModelInfo = {
      name: 'm',
      ref: 'm',
      bundled: true,
      architecture: 'gpt2',
      modelType: 'gpt2',
      nLayers: 2,
      dModel: 8,
      nHeads: 2,
      dVocab: 10,
      nCtx: 16,
      dHead: 4,
      rotary: null,
      hookNames: hooks,
    };
    const form = { ...defaultForm(), hookIn: 'blocks.5.hook_resid_post', hookOut: 'blocks.5.hook_mlp_out' };
    expect(withModelHooks(form, model)).toMatchObject({ hookIn: 'blocks.1.hook_resid_post', hookOut: '' });
    expect(withModelHooks(form, null)).toBe(form);
    const chosen = { ...form, hookIn: 'blocks.0.hook_resid_post', hookOut: '' };
    expect(withModelHooks(chosen, model)).toBe(chosen);
    expect(transcoderTarget('blocks.0.hook_resid_post', hooks)).toBe('blocks.0.hook_mlp_out');
  });
});

describe('WizardPage', () => {
  it('refuses an impossible k and a batch larger than the run on their fields, and blocks Next until fixed', async () => {
    renderWithStudio(<WizardPage />, f.client);
    await screen.findByTestId('model-card', {}, { timeout: 20_000 });
    expect(screen.getByTestId('model-card').textContent).toMatch(/4 layers · d_model 256/);
    fireEvent.click(screen.getByTestId('step-dictionary'));
    setValue('d-sae', '1024');
    setValue('top-k', '5000');
    await fieldError('top-k', /must be at most d_sae = 1024/);
    expect(next().disabled).toBe(true);
    setValue('top-k', '32');
    await waitFor(() => expect(next().disabled).toBe(false), { timeout: 10_000 });

    fireEvent.click(screen.getByTestId('step-training'));
    setValue('total-tokens', '8192');
    setValue('batch-size', '16384');
    await fieldError('batch-size', /must be at most total_training_tokens = 8192/);
    expect(next().disabled).toBe(true);
    setValue('batch-size', '4096');
    await waitFor(() => expect(next().disabled).toBe(false), { timeout: 10_000 });
    setValue('lr', '-1');
    await fieldError('lr', /too small|>0|greater than 0/i);
  });

  it('reports a model folder that is not a model, and a dataset that cannot be read, on their fields', async () => {
    renderWithStudio(<WizardPage />, f.client);
    await screen.findByTestId('model-card', {}, { timeout: 20_000 });
    fireEvent.click(screen.getByText('Hugging Face folder'));
    const dir = mkdtempSync(join(tmpdir(), 'sae-studio-wizard-'));
    setValue('model-folder', join(dir, 'missing'));
    await fieldError('model-folder', /no such folder/);
    expect(next().disabled).toBe(true);
    writeFileSync(join(dir, 'config.json'), '{"model_type": "t5"}');
    setValue('model-folder', dir);
    await fieldError('model-folder', /t5/);

    fireEvent.click(screen.getByText('Embedded model'));
    await screen.findByTestId('model-card');
    fireEvent.click(screen.getByTestId('step-dataset'));
    fireEvent.click(screen.getByText('Folder, .jsonl or .parquet'));
    const bad = join(dir, 'broken.jsonl');
    writeFileSync(bad, '{"text": "ok"}\n{not json\n');
    setValue('dataset-path', bad);
    fireEvent.click(screen.getByRole('button', { name: 'Preview tokenized samples' }));
    await fieldError('dataset-path', /broken\.jsonl:2/);
    setValue('dataset-path', join(dir, 'nothing-here.parquet'));
    await fieldError('dataset-path', /no such file or folder/);
    // The review lists the steps to fix.
    fireEvent.click(screen.getByTestId('step-review'));
    const alert = await screen.findByText('Fix the marked steps first');
    expect(within(alert.closest('[role="alert"]') ?? alert.parentElement ?? alert).getByText(/Dataset/)).toBeTruthy();
  });
});
