// Rebuilds the pdlm-4l-256 reference windows from the embedded corpus with the project's own tokenizer and
// checks the validation split bit for bit (tokenizing ~22.5 MB of text takes a few seconds).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDatasetWindows } from '../../../src/core/data/dataset-windows';
import { countKept, tokenMask } from '../../../src/core/data/masks';
import { embeddedDataset } from '../../../src/core/data/sources/embedded-corpus';
import { validationCount } from '../../../src/core/data/split';
import { readTokenFile } from '../../../src/core/lm/token-file';
import { ModelTokenizer } from '../../../src/core/lm/tokenizer';
import { bundledModelsDir } from '../../../src/core/resources/resource-dir';
import { FIXTURES, useTempDirs } from './helpers';

const REFERENCE = join(FIXTURES, '../pdlm-4l-256-reference/val_windows.safetensors');

describe('pdlm-corpus reference split', () => {
  const tempDir = useTempDirs();

  it('reproduces val_windows.safetensors exactly and the 5,524,065 training tokens', async () => {
    const tokenizer = ModelTokenizer.load(join(bundledModelsDir(), 'pdlm-4l-256'));
    const opts = { tokenizer, seqLen: 256, bosId: 0, eosId: 0, cacheDir: tempDir() };

    const val = await loadDatasetWindows('pdlm-corpus', { ...opts, split: 'validation' });
    expect(val.fromCache).toBe(false);
    expect(val.stream.tokens.length).toBe(5_636_839);
    expect(val.totalWindows).toBe(22_105);
    expect(validationCount(val.totalWindows, embeddedDataset('pdlm-corpus').windowSplit!)).toBe(442);

    const reference = readTokenFile(REFERENCE, 'val_windows');
    expect([reference.batch, reference.seq]).toEqual([442, 256]);
    expect(val.windows.batch).toBe(442);
    expect(val.windows.seq).toBe(256);
    expect(Buffer.from(val.windows.ids.buffer).equals(Buffer.from(reference.ids.buffer))).toBe(true);
    expect(countKept(tokenMask(val.windows))).toBe(112_710);

    const train = await loadDatasetWindows('pdlm-corpus', { ...opts, split: 'train' });
    expect(train.fromCache).toBe(true);
    expect(train.windows.batch).toBe(21_663);
    // SAE data: every position but the BOS at 0 (EOS separators inside windows, also id 0, are kept)
    expect(countKept(tokenMask(train.windows))).toBe(5_524_065);
    const seen = new Set([...val.indices, ...train.indices]);
    expect(seen.size).toBe(22_105);
  });
});
