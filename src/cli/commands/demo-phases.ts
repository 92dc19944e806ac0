// The demo's phase clock: seconds per phase (the one LM pass with the recipe's statistics, the SAE steps, the
// evaluation, the analysis), the process's CPU seconds in each (all its threads: against seconds × cores it says
// how busy the cores were), and the process's peak resident memory, for its human output and its JSON line.

export type DemoPhase = 'data' | 'lm_stats' | 'train_steps' | 'eval' | 'analysis';

export class PhaseClock {
  private last = performance.now();
  private lastCpu = cpuSeconds();
  private readonly start = this.last;
  readonly seconds: Partial<Record<DemoPhase, number>> = {};
  /** CPU seconds of the process (user + system, every thread) per phase; model + tokenizing's are in the LM pass's. */
  readonly cpuSeconds: Partial<Record<DemoPhase, number>> = {};
  /** The process's peak resident memory (MB) when each phase ended: the phase where it grew is where it peaked. */
  readonly peakRssMb: Partial<Record<DemoPhase, number>> = {};

  /** Ends `phase` now: its time is from the previous mark (or the clock's start). */
  mark(phase: DemoPhase): void {
    const now = performance.now();
    this.seconds[phase] = round1((now - this.last) / 1000);
    this.peakRssMb[phase] = peakRssMb();
    this.last = now;
    this.markCpu(phase);
  }

  /** Ends two phases now: `first` took its `firstSeconds` of the time since the previous mark, `second` the rest. */
  markSplit(first: DemoPhase, firstSeconds: number, second: DemoPhase): void {
    const now = performance.now();
    const total = (now - this.last) / 1000;
    const head = Math.min(Math.max(firstSeconds, 0), total);
    this.seconds[first] = round1(head);
    this.seconds[second] = round1(total - head);
    this.peakRssMb[second] = peakRssMb();
    this.last = now;
    this.markCpu(second);
  }

  private markCpu(phase: DemoPhase): void {
    const cpu = cpuSeconds();
    this.cpuSeconds[phase] = round1(cpu - this.lastCpu);
    this.lastCpu = cpu;
  }

  get totalSeconds(): number {
    return round1((performance.now() - this.start) / 1000);
  }
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Peak resident set of this process so far, in MB (getrusage's ru_maxrss, which Node reports in KiB). */
export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** "phases: model + tokenizing 12.0 s, LM pass + statistics 95.1 s, SAE steps 120.4 s, …; peak memory 1,830 MB". */
export function phaseSummary(clock: PhaseClock): string {
  const names: Record<DemoPhase, string> = {
    data: 'model + tokenizing',
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

/** The JSON line's timing fields: analysed tokens, seconds and CPU seconds per phase, total seconds, peak RSS. */
export function demoTimes(
  clock: PhaseClock,
  analysisTokens: number,
): {
  analysis_tokens: number;
  phase_seconds: PhaseClock['seconds'];
  phase_cpu_seconds: PhaseClock['cpuSeconds'];
  total_seconds: number;
  peak_rss_mb: number;
  peak_rss_mb_after_phase: PhaseClock['peakRssMb'];
} {
  return {
    analysis_tokens: analysisTokens,
    phase_seconds: clock.seconds,
    phase_cpu_seconds: clock.cpuSeconds,
    total_seconds: clock.totalSeconds,
    peak_rss_mb: peakRssMb(),
    peak_rss_mb_after_phase: clock.peakRssMb,
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
