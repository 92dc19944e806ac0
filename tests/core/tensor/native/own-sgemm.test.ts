// The addon's sgemm backends against a float64 reference: our own blocked sgemm on every micro-kernel this CPU
// runs (portable, avx2, avx512) and the system BLAS where one is linked, over all transposes, ragged shapes,
// padded leading dims, alpha/beta (beta 0 clears NaN), K = 0, batches with strides and broadcast, 1 and 2 threads.
import { afterAll, describe, expect, it } from 'vitest';
import type { NativeBlas } from '../../../../src/core/tensor/native/native-blas';
import { nativeLoad, randomArray, skipReason, TRANSPOSES } from './helpers';

const blas = nativeLoad.blas as NativeBlas | null;
const ISAS = ['portable', 'avx2', 'avx512'] as const;
/** Which micro-kernels this CPU and build run (asked once; the best one is put back). */
const isaRuns = Object.fromEntries(ISAS.map((isa) => [isa, blas?.setIsa?.(isa) ?? false])) as Record<string, boolean>;
blas?.setIsa?.('best');
const hasSystem = Boolean(blas?.info().system);

interface Product {
  ta: boolean;
  tb: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  beta: number;
  lda: number;
  ldb: number;
  ldc: number;
  a: Float32Array;
  b: Float32Array;
  c0: Float32Array;
}

function product(
  ta: boolean,
  tb: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  beta: number,
  pad = 0,
  seed = 1,
): Product {
  const [ra, ca] = ta ? [k, m] : [m, k];
  const [rb, cb] = tb ? [n, k] : [k, n];
  const [lda, ldb, ldc] = [Math.max(1, ca) + pad, Math.max(1, cb) + 2 * pad, n + pad];
  const a = randomArray(Math.max(0, (ra - 1) * lda + ca), seed);
  const b = randomArray(Math.max(0, (rb - 1) * ldb + cb), seed + 1);
  const c0 = randomArray(m * ldc, seed + 2);
  return { ta, tb, m, n, k, alpha, beta, lda, ldb, ldc, a, b, c0 };
}

/** Float64 C and a per-element error bound: 4·k·ε·(|alpha|·Σ|a||b| + |beta·c|) for float32 sums of k terms. */
function reference(p: Product): { c: Float64Array; bound: Float64Array } {
  const c = new Float64Array(p.m * p.ldc);
  const bound = new Float64Array(p.m * p.ldc);
  const eps = 2 ** -23 * (4 * p.k + 8);
  for (let i = 0; i < p.m; i++) {
    for (let j = 0; j < p.n; j++) {
      let s = 0;
      let abs = 0;
      for (let q = 0; q < p.k; q++) {
        const x = p.a[p.ta ? q * p.lda + i : i * p.lda + q]! * p.b[p.tb ? j * p.ldb + q : q * p.ldb + j]!;
        s += x;
        abs += Math.abs(x);
      }
      const old = p.beta === 0 ? 0 : p.beta * p.c0[i * p.ldc + j]!;
      c[i * p.ldc + j] = p.alpha * s + old;
      bound[i * p.ldc + j] = eps * (Math.abs(p.alpha) * abs + Math.abs(old)) + 1e-30;
    }
  }
  return { c, bound };
}

function check(label: string, p: Product, actual: Float32Array, ref = reference(p)): void {
  let bad = 0;
  let first = '';
  for (let i = 0; i < p.m; i++) {
    for (let j = 0; j < p.n; j++) {
      const at = i * p.ldc + j;
      const err = Math.abs(actual[at]! - ref.c[at]!);
      if (!(err <= ref.bound[at]!)) {
        if (bad++ === 0) first = `C[${i}][${j}] = ${actual[at]} vs ${ref.c[at]} (bound ${ref.bound[at]})`;
      }
    }
    for (let j = p.n; j < p.ldc; j++) {
      if (actual[i * p.ldc + j] !== p.c0[i * p.ldc + j]) {
        bad++;
        first ||= `padding C[${i}][${j}] was written`;
      }
    }
  }
  expect(bad, `${label}: ${bad} elements off, first ${first}`).toBe(0);
}

function runOne(b: NativeBlas, p: Product): Float32Array {
  const c = p.c0.slice();
  b.sgemm(p.ta, p.tb, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, c, p.ldc);
  return c;
}

// Ragged against every blocking edge (MR 4/6/12, NR 16/32, KC 256, MC 240, NC 512), with padded leading dims.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [7, 17, 33],
  [33, 100, 7],
  [17, 257, 100],
  [100, 33, 257],
  [257, 7, 17],
  [13, 520, 300],
  [250, 70, 513],
];

/** The configurations to run: our sgemm per micro-kernel, and the system BLAS where linked. */
const CONFIGS = [
  ...ISAS.map((isa) => ({ name: `own sgemm, ${isa}`, isa, system: false, runs: isaRuns[isa] ?? false })),
  { name: 'system BLAS', isa: 'best', system: true, runs: hasSystem },
];

type Config = (typeof CONFIGS)[number];

const threadsBefore = blas?.threads() ?? 1;
const blasBefore = blas?.info().backend === 'own' ? 'own' : 'system';
// Puts the addon back as the suites found it (where the switches exist: an older addon has none to restore).
afterAll(() => {
  if (blas?.setBlas) {
    blas.setIsa?.('best');
    blas.setBlas(blasBefore);
    blas.setThreads(threadsBefore);
  }
});

/** Selects the configuration's backend and micro-kernel, and the thread count. */
function useConfig(b: NativeBlas, cfg: Config, threads: number): void {
  expect(b.setBlas!(cfg.system ? 'system' : 'own')).toBe(true);
  expect(b.setIsa!(cfg.isa as 'best')).toBe(true);
  b.setThreads(threads);
}

/** sgemmBatched over every transpose, with strides, gaps and stride-0 broadcast, 1 and 2 threads. */
function checkBatched(b: NativeBlas, cfg: Config): void {
  const [batch, m, n, k] = [5, 9, 21, 19];
  for (const threads of [1, 2]) {
    useConfig(b, cfg, threads);
    for (const [ta, tb] of TRANSPOSES) {
      for (const [sa, sb] of [
        [1, 1],
        [0, 1],
        [1, 0],
      ] as const) {
        const ps = Array.from({ length: batch }, (_, i) => product(ta, tb, m, n, k, 0.75, i % 2 ? 0 : 2, 0, 100 + i));
        const one = ps[0]!;
        const [aSize, bSize, cSize] = [one.a.length + 3, one.b.length + 5, m * n + 2]; // gaps between matrices
        const a = new Float32Array(aSize * batch);
        const bb = new Float32Array(bSize * batch);
        const c = new Float32Array(cSize * batch);
        ps.forEach((p, i) => {
          if (sa) a.set(p.a, i * aSize);
          else p.a = ps[0]!.a;
          if (sb) bb.set(p.b, i * bSize);
          else p.b = ps[0]!.b;
          c.set(p.c0, i * cSize);
        });
        if (!sa) a.set(one.a, 0);
        if (!sb) bb.set(one.b, 0);
        for (const beta of [0, 2]) {
          ps.forEach((p, i) => {
            p.beta = beta;
            c.set(p.c0, i * cSize);
          });
          b.sgemmBatched(
            ta,
            tb,
            m,
            n,
            k,
            0.75,
            a,
            one.lda,
            sa * aSize,
            bb,
            one.ldb,
            sb * bSize,
            beta,
            c,
            n,
            cSize,
            batch,
          );
          ps.forEach((p, i) =>
            check(
              `batch ${i} (${ta}, ${tb}, strides ${sa}/${sb}, beta ${beta}, ${threads}t)`,
              p,
              c.subarray(i * cSize, i * cSize + m * n),
            ),
          );
        }
      }
    }
  }
}

/** The products one configuration must get right (each skipped where the configuration does not run here). */
function configTests(b: NativeBlas, cfg: Config): void {
  for (const [ta, tb] of TRANSPOSES) {
    it.skipIf(!cfg.runs)(`ragged shapes, padded lds, alpha/beta, 1 and 2 threads (transA=${ta}, transB=${tb})`, () => {
      SHAPES.forEach(([m, n, k], s) => {
        const p = product(ta, tb, m, n, k, s % 2 ? 0.5 : 1, s % 3 === 0 ? 0 : -1.5, s % 2 ? 3 : 0, 10 * s + 1);
        const ref = reference(p);
        for (const threads of [1, 2]) {
          useConfig(b, cfg, threads);
          check(`${cfg.name} ${m}x${n}x${k} (${threads} threads)`, p, runOne(b, p), ref);
        }
      });
    });
  }

  it.skipIf(!cfg.runs)('beta = 0 clears NaN in C; K = 0 and alpha = 0 only scale C', () => {
    useConfig(b, cfg, 2);
    const p = product(false, true, 37, 45, 300, 1, 0, 1, 7);
    p.c0.fill(Number.NaN);
    for (let i = 0; i < p.m; i++) p.c0.fill(-7, i * p.ldc + p.n, (i + 1) * p.ldc); // padding: must stay -7
    check('beta 0 over NaN', p, runOne(b, p));
    const c = new Float32Array([Number.NaN, 2, 3, 4]);
    b.sgemm(false, false, 2, 2, 0, 1, new Float32Array(0), 1, new Float32Array(0), 2, 0, c, 2);
    expect(Array.from(c)).toEqual([0, 0, 0, 0]);
    c.set([1, 2, 3, 4]);
    b.sgemm(false, false, 2, 2, 0, 1, new Float32Array(0), 1, new Float32Array(0), 2, 0.5, c, 2);
    expect(Array.from(c)).toEqual([0.5, 1, 1.5, 2]);
  });

  it.skipIf(!cfg.runs)('sgemmBatched with strides, gaps and stride-0 broadcast, 1 and 2 threads', () => {
    checkBatched(b, cfg);
  });

  it.skipIf(!cfg.runs || cfg.system)('sums K block by block (KC 256), to the bit, whatever the loop order', () => {
    checkKBlocks(b, cfg);
  });

  it.skipIf(!cfg.runs || !b.sgemmBatchedBias)(
    'sgemmBatchedBias gives the bits of a broadcast bias and beta = 1',
    () => {
      checkBias(b, cfg);
    },
  );
}

/**
 * Our sgemm adds each output's K blocks of 256 in order, the first onto beta · C: one product over K must equal, byte
 * for byte, the same product as one call per 256-wide K slice (beta, then 1), whichever loop order the blocking
 * takes (shapes past one MC block with a small B run every K block of an M block before the next).
 */
function checkKBlocks(b: NativeBlas, cfg: Config): void {
  const KC = 256;
  for (const threads of [1, 2]) {
    useConfig(b, cfg, threads);
    for (const [ta, tb] of TRANSPOSES) {
      for (const [m, n, k] of [
        [500, 70, 700],
        [481, 33, 1024],
        [250, 600, 300],
      ] as const) {
        const p = product(ta, tb, m, n, k, 0.75, -0.5, 1, m + n);
        const whole = runOne(b, p);
        const sliced = p.c0.slice();
        for (let pc = 0; pc < k; pc += KC) {
          const kc = Math.min(KC, k - pc);
          const a = p.a.subarray(ta ? pc * p.lda : pc);
          const bb = p.b.subarray(tb ? pc : pc * p.ldb);
          b.sgemm(ta, tb, m, n, kc, p.alpha, a, p.lda, bb, p.ldb, pc === 0 ? p.beta : 1, sliced, p.ldc);
        }
        const label = `${cfg.name} ${m}x${n}x${k} (${ta}, ${tb}, ${threads} threads)`;
        expect(Buffer.compare(new Uint8Array(whole.buffer), new Uint8Array(sliced.buffer)), label).toBe(0);
      }
    }
  }
}

/**
 * sgemmBatchedBias against the path it replaces (every row of C filled with the bias, then sgemmBatched with
 * beta = 1), byte for byte: ragged shapes (K past one K block too), every transpose, batches with a shared B (one
 * folded product) and with their own B, alpha 1 and 0.75, K = 0, 1 and 2 threads; C's padding is never written.
 */
function checkBias(b: NativeBlas, cfg: Config): void {
  const batch = 3;
  for (const threads of [1, 2]) {
    useConfig(b, cfg, threads);
    for (const [ta, tb] of TRANSPOSES) {
      [...SHAPES, [40, 33, 0] as [number, number, number]].forEach(([m, n, k], s) => {
        const p = product(ta, tb, m, n, k, s % 2 ? 0.75 : 1, 1, s % 2 ? 3 : 0, 50 + s);
        const bias = randomArray(n, 900 + s);
        const [aSize, bSize, cSize] = [p.a.length, p.b.length, m * p.ldc];
        const a = randomArray(aSize * batch, 7 + s);
        const bb = randomArray(bSize * batch, 8 + s);
        for (const sb of [0, bSize]) {
          const c0 = randomArray(cSize * batch, 9 + s); // padding past n: must survive
          const want = c0.slice();
          for (let r = 0; r < m * batch; r++) want.set(bias, r * p.ldc);
          b.sgemmBatched(ta, tb, m, n, k, p.alpha, a, p.lda, aSize, bb, p.ldb, sb, 1, want, p.ldc, cSize, batch);
          const got = c0.slice();
          b.sgemmBatchedBias!(ta, tb, m, n, k, p.alpha, a, p.lda, aSize, bb, p.ldb, sb, bias, got, p.ldc, cSize, batch);
          const label = `${cfg.name} ${m}x${n}x${k} (${ta}, ${tb}, strideB ${sb}, ${threads} threads)`;
          expect(Buffer.compare(new Uint8Array(got.buffer), new Uint8Array(want.buffer)), label).toBe(0);
        }
      });
    }
  }
  const c = new Float32Array(8);
  expect(() =>
    b.sgemmBatchedBias!(false, false, 2, 4, 1, 1, c, 1, 0, c, 4, 0, new Float32Array(3), new Float32Array(8), 4, 0, 1),
  ).toThrow(/bias has 3 elements but N = 4/);
  expect(() => b.sgemmBatchedBias!(false, false, 2, 4, 1, 1, c, 1, 0, c, 4, 0, c.subarray(4), c, 4, 0, 1)).toThrow(
    /share memory/,
  );
}

describe.skipIf(!blas?.setBlas)(`sgemm backends: products on each backend${skipReason}`, () => {
  const b = blas as NativeBlas;
  for (const cfg of CONFIGS) {
    const why = cfg.runs ? '' : cfg.system ? ' (skipped: no system BLAS linked)' : ' (skipped: this CPU lacks it)';
    describe(`${cfg.name}${why}`, () => configTests(b, cfg));
  }
});

describe.skipIf(!blas?.setBlas)(`sgemm backends: selecting a backend and naming it${skipReason}`, () => {
  const b = blas as NativeBlas;
  it('reports the backend in use, and refuses a system BLAS or ISA that is not there', () => {
    expect(b.setBlas!('own')).toBe(true);
    b.setThreads(2);
    expect(b.info().blas).toMatch(/^own \((portable|avx2|avx512), 2 threads\)$/);
    expect(b.threads()).toBe(2);
    expect(b.setBlas!('system')).toBe(hasSystem);
    if (hasSystem) expect(b.info().blas).toMatch(/^(openblas \(.+\)|accelerate)$/);
    expect(b.setIsa!('nonsense' as 'best')).toBe(false);
    expect(() => b.setBlas!('other' as 'own')).toThrow(RangeError);
  });
});
