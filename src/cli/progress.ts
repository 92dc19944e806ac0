// A one-line progress bar on stderr (only when stderr is a terminal; silent in pipes and tests).
export interface ProgressBar {
  update(done: number, total: number, unit: string): void;
  done(): void;
}

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  const start = Date.now();
  const live = Boolean(stream.isTTY);
  return {
    update(done, total, unit) {
      if (!live) return;
      const width = 30;
      const filled = Math.round((done / Math.max(total, 1)) * width);
      const secs = (Date.now() - start) / 1000;
      const eta = done > 0 ? (secs / done) * (total - done) : 0;
      stream.write(
        `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${unit}  ${secs.toFixed(0)}s, ETA ${eta.toFixed(0)}s `,
      );
    },
    done() {
      if (live) stream.write('\n');
    },
  };
}
