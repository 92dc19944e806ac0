// The analysis reading a training pass's spooled rows gives the same result as the analysis that runs the model
// itself: same statistics, samples, contexts and logits, for windows the spool holds and for those it does not.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimateAverageNorm, hookWidths, RowSpool, spoolKey } from '../../../src/core/activations';
import { analyzeDictionary } from '../../../src/core/analysis/analyze-dictionary';
import type { AnalysisResult } from '../../../src/core/analysis/types';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { loadModel } from '../../../src/core/lm/load-model';
import { initBackend } from '../../../src/core/tensor/backend';
import { archFixture } from '../../helpers/fixtures';
import { embeddings, makeWindows, syntheticDictionary, type SyntheticDictionary } from './helpers';

const HOOK = 'blocks.1.hook_resid_post';
const windows = makeWindows(10, 32);
const trainingMask = { bosId: null, ignoreTokenIds: [] }; // the trainer's: the analysis's default mask

describe('analysis from a training pass spool', () => {
  let model: HookedTransformer;
  let dict: SyntheticDictionary;
  /** The same without decoder norms in the selection: the spool's rows go straight to the native TopK encoder. */
  let direct: SyntheticDictionary;
  let dir: string;
  beforeAll(async () => {
    await initBackend('wasm');
    model = loadModel(archFixture('gpt2')).model;
    const cfg = {
      hook_point_in: HOOK,
      act_fn: 'topk',
      top_k: 6,
      norm_activation: 'dataset-wise',
      dataset_average_activation_norm: { [HOOK]: 5.25 },
    } as const;
    dict = syntheticDictionary(await embeddings(model), [], 48, { cfg });
    direct = syntheticDictionary(await embeddings(model), [], 48, {
      cfg: { ...cfg, sparsity_include_decoder_norm: false },
    });
    dir = mkdtempSync(join(tmpdir(), 'sae-spool-'));
  });
  afterAll(() => {
    dict.sae.dispose();
    direct.sae.dispose();
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const analyse = (spool?: RowSpool, d = dict): Promise<AnalysisResult> =>
    analyzeDictionary({
      ...{ model, dictionary: d.sae, windows, tokenizer: null, nTokens: 250 },
      ...(spool ? { spool } : {}),
    });
  const comparable = (r: AnalysisResult) => ({ ...r, createdAt: '' });

  for (const statsTokens of [1e9, 100]) {
    it(`equals the live analysis (spool from a stats pass over ${statsTokens} tokens)`, async () => {
      const hooks = [HOOK];
      const spool = new RowSpool(join(dir, `s${statsTokens}`), spoolKey(windows, trainingMask, hooks), {
        ...(await hookWidths(model, hooks)),
      });
      await estimateAverageNorm({
        ...{ model, windows, hookPoints: hooks, mask: trainingMask, nTokens: statsTokens, modelBatchSize: 2, spool },
      });
      expect(spool.coveredWindows).toBe(statsTokens === 1e9 ? 10 : 4);
      const live = await analyse();
      const spooled = await analyse(spool);
      expect(spooled.tokensAnalysed).toBe(9 * 31); // whole windows up to 250 tokens
      expect(spooled.features.filter((f) => f.actCount > 0).length).toBeGreaterThan(10);
      expect(comparable(spooled)).toEqual(comparable(live));
      const directSpooled = await analyse(spool, direct);
      expect(directSpooled.features.filter((f) => f.actCount > 0).length).toBeGreaterThan(10);
      expect(comparable(directSpooled)).toEqual(comparable(await analyse(undefined, direct)));
      spool.dispose();
    });
  }

  it('reads its rows from the spool (another pass’s rows, filed under these windows, change the result)', async () => {
    const spool = new RowSpool(join(dir, 'swapped'), spoolKey(windows, trainingMask, [HOOK]), { [HOOK]: 64 });
    const other = makeWindows(10, 32, 2);
    await estimateAverageNorm({ model, windows: other, hookPoints: [HOOK], nTokens: 1e9, modelBatchSize: 2, spool });
    const swapped = await analyse(spool);
    expect(comparable(swapped).features).not.toEqual(comparable(await analyse()).features);
    spool.dispose();
  });

  it('is not used for other windows', async () => {
    const other = makeWindows(10, 32, 2);
    const spool = new RowSpool(join(dir, 'other'), spoolKey(other, trainingMask, [HOOK]), { [HOOK]: 64 });
    expect(spool.serves(spoolKey(windows, {}, [HOOK]), HOOK)).toBe(false);
    expect(spool.serves(spoolKey(other, {}, [HOOK]), HOOK)).toBe(true);
    expect(spool.serves(spoolKey(other, {}, [HOOK]), 'blocks.0.hook_resid_post')).toBe(false);
    spool.dispose();
  });
});
