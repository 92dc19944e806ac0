// The one interface every activation source (a model run on the fly, the on-disk cache, a weighted mixture)
// offers to SAE training and evaluation: fixed-size batches of token rows, and a JSON state to resume from.

export interface ActivationBatch {
  /** Per hook point: `rows` token rows of that hook's width, row-major ([rows, d] as a flat array). */
  acts: Record<string, Float32Array>;
  rows: number;
  /**
   * Where each row came from, interleaved [rows, 2]: `origin[2i]` is the window (its row in the windows the
   * stream was given, or in the cache), `origin[2i + 1]` the position within it.
   */
  origin?: Int32Array;
  /** For a mixture: which part the batch came from. */
  part?: number;
}

/** What a resumed stream must match (a state from a differently configured stream is refused field by field). */
export interface StreamFingerprint {
  /** `model` (run on the fly) or `cache`. */
  source: string;
  /** What was read: a digest of the windows, or the cache's model, dataset and folder. */
  data: string;
  /** The token mask, as JSON (or `stored` when a cache's own mask is used). */
  mask: string;
  hook_points: string[];
  batch_size: number;
  seed: number;
  shuffle: boolean;
  /** Windows per shuffle group. */
  group_windows: number;
  /** Windows the stream reads in all. */
  n_windows: number;
  drop_last: boolean;
}

export interface ActivationStreamState {
  kind: 'group-stream';
  /** The group whose shuffled rows are being consumed. */
  group: number;
  /** Rows of that group already emitted. */
  offset: number;
  tokensEmitted: number;
  batchesEmitted: number;
  /** The stream's configuration when the state was taken. */
  fingerprint: StreamFingerprint;
}

export interface ActivationStream<State = ActivationStreamState> {
  /** Width of the first hook point (d_model for residual hooks). */
  readonly dModel: number;
  /** Width of each hook point. */
  readonly dims: Readonly<Record<string, number>>;
  readonly hookPoints: string[];
  /** The next batch of exactly `batchSize` rows; the final partial batch only with `dropLast: false`; then null. */
  next(): Promise<ActivationBatch | null>;
  /** Where the stream stands, between batches: a new stream created with it continues with the same batches. */
  state(): State;
  readonly tokensEmitted: number;
  /**
   * The caller is done with a batch this stream returned (it neither reads nor keeps its arrays): the stream may
   * fill them with a later batch instead of allocating new ones. Optional; a stream without it ignores the hint.
   */
  release?(batch: ActivationBatch): void;
  close(): void;
}
