import type { ProgressEvent } from '../engine/progress.js';

const LABELS: Record<string, string> = {
  train: 'training θ*',
  fisher: 'Fisher inverse',
  erase: 'SSSE step',
  retrain: 'retraining θ*₋S',
  sweep: 'ε sweep',
  'fisher-rows': 'Fisher rows',
  'retrain-spread': 'retrain spread',
  'calibrate-retrain': 'calibration',
  'calibrate-sweep': 'calibration ε',
};

/**
 * Progress bars on stderr, one line per phase. On a terminal the line is redrawn in place
 * (at most every 100 ms); elsewhere (CI logs, pipes) a line is printed at each quarter.
 */
export class ProgressBars {
  private phase: string | null = null;
  private started = 0;
  private lastDraw = 0;
  private lastQuarter = -1;
  private readonly tty: boolean;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY);
  }

  readonly listener = (e: ProgressEvent): void => {
    const now = performance.now();
    if (e.phase !== this.phase) {
      this.finish();
      this.phase = e.phase;
      this.started = now;
      this.lastQuarter = -1;
      this.lastDraw = 0;
    }
    const fraction = e.total > 0 ? Math.min(1, Math.max(0, e.done / e.total)) : 1;
    if (this.tty) {
      if (fraction < 1 && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      this.stream.write(`\r${this.line(fraction, now)}`);
    } else {
      const quarter = Math.floor(fraction * 4);
      if (quarter > this.lastQuarter) {
        this.lastQuarter = quarter;
        this.stream.write(`${this.line(fraction, now)}\n`);
      }
    }
  };

  private line(fraction: number, now: number): string {
    const width = 30;
    const filled = Math.round(fraction * width);
    const label = (LABELS[this.phase ?? ''] ?? this.phase ?? '').padEnd(16);
    const secs = ((now - this.started) / 1000).toFixed(1).padStart(6);
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}% ${secs}s`;
  }

  /** Ends the current bar's line. */
  finish(): void {
    if (this.phase !== null && this.tty) this.stream.write('\n');
    this.phase = null;
  }
}
