/**
 * The `--out` copy of the journal lines (stdout or a file), written beside the journal without ever
 * holding it up. Web standards + `node:fs`; used by the journal appender in the journal stage.
 *
 * A reader of `--out -` can be slow or stop reading (`obcap ... --out - | jq` with jq paused, a full
 * pipe). The journal must not wait for it: a stalled `--out` must never cost a frame of the journal or
 * the table. So the copy is best effort, with a bounded buffer:
 * - chunks of whole lines are queued, up to `maxQueuedBytes` (default 16 MiB, tens of seconds of a
 *   busy feed), and written one at a time with the asynchronous `fs.write` (the runtime's I/O threads
 *   block on a full pipe, this thread never does);
 * - when the queue is full, the new chunk's lines are skipped and counted (`skippedLines`); the caller
 *   logs the count once a second while it grows. Lines are never cut: the copy stays valid NDJSON;
 * - `EAGAIN` (a non-blocking pipe that is full) retries after `retryMs`; `EPIPE` (the reader went away)
 *   ends the copy (`closedReason`), and the capture goes on.
 * The journal itself is the durable record: what the copy skipped is in the journal segments.
 */
import { closeSync, fdatasyncSync, write } from "node:fs";

export interface TeeOutputOptions {
  /** The file descriptor: 1 for stdout, or a file opened for appending (closed by close()). */
  fd: number;
  /** What to call it in messages: `stdout (--out -)` or `the --out file <path>`. */
  name: string;
  /** Bound of the queue of unwritten bytes. Default 16 MiB. */
  maxQueuedBytes?: number;
  /** Wait before writing again after EAGAIN. Default 20 ms. */
  retryMs?: number;
  /** Asynchronous write; tests pass a fake one. Default `fs.write`. */
  writeAsync?: (fd: number, data: Uint8Array, done: (err: NodeJS.ErrnoException | null, written: number) => void) => void;
}

export interface TeeStats {
  /** Lines written to the copy. */
  writtenLines: number;
  /** Lines skipped because the reader was too far behind (or gone). */
  skippedLines: number;
  /** Bytes waiting to be written. */
  queuedBytes: number;
  /** Why the copy stopped, if it did (the reader closed the pipe, a write error). */
  closedReason?: string;
}

export const DEFAULT_TEE_QUEUE_BYTES = 16 * 1024 * 1024;

export class TeeOutput {
  private readonly queue: Array<{ bytes: Uint8Array; lines: number }> = [];
  private queuedBytes = 0;
  private writing = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closedReason: string | undefined;
  private closed = false;
  private writtenLines = 0;
  private skippedLines = 0;
  private readonly maxQueuedBytes: number;
  private readonly retryMs: number;
  private readonly writeAsync: NonNullable<TeeOutputOptions["writeAsync"]>;

  constructor(private readonly options: TeeOutputOptions) {
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_TEE_QUEUE_BYTES;
    this.retryMs = options.retryMs ?? 20;
    this.writeAsync = options.writeAsync ?? ((fd, data, done) => write(fd, data, 0, data.length, null, done));
  }

  /** Queues a copy of `bytes` (`lines` whole lines), or skips them when the queue is full. Never blocks. */
  offer(bytes: Uint8Array, lines: number): void {
    if (this.closedReason !== undefined || this.closed || bytes.length + this.queuedBytes > this.maxQueuedBytes) {
      this.skippedLines += lines;
      return;
    }
    this.queue.push({ bytes: bytes.slice(), lines });
    this.queuedBytes += bytes.length;
    this.writeNext();
  }

  stats(): TeeStats {
    return {
      writtenLines: this.writtenLines,
      skippedLines: this.skippedLines,
      queuedBytes: this.queuedBytes,
      ...(this.closedReason === undefined ? {} : { closedReason: this.closedReason }),
    };
  }

  /**
   * Stops the copy: what is still queued is skipped (counted), a file is synced and closed if nothing
   * is being written to it. Never waits for a slow reader.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    for (const chunk of this.queue.splice(this.writing ? 1 : 0)) {
      this.skippedLines += chunk.lines;
      this.queuedBytes -= chunk.bytes.length;
    }
    if (this.options.fd > 2 && !this.writing) closeFile(this.options.fd);
  }

  private writeNext(): void {
    if (this.writing || this.queue.length === 0 || this.closedReason !== undefined) return;
    const chunk = this.queue[0]!;
    this.writing = true;
    this.writeAsync(this.options.fd, chunk.bytes, (err, written) => {
      this.writing = false;
      if (err) {
        if (err.code === "EAGAIN") {
          this.retryTimer = setTimeout(() => this.writeNext(), this.retryMs);
          return;
        }
        this.stop(err.code === "EPIPE" ? `the program reading ${this.options.name} went away` : `cannot write ${this.options.name} (${err.code ?? err.message})`);
        return;
      }
      if (written < chunk.bytes.length) {
        // A short write: the rest of this chunk goes next, even after close(), so no line is cut.
        chunk.bytes = chunk.bytes.subarray(written);
        this.queuedBytes -= written;
        this.writeNext();
        return;
      }
      this.queue.shift();
      this.queuedBytes -= chunk.bytes.length;
      this.writtenLines += chunk.lines;
      if (this.closed) {
        // close() came while this write ran: only this chunk was still wanted.
        this.skipQueued();
        if (this.options.fd > 2) closeFile(this.options.fd);
        return;
      }
      this.writeNext();
    });
  }

  private stop(reason: string): void {
    this.closedReason = reason;
    this.skipQueued();
  }

  private skipQueued(): void {
    for (const chunk of this.queue.splice(0)) this.skippedLines += chunk.lines;
    this.queuedBytes = 0;
  }
}

function closeFile(fd: number): void {
  try {
    fdatasyncSync(fd);
  } catch {
    // A FIFO or a character device (`--out /dev/null`) cannot be synced: nothing to make durable.
  }
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}
