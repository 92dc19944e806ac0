/**
 * Collects a run's metric points and writes them in batches (one store transaction per batch, as
 * appendRunMetrics asks): when `points` have gathered, when the oldest has waited `ms`, or on flush(). A batch whose
 * write fails (the store busy with another writer's long save) is kept and tried again with the next one.
 */
import type { MetricPoint } from '../protocol/runs';

export interface MetricsBatchOptions {
  points: number;
  ms: number;
}

export const DEFAULT_METRICS_BATCH: MetricsBatchOptions = { points: 50, ms: 2000 };
/** Points kept while writes fail (the oldest are dropped beyond it), and the failed tries in a row before giving up. */
const MAX_PENDING = 100_000;
const MAX_FAILURES = 30;

export class MetricsBatcher {
  private buffer: MetricPoint[] = [];
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;

  constructor(
    private readonly write: (points: MetricPoint[]) => void,
    private readonly options: MetricsBatchOptions = DEFAULT_METRICS_BATCH,
    private readonly onWriteError: (err: unknown) => void = () => undefined,
  ) {}

  add(point: MetricPoint): void {
    this.buffer.push(point);
    if (this.buffer.length >= this.options.points) this.flush();
    else this.arm();
  }

  /** Writes what is pending; false when the write failed (the points stay pending). */
  flush(): boolean {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.buffer.length === 0) return true;
    const batch = this.buffer;
    this.buffer = [];
    try {
      this.write(batch);
      this.failures = 0;
      return true;
    } catch (err) {
      this.failures += 1;
      this.onWriteError(err);
      if (this.failures < MAX_FAILURES) {
        this.buffer = [...batch, ...this.buffer].slice(-MAX_PENDING);
        this.arm();
      }
      return false;
    }
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.options.ms);
    this.timer.unref();
  }
}
