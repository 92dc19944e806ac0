// When a training run spools its statistics pass: a new run that runs that pass, on the fly, with room on disk; not
// a resumed run (which removes a spool a killed run left behind) nor one reading an activation cache.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SaeConfigSchema } from '../../../src/protocol/dictionary-config';
import { TrainConfigSchema } from '../../../src/protocol/run-config';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { loadModel } from '../../../src/core/lm/load-model';
import { referenceTopKRecipe } from '../../../src/core/sae/recipes';
import { openTrainingSpool, spoolDir } from '../../../src/core/sae/train-spool';
import { initBackend } from '../../../src/core/tensor/backend';
import { archFixture } from '../../helpers/fixtures';

const HOOK = 'blocks.1.hook_resid_post';

describe('openTrainingSpool', () => {
  let model: HookedTransformer;
  let runDir: string;
  beforeAll(async () => {
    await initBackend('wasm');
    model = loadModel(archFixture('gpt2')).model;
    runDir = mkdtempSync(join(tmpdir(), 'sae-run-'));
  });
  afterAll(() => {
    model.dispose();
    rmSync(runDir, { recursive: true, force: true });
  });

  const saeCfg = SaeConfigSchema.parse({
    hook_point_in: HOOK,
    d_model: 64,
    d_sae: 32,
    norm_activation: 'dataset-wise',
  });
  const windows = { ids: new Int32Array(4 * 16), batch: 4, seq: 16 };
  const open = (resumed: boolean, overrides: Record<string, unknown> = {}) => {
    const logs: string[] = [];
    const cfg = TrainConfigSchema.parse(referenceTopKRecipe({ total_training_tokens: 4096, ...overrides }));
    const spool = openTrainingSpool({
      ...{ cfg, saeCfg, resumed, runDir, model, windows, mask: {}, hookPoints: [HOOK] },
      log: (m) => logs.push(m),
    });
    return { spool, logs };
  };

  it('spools a new run, inside its run folder', async () => {
    const { spool, logs } = open(false);
    const s = await spool;
    expect(s?.dir).toBe(spoolDir(runDir));
    expect(existsSync(spoolDir(runDir))).toBe(true);
    expect(logs.join('\n')).toMatch(/spools its activations/);
    s?.dispose();
  });

  it('does not spool a resumed run, and removes the spool a killed run left', async () => {
    mkdirSync(spoolDir(runDir), { recursive: true });
    writeFileSync(join(spoolDir(runDir), 'position.i32'), new Uint8Array(16));
    expect(await open(true).spool).toBeNull();
    expect(existsSync(spoolDir(runDir))).toBe(false);
  });

  it('does not spool a run that reads an activation cache', async () => {
    expect(await open(false, { activation_cache: '/nonexistent/cache' }).spool).toBeNull();
  });
});
