import { describe, expect, it } from 'vitest';
import {
  bf16ToFloat32Array,
  f16ToFloat32Array,
  fromBf16Bits,
  fromF16Bits,
  toBf16Array,
  toBf16Bits,
  toF16Array,
  toF16Bits,
} from '../../../../src/core/tensor/safetensors';

const hex = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

describe('F16 bit patterns', () => {
  it.each([
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x0400, 2 ** -14],
    [0x3555, 0.333251953125],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x0000, 0],
  ])('%s <-> %s', (bits, value) => {
    expect(fromF16Bits(bits)).toBe(value);
    expect(hex(toF16Bits(value))).toBe(hex(bits));
  });

  it('keeps the sign of zero and decodes NaN patterns as NaN', () => {
    expect(Object.is(fromF16Bits(0x8000), -0)).toBe(true);
    expect(toF16Bits(-0)).toBe(0x8000);
    expect(fromF16Bits(0x7e00)).toBeNaN();
    expect(fromF16Bits(0xfc01)).toBeNaN();
    expect(hex(toF16Bits(NaN))).toBe('0x7e00');
  });

  it('rounds to nearest, ties to even, at the edges of the range', () => {
    expect(hex(toF16Bits(65519))).toBe('0x7bff');
    expect(hex(toF16Bits(65520))).toBe('0x7c00'); // halfway to 2^16: ties to even, which is infinity
    expect(hex(toF16Bits(-1e6))).toBe('0xfc00');
    expect(hex(toF16Bits(2 ** -25))).toBe('0x0000'); // halfway between 0 and 2^-24: even is 0
    expect(hex(toF16Bits(Math.fround(2 ** -25 * (1 + 2 ** -23))))).toBe('0x0001');
    expect(hex(toF16Bits(3 * 2 ** -25))).toBe('0x0002');
    expect(hex(toF16Bits(-1e-10))).toBe('0x8000');
    expect(hex(toF16Bits(1 + 2 ** -11))).toBe('0x3c00');
    expect(hex(toF16Bits(1 + 3 * 2 ** -11))).toBe('0x3c02');
    expect(hex(toF16Bits(2 ** -14 - 2 ** -25))).toBe('0x0400'); // largest subnormal + half ulp rounds up into the normals
  });

  it('matches numpy float32 -> float16', () => {
    // np.array(inputs, np.float32).astype(np.float16).view(np.uint16), numpy 2.4
    const inputs = new Float32Array([
      0.1,
      1 / 3,
      -2.5e-5,
      6e-8,
      65519.996,
      1e-8,
      3.14159265,
      -1234.5678,
      2 ** -24 * 1.5,
      7e-5,
    ]);
    const numpy = [0x2e66, 0x3555, 0x81a3, 0x0001, 0x7bff, 0x0000, 0x4248, 0xe4d3, 0x0002, 0x0496];
    expect(Array.from(toF16Array(inputs), hex)).toEqual(numpy.map(hex));
  });

  it('rounds a double once, straight to F16 (as numpy float64 -> float16 does)', () => {
    // Through f32 these would round twice and give 0x3c00 and 0x7c00.
    expect(hex(toF16Bits(1 + 2 ** -11 + 2 ** -40))).toBe('0x3c01');
    expect(hex(toF16Bits(65519.99999999))).toBe('0x7bff');
  });

  it('is exact on every non-NaN pattern and sends each midpoint to the even neighbour', () => {
    for (let b = 0; b < 0x10000; b++) {
      const v = fromF16Bits(b);
      if (Number.isNaN(v)) continue;
      if (Math.fround(v) !== v) expect.fail(`${hex(b)} decodes to a value that is not an f32`);
      if (toF16Bits(v) !== b) expect.fail(`${hex(b)} does not survive a round trip`);
    }
    for (let b = 0; b < 0x7bff; b++) {
      const lo = fromF16Bits(b);
      const hi = fromF16Bits(b + 1);
      const mid = (lo + hi) / 2;
      const even = b % 2 === 0 ? b : b + 1;
      if (toF16Bits(mid) !== even) expect.fail(`midpoint of ${hex(b)} and ${hex(b + 1)} should round to ${hex(even)}`);
      if (toF16Bits(mid - (hi - lo) / 1024) !== b || toF16Bits(mid + (hi - lo) / 1024) !== b + 1) {
        expect.fail(`values beside the midpoint of ${hex(b)}/${hex(b + 1)} round the wrong way`);
      }
    }
  });

  it('decodes arrays like the scalar function', () => {
    const bits = Uint16Array.from({ length: 0x10000 }, (_, i) => i);
    const out = f16ToFloat32Array(bits);
    for (let b = 0; b < 0x10000; b += 97) expect(out[b]).toBe(fromF16Bits(b));
  });
});

describe('BF16 bit patterns', () => {
  it.each([
    [0x3f80, 1],
    [0xc000, -2],
    [0x7f7f, 3.3895313892515355e38],
    [0x0001, 2 ** -133],
    [0x0080, 2 ** -126],
    [0x7f80, Infinity],
    [0xff80, -Infinity],
    [0x0000, 0],
  ])('%s <-> %s', (bits, value) => {
    expect(fromBf16Bits(bits)).toBe(value);
    expect(hex(toBf16Bits(value))).toBe(hex(bits));
  });

  it('rounds to nearest even; overflow and NaN', () => {
    expect(hex(toBf16Bits(3.4028234663852886e38))).toBe('0x7f80'); // f32 max rounds up to infinity
    expect(hex(toBf16Bits(1 + 2 ** -8))).toBe('0x3f80');
    expect(hex(toBf16Bits(1 + 3 * 2 ** -8))).toBe('0x3f82');
    expect(hex(toBf16Bits(NaN))).toBe('0x7fc0');
    expect(toBf16Bits(-0)).toBe(0x8000);
    expect(fromBf16Bits(0x7fc1)).toBeNaN();
  });

  it('matches round-to-nearest-even on the f32 bits (the torch conversion)', () => {
    // ((bits + 0x7fff + ((bits >> 16) & 1)) >> 16), computed with numpy on the float32 inputs
    const inputs = new Float32Array([
      0.1,
      1 / 3,
      -2.5e-5,
      6e-8,
      65519.996,
      1e-8,
      3.14159265,
      -1234.5678,
      2 ** -24 * 1.5,
      7e-5,
    ]);
    const expected = [0x3dcd, 0x3eab, 0xb7d2, 0x3381, 0x4780, 0x322c, 0x4049, 0xc49a, 0x33c0, 0x3893];
    expect(Array.from(toBf16Array(inputs), hex)).toEqual(expected.map(hex));
  });

  it('is exact on every non-NaN pattern; array decode keeps NaN payloads', () => {
    const bits = Uint16Array.from({ length: 0x10000 }, (_, i) => i);
    const out = bf16ToFloat32Array(bits);
    const outBits = new Uint32Array(out.buffer);
    for (let b = 0; b < 0x10000; b++) {
      if (outBits[b] !== (b << 16) >>> 0) expect.fail(`${hex(b)} decodes to the wrong f32 bits`);
      const v = fromBf16Bits(b);
      if (!Number.isNaN(v) && toBf16Bits(v) !== b) expect.fail(`${hex(b)} does not survive a round trip`);
    }
  });
});
