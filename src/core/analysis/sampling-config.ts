// How many samples the analysis pass keeps per feature, and the fixed sizes that bound its memory
// (see feature-accumulator.ts for the scheme). Defaults follow sae_vis (10 quantile groups of 5) and lm-saes.
import { InputError } from '../errors';

export interface SamplingConfig {
  /** Contexts in `top_activations` (the per-feature min-heap size). */
  topN: number;
  /** Number of `quantile_q` samplings: q = 1 … quantiles, bucket q holds contexts whose max is in ((q−1)/Q·M, q/Q·M]. */
  quantiles: number;
  /** Samples drawn per quantile bucket. */
  samplesPerQuantile: number;
  /** Activation bands per feature, linear over [0, U) with U the feature's doubling range (even). */
  bands: number;
  /** Reservoir capacity of each band (uniform sample of the contexts whose max fell in the band), ≥ samplesPerQuantile. */
  bandCapacity: number;
  /** Contexts in `non_activating`, drawn from a shared reservoir of `nonActivatingPool` windows. */
  nonActivating: number;
  nonActivatingPool: number;
  /** Histogram bins over [0, U) (even, so a doubling merges pairs). */
  histogramBins: number;
  /** The feature's first range U = rangeHeadroom × the max of the first context it fires on. */
  rangeHeadroom: number;
  seed: number;
}

export const DEFAULT_SAMPLING: SamplingConfig = {
  topN: 10,
  quantiles: 10,
  samplesPerQuantile: 5,
  // 24 bands of 5: a bucket whose contexts all fall in one band still fills, and the bands cut by a bucket edge
  // are narrow enough not to skew the draw (tests/core/analysis/feature-accumulator.test.ts measures it).
  bands: 24,
  bandCapacity: 5,
  nonActivating: 5,
  nonActivatingPool: 64,
  histogramBins: 64,
  rangeHeadroom: 1.5,
  seed: 0,
};

/** Fills defaults and rejects values the scheme cannot use, naming the field. */
export function resolveSamplingConfig(over: Partial<SamplingConfig> = {}): SamplingConfig {
  const c = { ...DEFAULT_SAMPLING, ...over };
  const check = (field: keyof SamplingConfig, ok: boolean, expected: string) => {
    if (!ok) throw new InputError(`samplingConfig.${field}: ${c[field]} is invalid, expected ${expected}`);
  };
  const count = (v: number) => Number.isInteger(v) && v >= 0;
  check('topN', count(c.topN) && c.topN <= 65535, 'an integer in 0..65535');
  check('quantiles', count(c.quantiles), 'a non-negative integer');
  check('samplesPerQuantile', count(c.samplesPerQuantile), 'a non-negative integer');
  check('bands', Number.isInteger(c.bands) && c.bands >= 2 && c.bands % 2 === 0, 'an even integer ≥ 2');
  check(
    'bandCapacity',
    count(c.bandCapacity) && c.bandCapacity >= c.samplesPerQuantile,
    `an integer ≥ samplesPerQuantile (${c.samplesPerQuantile}), so a bucket inside one band can fill`,
  );
  check('nonActivating', count(c.nonActivating), 'a non-negative integer');
  check('nonActivatingPool', count(c.nonActivatingPool), 'a non-negative integer');
  check(
    'histogramBins',
    Number.isInteger(c.histogramBins) && c.histogramBins >= 2 && c.histogramBins % 2 === 0,
    'an even integer ≥ 2',
  );
  check('rangeHeadroom', Number.isFinite(c.rangeHeadroom) && c.rangeHeadroom > 1, 'a number > 1');
  check('seed', Number.isInteger(c.seed) && c.seed >= 0 && c.seed <= 0xffffffff, 'an integer in 0..2^32-1');
  return c;
}
