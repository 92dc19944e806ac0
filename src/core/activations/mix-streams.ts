// Weighted mixing of activation streams at batch granularity, with core/data's mixWeighted rule: before each
// batch, u = MT19937(seed).nextFloat53() picks the first still-active part whose cumulative share of the active
// weights exceeds u. `first_exhausted` (default) ends the mixture when the chosen part has no batch left;
// `drop_exhausted` drops that part and draws again. The state is the number of draws made, the active parts and
// each part's own state, so a mixture resumes exactly when its parts are created from `state.parts[i]`.
import { InputError } from '../errors';
import { Mt19937 } from '../data/random/mt19937';
import { pickWeighted, type MixOptions } from '../data/mixing';
import type { ActivationBatch, ActivationStream, ActivationStreamState } from './types';

export interface MixedStreamState {
  kind: 'mixture';
  seed: number;
  weights: number[];
  stopping: NonNullable<MixOptions['stopping']>;
  /** Random draws made so far (replayed on resume). */
  draws: number;
  /** Parts still drawn from. */
  active: number[];
  /** Each part's state(), in part order. */
  parts: ActivationStreamState[];
  tokensEmitted: number;
}

export interface MixPart {
  stream: ActivationStream;
  weight: number;
}

export interface MixStreamsOptions extends MixOptions {
  /** A mixture's state(); each part stream must have been created from `state.parts[i]`. */
  state?: MixedStreamState;
}

export function mixStreams(parts: readonly MixPart[], opts: MixStreamsOptions): ActivationStream<MixedStreamState> {
  const weights = parts.map((p) => p.weight);
  checkWeights(weights);
  const [firstPart] = parts;
  if (!firstPart) throw new InputError('mixture: no parts, expected at least one');
  const first = firstPart.stream;
  // A part by index; the active list can come from a resume state, so an index out of range is an input error.
  const partAt = (i: number): MixPart => {
    const p = parts[i];
    if (!p) throw new InputError(`mixture: part ${i} does not exist (the mixture has ${parts.length})`);
    return p;
  };
  parts.forEach(({ stream }, i) => {
    if (
      JSON.stringify(stream.hookPoints) !== JSON.stringify(first.hookPoints) ||
      JSON.stringify(stream.dims) !== JSON.stringify(first.dims)
    ) {
      throw new InputError(
        `mixture: part ${i} has hook points ${JSON.stringify(stream.dims)}, expected ${JSON.stringify(first.dims)} like part 0`,
      );
    }
  });
  const stopping = opts.stopping ?? 'first_exhausted';
  const rng = new Mt19937(opts.seed);
  let draws = 0;
  let active = weights.flatMap((w, i) => (w > 0 ? [i] : []));
  let tokens = 0;
  let ended = false;
  const s = opts.state;
  if (s) {
    if (s.kind !== 'mixture') throw new InputError(`mixture resume state: kind '${s.kind}', expected 'mixture'`);
    const same = (field: string, a: unknown, b: unknown) => {
      if (JSON.stringify(a) !== JSON.stringify(b))
        throw new InputError(
          `mixture resume state: ${field} was ${JSON.stringify(a)}, this mixture has ${JSON.stringify(b)}`,
        );
    };
    same('seed', s.seed, opts.seed);
    same('weights', s.weights, weights);
    same('stopping', s.stopping, stopping);
    parts.forEach((p, i) =>
      same(`parts[${i}] (create each part stream from state.parts[${i}])`, s.parts[i], p.stream.state()),
    );
    for (; draws < s.draws; draws++) rng.nextFloat53();
    active = [...s.active];
    tokens = s.tokensEmitted;
  }

  return {
    hookPoints: first.hookPoints,
    dims: first.dims,
    get dModel() {
      return first.dModel;
    },
    get tokensEmitted() {
      return tokens;
    },
    async next(): Promise<ActivationBatch | null> {
      while (!ended && active.length > 0) {
        const slot = pickWeighted(
          active.map((i) => partAt(i).weight),
          rng.nextFloat53(),
        );
        draws++;
        const part = active[slot];
        if (part === undefined) throw new Error(`pickWeighted: slot ${slot} of ${active.length}`);
        const batch = await partAt(part).stream.next();
        if (batch) {
          tokens += batch.rows;
          return { ...batch, part };
        }
        if (stopping === 'first_exhausted') ended = true;
        else active.splice(slot, 1);
      }
      // An ended mixture stays ended, also after a resume.
      active = [];
      return null;
    },
    state(): MixedStreamState {
      return {
        kind: 'mixture',
        seed: opts.seed,
        weights,
        stopping,
        draws,
        active: [...active],
        parts: parts.map((p) => p.stream.state()),
        tokensEmitted: tokens,
      };
    },
    close(): void {
      for (const p of parts) p.stream.close();
    },
  };
}

function checkWeights(weights: readonly number[]): void {
  if (weights.length === 0) throw new InputError('mixture: no parts, expected at least one weighted activation stream');
  weights.forEach((w, i) => {
    if (!Number.isFinite(w) || w < 0)
      throw new InputError(`mixture: part ${i} has weight ${w}, expected a finite number ≥ 0`);
  });
  if (!weights.some((w) => w > 0))
    throw new InputError('mixture: every weight is 0, expected at least one positive weight');
}
