import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  openSafetensors,
  readSafetensorsHeader,
  serializeSafetensors,
  type TensorToWrite,
} from '../../../../src/core/tensor/safetensors';
import { fixturePath, nativeArray, resourcePath } from './helpers';

const PDLM_MODEL = resourcePath('models/pdlm-4l-256/model.safetensors');
const GPT2_MODEL = fixturePath('hf-arch/gpt2/model.safetensors');

function sum(values: Float32Array | Int32Array): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

// Golden values computed with numpy 2.4 from the same files (np.frombuffer at the header's offsets).
describe('safetensors fixtures written by Python', () => {
  it('reads the tiny GPT-2 (F32)', () => {
    const file = openSafetensors(GPT2_MODEL);
    try {
      expect(file.metadata).toEqual({ format: 'pt' });
      expect(file.names()).toHaveLength(28);
      expect(file.info('transformer.wte.weight')).toMatchObject({ dtype: 'F32', shape: [512, 64] });
      const wte = file.readFloat32('transformer.wte.weight');
      expect(Array.from(wte.subarray(0, 4))).toEqual([
        -0.1906994879245758, -0.09377897530794144, -0.0817476138472557, -0.20118559896945953,
      ]);
      expect(sum(wte)).toBeCloseTo(1.968850679303273, 4);
      const ln2 = file.readFloat32('transformer.h.1.ln_2.bias');
      expect(Array.from(ln2.subarray(0, 3))).toEqual([
        -0.05102137476205826, 0.013431906700134277, -0.028822941705584526,
      ]);
    } finally {
      file.close();
    }
  });

  it('reads the pdlm-4l-256 model (F16), upcasting to f32 like numpy', () => {
    const file = openSafetensors(PDLM_MODEL);
    try {
      expect(file.names()).toHaveLength(52);
      expect(file.info('transformer.wte.weight')).toMatchObject({
        dtype: 'F16',
        shape: [8192, 256],
        byteLength: 8192 * 256 * 2,
      });
      const raw = file.readRaw('transformer.wte.weight');
      expect(Array.from(new Uint16Array(raw.buffer, 0, 4))).toEqual([0x181d, 0xaa1f, 0x28f5, 0xa2cc]);
      const wte = file.readFloat32('transformer.wte.weight');
      expect(Array.from(wte.subarray(0, 4))).toEqual([
        0.0020084381103515625, -0.047821044921875, 0.038726806640625, -0.013275146484375,
      ]);
      expect(Array.from(wte.subarray(-2))).toEqual([-0.01537322998046875, 0.09967041015625]);
      expect(sum(wte)).toBeCloseTo(-70.83454775810242, 3);
      const fc = file.readFloat32('transformer.h.3.mlp.c_fc.bias');
      expect(Array.from(fc.subarray(0, 3))).toEqual([-0.036376953125, -0.057952880859375, -0.040802001953125]);
    } finally {
      file.close();
    }
  });

  it('reads I64 input_ids and I32 validation windows as int32', () => {
    const ref = openSafetensors(fixturePath('pdlm-4l-256-reference/reference.safetensors'));
    expect(ref.metadata.note).toBe('HF fp32 eager, first 32 tokens of 2 val windows');
    expect(ref.info('input_ids')).toMatchObject({ dtype: 'I64', shape: [2, 32] });
    const ids = ref.readInt32('input_ids');
    expect(Array.from(ids.subarray(0, 8))).toEqual([0, 4515, 443, 297, 2512, 622, 1080, 287]);
    expect(Array.from(ids.subarray(-4))).toEqual([3427, 307, 12, 1907]);
    expect(Math.max(...ids)).toBe(7796);
    ref.close();

    const gpt2 = openSafetensors(fixturePath('hf-arch/gpt2/reference.safetensors'));
    expect(Array.from(gpt2.readInt32('input_ids').subarray(0, 8))).toEqual([168, 15, 493, 72, 22, 299, 466, 75]);
    gpt2.close();

    const val = openSafetensors(fixturePath('pdlm-4l-256-reference/val_windows.safetensors'));
    expect(val.metadata).toEqual({});
    expect(val.info('val_windows')).toMatchObject({ dtype: 'I32', shape: [442, 256] });
    const windows = val.readInt32('val_windows');
    expect(Array.from(windows.subarray(0, 8))).toEqual([0, 4515, 443, 297, 2512, 622, 1080, 287]);
    expect(Array.from(windows.subarray(-4))).toEqual([406, 7406, 419, 1453]);
    expect(sum(windows)).toBe(142487020);
    val.close();
  });

  const ARCHS = readdirSync(fixturePath('hf-arch'));
  it('has all six architecture fixtures', () => {
    expect(ARCHS.sort()).toEqual(['gemma2', 'gpt2', 'gpt_neox', 'llama', 'qwen2', 'qwen3']);
  });

  const ALL_FILES = [
    ...ARCHS.flatMap((a) => [`hf-arch/${a}/model.safetensors`, `hf-arch/${a}/reference.safetensors`].map(fixturePath)),
    fixturePath('pdlm-4l-256-reference/reference.safetensors'),
    fixturePath('pdlm-4l-256-reference/val_windows.safetensors'),
    PDLM_MODEL,
  ];

  it.each(ALL_FILES)('re-serializes %s byte for byte', (path) => {
    const header = readSafetensorsHeader(path);
    const file = openSafetensors(path);
    const tensors: Record<string, TensorToWrite> = {};
    for (const t of file.tensors.values()) {
      tensors[t.name] = { dtype: t.dtype, shape: t.shape, data: nativeArray(t.dtype, file.readRaw(t.name)) };
    }
    file.close();
    const hasMetadata = Object.keys(header.metadata).length > 0;
    const bytes = serializeSafetensors(tensors, hasMetadata ? header.metadata : undefined);
    expect(Buffer.from(bytes).equals(readFileSync(path))).toBe(true);
  });
});
