// IEEE binary16 (F16) and bfloat16 (BF16) <-> JS number conversions, scalar and whole-array.
// Encoding rounds to nearest, ties to even, straight from the double (no f32 step, so no double rounding).

interface MiniFloat {
  mantissaBits: number;
  exponentBias: number;
  infinityBits: number;
  nanBits: number;
}

const F16: MiniFloat = { mantissaBits: 10, exponentBias: 15, infinityBits: 0x7c00, nanBits: 0x7e00 };
const BF16: MiniFloat = { mantissaBits: 7, exponentBias: 127, infinityBits: 0x7f80, nanBits: 0x7fc0 };
const SIGN_BIT = 0x8000;

/** Rounds a non-negative double to an integer, ties to even. */
function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const frac = v - floor; // exact: v < 2^12 here
  if (frac > 0.5 || (frac === 0.5 && floor % 2 === 1)) return floor + 1;
  return floor;
}

// The exponent of a double, read from its high word (both views share native byte order).
const scratchF64 = new Float64Array(1);
const scratchF64Words = new Uint32Array(scratchF64.buffer);
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

// 2^k for the scale factors the encoder uses (k = mantissaBits - exponent: within [-5, 24] for F16 and
// [-120, 133] for BF16), looked up rather than computed per element.
const POW2_BIAS = 160;
const POW2 = Float64Array.from({ length: 2 * POW2_BIAS + 1 }, (_, i) => 2 ** (i - POW2_BIAS));

/** floor(log2(a)) for a finite a > 0. */
function exponentOf(a: number): number {
  scratchF64[0] = a;
  const biased = (scratchF64Words[HIGH_WORD]! >>> 20) & 0x7ff;
  if (biased !== 0) return biased - 1023;
  // A subnormal double: scale it into the normal range first.
  return exponentOf(a * 2 ** 64) - 64;
}

function encode(x: number, f: MiniFloat): number {
  if (Number.isNaN(x)) return f.nanBits;
  const sign = x < 0 || Object.is(x, -0) ? SIGN_BIT : 0;
  const a = Math.abs(x);
  if (a === 0) return sign;
  if (a === Infinity) return sign | f.infinityBits;
  const minNormalExponent = 1 - f.exponentBias;
  const e = exponentOf(a);
  if (e < minNormalExponent) {
    // Subnormal: the mantissa counts units of 2^(minNormalExponent - mantissaBits). A result of
    // 2^mantissaBits is the smallest normal number, whose bit pattern is that same integer.
    return sign | roundHalfEven(a * POW2[POW2_BIAS + f.mantissaBits - minNormalExponent]!); // index in [0, 320]
  }
  if (e > f.exponentBias) return sign | f.infinityBits;
  // m is in [2^mantissaBits, 2^(mantissaBits+1)]; rounding up to the top carries into the exponent,
  // and from the largest finite value carries into the infinity pattern, as IEEE rounding requires.
  const m = roundHalfEven(a * POW2[POW2_BIAS + f.mantissaBits - e]!); // index in [0, 320]
  return sign | (((e + f.exponentBias) << f.mantissaBits) + m - (1 << f.mantissaBits));
}

/** F16 bit pattern (0..0xffff) of the nearest binary16 value to `x`, ties to even; NaN -> 0x7e00. */
export function toF16Bits(x: number): number {
  return encode(x, F16);
}

/** BF16 bit pattern of the nearest bfloat16 value to `x`, ties to even; NaN -> 0x7fc0. */
export function toBf16Bits(x: number): number {
  return encode(x, BF16);
}

/** Value of an F16 bit pattern (exactly representable as f32). */
export function fromF16Bits(bits: number): number {
  const sign = bits & SIGN_BIT ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (mantissa + 0x400) * 2 ** (exponent - 25);
}

// BF16 is the top half of an f32, so decoding is a shift; the two views share one buffer and
// therefore one (native) byte order.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** Value of a BF16 bit pattern (exactly representable as f32). */
export function fromBf16Bits(bits: number): number {
  scratchU32[0] = (bits & 0xffff) << 16;
  return scratchF32[0]!;
}

let f16Table: Float32Array | undefined;

/** Whole-array F16 decode (table lookup: 64 Ki entries, built on first use). */
export function f16ToFloat32Array(bits: Uint16Array): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(0x10000);
    for (let b = 0; b < 0x10000; b++) f16Table[b] = fromF16Bits(b);
  }
  const table = f16Table;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!; // a 16-bit index into 64 Ki entries
  return out;
}

/** Whole-array BF16 decode; NaN payloads are kept. */
export function bf16ToFloat32Array(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  return out;
}

/** Whole-array F16 encode of any numbers (f32 or f64 values), rounding each to nearest even. */
export function toF16Array(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = encode(values[i]!, F16);
  return out;
}

/** Whole-array BF16 encode of any numbers (f32 or f64 values), rounding each to nearest even. */
export function toBf16Array(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = encode(values[i]!, BF16);
  return out;
}
