// The demo's phase clock: seconds per phase (the one LM pass with the recipe's statistics, the SAE steps, the
// evaluation, the analysis) and the process's peak resident memory, for its human output and its JSON line.

export type DemoPhase = 'lm_stats' | 'train_steps' | 'eval' | 'analysis';

export class PhaseClock {
  private last = performance.now();
  private readonly start = this.last;
  readonly seconds: Partial<Record<DemoPhase, number>> = {};

  /** Ends `phase` now: its time is from the previous mark (or the clock's start). */
  mark(phase: DemoPhase): void {
    const now = performance.now();
    this.seconds[phase] = round1((now - this.last) / 1000);
    this.last = now;
  }

  get totalSeconds(): number {
    return round1((performance.now() - this.start) / 1000);
  }
}

/** Peak resident set of this process so far, in MB (getrusage's ru_maxrss, which Node reports in KiB). */
export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** "phases: LM pass + statistics 95.1 s, SAE steps 120.4 s, …; peak memory 1,830 MB". */
export function phaseSummary(clock: PhaseClock): string {
  const names: Record<DemoPhase, string> = {
    lm_stats: 'LM pass + statistics',
    train_steps: 'SAE steps',
    eval: 'evaluation',
    analysis: 'analysis',
  };
  const parts = (Object.keys(names) as DemoPhase[])
    .filter((p) => clock.seconds[p] !== undefined)
    .map((p) => `${names[p]} ${clock.seconds[p]!.toFixed(1)} s`);
  return `phases: ${parts.join(', ')}; total ${clock.totalSeconds.toFixed(1)} s; peak memory ${peakRssMb().toLocaleString('en-US')} MB`;
}

/** The JSON line's timing fields: analysed tokens, seconds per phase, total seconds, peak RSS. */
export function demoTimes(
  clock: PhaseClock,
  analysisTokens: number,
): { analysis_tokens: number; phase_seconds: PhaseClock['seconds']; total_seconds: number; peak_rss_mb: number } {
  return {
    analysis_tokens: analysisTokens,
    phase_seconds: clock.seconds,
    total_seconds: clock.totalSeconds,
    peak_rss_mb: peakRssMb(),
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
