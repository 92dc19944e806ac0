// The on-disk activation cache: the lm-saes chunk layout it writes, reading it back as a stream, resuming a
// generation, and the errors for a mismatched or damaged cache.
import { existsSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cachedActivationStream,
  createModelActivationStream,
  generateActivationCache,
  type GenerateCacheOptions,
  type GenerateProgress,
} from '../../../src/core/activations';
import { isInputError } from '../../../src/core/errors';
import { loadModel } from '../../../src/core/lm/load-model';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { initBackend } from '../../../src/core/tensor/backend';
import { openSafetensors, writeSafetensors } from '../../../src/core/tensor/safetensors';
import { archFixture } from '../../helpers/fixtures';
import { BOS, IGNORED, PAD, expectSameBatches, syntheticWindows, take, useTempDirs } from './helpers';

const IN = 'blocks.0.ln2.hook_normalized';
const OUT = 'blocks.0.hook_mlp_out';
const windows = syntheticWindows(22, 32);
const mask = { bosId: BOS, padId: PAD, ignoreTokenIds: [IGNORED] };

// The fixture model runs once for the whole file; every test writes its caches into fresh temporary folders.
let model: HookedTransformer;
const tempDir = useTempDirs();
beforeAll(async () => {
  await initBackend('wasm');
  model = loadModel(archFixture('gpt2')).model;
});
afterAll(() => model.dispose());
const generate = (outDir: string, over: Partial<GenerateCacheOptions> = {}) =>
  generateActivationCache({
    model,
    windows,
    hookPoints: [IN, OUT],
    outDir,
    chunkSize: 4,
    modelBatchSize: 3,
    modelName: 'gpt2-fixture',
    datasetName: 'synthetic',
    mask,
    ...over,
  });

describe('activation cache (lm-saes layout): writing, reading back, resuming', () => {
  it('writes chunk-NNNNNNNN.safetensors (activation, tokens, mask, attention_mask) and .meta.json per hook', async () => {
    const dir = tempDir();
    const contextIndices = Array.from({ length: 22 }, (_, i) => 1000 + i);
    const result = await generate(dir, { contextIndices });
    expect(result).toMatchObject({ written: 6, skipped: 0, tokensComputed: 22 * 32 });
    expect(readdirSync(join(dir, IN)).sort()).toEqual(
      [0, 1, 2, 3, 4, 5].flatMap((c) => [`chunk-0000000${c}.meta.json`, `chunk-0000000${c}.safetensors`]),
    );
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({
      format: 'sae-studio/activation-cache@1',
      model: 'gpt2-fixture',
      dataset: 'synthetic',
      hook_points: [IN, OUT],
      d_model: { [IN]: 64, [OUT]: 64 },
      context_size: 32,
      dtype: 'float32',
      n_windows: 22,
      n_samples_per_chunk: 4,
      n_chunks: 6,
    });
    const f = openSafetensors(join(dir, OUT, 'chunk-00000005.safetensors'));
    expect(f.names().sort()).toEqual(['activation', 'attention_mask', 'mask', 'tokens']);
    expect(f.info('activation')).toMatchObject({ dtype: 'F32', shape: [2, 32, 64] });
    expect(f.info('tokens')).toMatchObject({ dtype: 'I64', shape: [2, 32] });
    expect(f.info('mask')).toMatchObject({ dtype: 'I32', shape: [2, 32] });
    expect(Array.from(f.readInt32('tokens'))).toEqual(Array.from(windows.ids.subarray(20 * 32)));
    const m = f.readInt32('mask');
    const att = f.readInt32('attention_mask');
    for (const [i, id] of windows.ids.subarray(20 * 32, 20 * 32 + 64).entries()) {
      expect(m[i]).toBe(i % 32 === 0 || id === PAD || id === IGNORED ? 0 : 1);
      expect(att[i]).toBe(id === PAD ? 0 : 1);
    }
    f.close();
    const meta = JSON.parse(readFileSync(join(dir, OUT, 'chunk-00000005.meta.json'), 'utf8'));
    expect(meta).toEqual([
      { model_name: 'gpt2-fixture', context_idx: 1020, dataset_name: 'synthetic' },
      { model_name: 'gpt2-fixture', context_idx: 1021, dataset_name: 'synthetic' },
    ]);
  });

  it('reads back the same batches the model stream gives with the same seed, and resumes bit for bit', async () => {
    const dir = tempDir();
    await generate(dir);
    const common = { hookPoints: [IN, OUT], batchSize: 50, seed: 3, dropLast: false };
    const live = await take(
      await createModelActivationStream({ ...common, model, windows, mask, groupWindows: 4, modelBatchSize: 3 }),
    );
    const cached = await take(await cachedActivationStream({ ...common, dir }));
    expect(live.length).toBeGreaterThan(10);
    expectSameBatches(cached, live, 'cache vs model stream');

    const stream = await cachedActivationStream({ ...common, dir, groupChunks: 2 });
    const all = await take(await cachedActivationStream({ ...common, dir, groupChunks: 2 }));
    await take(stream, 5);
    const state = JSON.parse(JSON.stringify(stream.state()));
    expectSameBatches(
      await take(await cachedActivationStream({ ...common, dir, groupChunks: 2, state })),
      all.slice(5),
      'cache resume',
    );
    await expect(cachedActivationStream({ ...common, dir, state })).rejects.toThrow(/group_windows was 8 .* has 4/);
  });

  it('resumes generation: skips complete chunks, rewrites one whose meta is missing', async () => {
    const dir = tempDir();
    await generate(dir);
    const last = join(dir, OUT, 'chunk-00000005.safetensors');
    const before = readFileSync(last);
    rmSync(join(dir, OUT, 'chunk-00000005.meta.json'));
    await expect(cachedActivationStream({ dir, hookPoints: [OUT], batchSize: 8, seed: 0 })).rejects.toThrow(
      /chunk-00000005\.meta\.json: missing/,
    );
    const progress: GenerateProgress[] = [];
    const result = await generate(dir, { onProgress: (p) => progress.push(p) });
    expect(result).toMatchObject({ written: 1, skipped: 5, tokensComputed: 2 * 32 });
    expect(progress.map((p) => p.skipped)).toEqual([true, true, true, true, true, false]);
    expect(readFileSync(last).equals(before)).toBe(true);
    expect(existsSync(join(dir, OUT, 'chunk-00000005.meta.json'))).toBe(true);
    // An aborted generation stops between chunks and leaves a cache that the next run completes.
    const dir2 = tempDir();
    const ctl = new AbortController();
    await expect(
      generate(dir2, { signal: ctl.signal, onProgress: (p) => p.chunk === 2 && ctl.abort(new Error('stop')) }),
    ).rejects.toThrow('stop');
    expect((await generate(dir2)).written).toBe(3);
  });
});

describe('activation cache (lm-saes layout): mismatches, damage and other writers', () => {
  it('names the field when the manifest does not match the generation or the reader', async () => {
    const dir = tempDir();
    await generate(dir);
    await expect(generate(dir, { modelName: 'other' })).rejects.toThrow(
      /manifest\.json: field 'model' is "gpt2-fixture", this generation has "other"/,
    );
    await expect(generate(dir, { dtype: 'bfloat16' })).rejects.toThrow(/field 'dtype'/);
    await expect(generate(dir, { hookPoints: [OUT] })).rejects.toThrow(/field 'hook_points'/);
    await expect(generate(dir, { chunkSize: 5 })).rejects.toThrow(/field 'n_samples_per_chunk'/);
    await expect(generate(dir, { windows: syntheticWindows(22, 32, 5) })).rejects.toThrow(/field 'windows_digest'/);
    await expect(
      cachedActivationStream({ dir, hookPoints: ['blocks.1.hook_resid_post'], batchSize: 8, seed: 0 }),
    ).rejects.toThrow(/hook point 'blocks\.1\.hook_resid_post' is not cached/);
    await expect(
      cachedActivationStream({ dir, hookPoints: [OUT], batchSize: 8, seed: 0, expectDModel: 128 }),
    ).rejects.toThrow(/d_model 64, expected 128/);
    const manifestPath = join(dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, d_model: { [IN]: 64, [OUT]: 32 } }));
    await expect(cachedActivationStream({ dir, hookPoints: [OUT], batchSize: 8, seed: 0 })).rejects.toThrow(
      /activation width \(d_model\) 64, expected 32/,
    );
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, dtype: 'int8' }));
    await expect(cachedActivationStream({ dir, hookPoints: [OUT], batchSize: 8, seed: 0 })).rejects.toThrow(
      /field 'dtype' is "int8"/,
    );
  });

  it('reports a truncated or corrupt chunk as an input error naming the file', async () => {
    const dir = tempDir();
    await generate(dir);
    const file = join(dir, IN, 'chunk-00000002.safetensors');
    truncateSync(file, statSync(file).size - 100);
    const err = await cachedActivationStream({ dir, hookPoints: [IN, OUT], batchSize: 8, seed: 0 }).catch(
      (e: unknown) => e,
    );
    expect(isInputError(err)).toBe(true);
    expect((err as Error).message).toMatch(/chunk-00000002\.safetensors: corrupt or truncated activation chunk/);
    writeFileSync(file, 'not a safetensors file');
    await expect(cachedActivationStream({ dir, hookPoints: [IN], batchSize: 8, seed: 0 })).rejects.toThrow(
      /chunk-00000002\.safetensors: corrupt or truncated/,
    );
    rmSync(file);
    await expect(cachedActivationStream({ dir, hookPoints: [IN], batchSize: 8, seed: 0 })).rejects.toThrow(
      /chunk-00000002\.safetensors: missing, the cache is incomplete/,
    );
    // generate repairs it
    expect((await generate(dir)).written).toBe(1);
    expect(
      (await take(await cachedActivationStream({ dir, hookPoints: [IN], batchSize: 8, seed: 0 }))).length,
    ).toBeGreaterThan(0);
  });

  it('stores bfloat16 / float16 activations and reads them back upcast', async () => {
    const dir32 = tempDir();
    const dir16 = tempDir();
    await generate(dir32, { hookPoints: [OUT] });
    await generate(dir16, { hookPoints: [OUT], dtype: 'bfloat16' });
    expect(openSafetensors(join(dir16, OUT, 'chunk-00000000.safetensors')).info('activation').dtype).toBe('BF16');
    const common = { hookPoints: [OUT], batchSize: 64, seed: 1 };
    const [a] = await take(await cachedActivationStream({ ...common, dir: dir32 }), 1);
    const [b] = await take(await cachedActivationStream({ ...common, dir: dir16 }), 1);
    if (!a || !b) throw new Error('expected one batch from each cache');
    expect(Array.from(b.origin ?? [])).toEqual(Array.from(a.origin ?? []));
    const wide = a.acts[OUT] ?? new Float32Array();
    const narrow = b.acts[OUT] ?? new Float32Array();
    expect(narrow.length).toBe(wide.length);
    wide.forEach((v, i) =>
      expect(Math.abs((narrow[i] ?? Number.NaN) - v)).toBeLessThanOrEqual(Math.abs(v) / 128 + 1e-30),
    );
  });

  it('reads a cache lm-saes wrote (no manifest, no meta, no mask: default mask drops position 0)', async () => {
    const dir = tempDir();
    await generate(dir, { hookPoints: [OUT], mask: {} });
    rmSync(join(dir, 'manifest.json'));
    for (const f of readdirSync(join(dir, OUT))) {
      const path = join(dir, OUT, f);
      if (f.endsWith('.meta.json')) {
        rmSync(path);
        continue;
      }
      // Only what the older lm-saes writer stored: `activation` and `tokens`.
      const st = openSafetensors(path);
      const act = { dtype: 'F32' as const, shape: st.info('activation').shape, data: st.readFloat32('activation') };
      const tokens = { dtype: 'I64' as const, shape: st.info('tokens').shape, data: st.readInt32('tokens') };
      st.close();
      writeSafetensors(path, { activation: act, tokens });
    }
    const all = await take(
      await cachedActivationStream({ dir, hookPoints: [OUT], batchSize: 31, seed: 2, dropLast: false }),
    );
    expect(all.reduce((n, b) => n + b.rows, 0)).toBe(22 * 31);
    const live = await take(
      await createModelActivationStream({
        model,
        windows,
        hookPoints: [OUT],
        batchSize: 31,
        seed: 2,
        dropLast: false,
        groupWindows: 4,
        modelBatchSize: 3,
      }),
    );
    expectSameBatches(all, live, 'manifest-less cache');
  });
});
