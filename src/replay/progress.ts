/**
 * Replay progress. On a terminal: one live line, redrawn a few times a second (lines done, lines/s,
 * items written, retries, share of the input bytes and an ETA by bytes). Not on a terminal (logs,
 * systemd, CI): a plain progress line every `logEveryMs`, so a log file gets no control characters.
 * Either way the caller prints the summary at the end.
 */
import { formatBytes } from "./line-splitter.ts";

/** What the replay has done so far (this run). */
export interface ProgressFigures {
  lines: number;
  events: number;
  /** Items DynamoDB acknowledged (0 in a dry run). */
  written: number;
  /** BatchWriteItem requests sent again (throttling, unprocessed items, network). */
  retries: number;
  badLines: number;
  /** Bytes taken from the input files (compressed bytes for gzip), resume offsets included. */
  bytesDone: number;
  /** Sum of the input sizes; undefined when reading stdin. */
  bytesTotal: number | undefined;
}

export interface ProgressOptions {
  /** Live line (terminal) or log lines. */
  tty: boolean;
  /** Raw output for the live line (stderr). */
  write: (text: string) => void;
  /** One log line (non-terminal mode). */
  log: (line: string) => void;
  dryRun: boolean;
  /** Live line redraw interval. Default 250 ms. */
  liveEveryMs?: number;
  /** Log line interval. Default 10,000 ms. */
  logEveryMs?: number;
  /** Window of the lines/s figure. Default 2,000 ms. */
  rateWindowMs?: number;
  nowMs?: () => number;
}

const CLEAR_LINE = "\r\u001b[2K";

export class ReplayProgress {
  private readonly nowMs: () => number;
  private readonly startMs: number;
  private startBytes: number | undefined;
  private lastShownMs: number;
  private samples: Array<{ atMs: number; lines: number }> = [];
  private liveShown = false;

  constructor(private readonly options: ProgressOptions) {
    this.nowMs = options.nowMs ?? Date.now;
    this.startMs = this.nowMs();
    this.lastShownMs = this.startMs;
  }

  /** Called often (after every chunk); draws or logs when its interval has passed. */
  tick(figures: ProgressFigures): void {
    const now = this.nowMs();
    this.startBytes ??= figures.bytesDone;
    this.samples.push({ atMs: now, lines: figures.lines });
    const windowMs = this.options.rateWindowMs ?? 2_000;
    while (this.samples.length > 2 && now - this.samples[1]!.atMs >= windowMs) this.samples.shift();
    const everyMs = this.options.tty ? (this.options.liveEveryMs ?? 250) : (this.options.logEveryMs ?? 10_000);
    if (now - this.lastShownMs < everyMs) return;
    this.lastShownMs = now;
    const text = this.describe(figures, now);
    if (this.options.tty) {
      this.options.write(`${CLEAR_LINE}${text}`);
      this.liveShown = true;
    } else {
      this.options.log(`progress: ${text}`);
    }
  }

  /** Prints something else (a bad line report) without mixing it into the live line. */
  interject(print: () => void): void {
    this.clear();
    print();
  }

  /** Removes the live line (before the summary). */
  clear(): void {
    if (this.liveShown) this.options.write(CLEAR_LINE);
    this.liveShown = false;
  }

  /** `1,234,567 lines, 312,400 lines/s, 1,230,000 written, 0 retries, 45.2% of 2.10 GiB, ETA 0:01:12`. */
  describe(f: ProgressFigures, now: number = this.nowMs()): string {
    const parts = [`${count(f.lines)} lines`, `${count(Math.round(this.linesPerSec(f.lines, now)))} lines/s`];
    parts.push(this.options.dryRun ? `${count(f.events)} events validated` : `${count(f.written)} written`);
    if (!this.options.dryRun) parts.push(`${count(f.retries)} retries`);
    if (f.badLines > 0) parts.push(`${count(f.badLines)} bad`);
    if (f.bytesTotal !== undefined && f.bytesTotal > 0) {
      parts.push(`${((100 * Math.min(f.bytesDone, f.bytesTotal)) / f.bytesTotal).toFixed(1)}% of ${formatBytes(f.bytesTotal)}`);
      const eta = this.etaMs(f, now);
      parts.push(`ETA ${eta === undefined ? "?" : formatDuration(eta)}`);
    } else {
      parts.push(`${formatBytes(f.bytesDone)} read`);
    }
    return parts.join(", ");
  }

  private linesPerSec(lines: number, now: number): number {
    const first = this.samples[0];
    if (first === undefined || now - first.atMs <= 0) return 0;
    return ((lines - first.lines) * 1000) / (now - first.atMs);
  }

  /** Remaining bytes at the average byte rate of this run. */
  private etaMs(f: ProgressFigures, now: number): number | undefined {
    const elapsedMs = now - this.startMs;
    const doneThisRun = f.bytesDone - (this.startBytes ?? 0);
    if (f.bytesTotal === undefined || elapsedMs <= 0 || doneThisRun <= 0) return undefined;
    return (Math.max(0, f.bytesTotal - f.bytesDone) * elapsedMs) / doneThisRun;
  }
}

/** `1,234,567`. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** `0:01:12`, `12:03:45`. */
export function formatDuration(ms: number): string {
  const totalSec = Math.round(ms / 1000);
  const h = Math.floor(totalSec / 3600);
  const m = Math.floor((totalSec % 3600) / 60);
  const s = totalSec % 60;
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}
