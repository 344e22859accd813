/**
 * Journal lines: `{"rx":<receive µs>,"m":<frame exactly as received>}` one per line. The frame is
 * embedded as received (it is JSON already), so the line keeps the exchange's bytes and `replay`
 * can read it back.
 *
 * This writer is the `--out` stream (stdout or a file); the durable, rotating journal directory with
 * its checkpoint is src/journal/.
 */
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { journalLine, ownLine } from "../journal/journal-line.ts";

/** One Int32 to sleep on with Atomics.wait (a synchronous pause, in the writer Worker only). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** Buffers journal lines and writes them in large chunks to a file descriptor. */
export class JournalLineWriter {
  private readonly fd: number;
  private readonly ownsFd: boolean;
  private chunks: string[] = [];
  private bufferedChars = 0;
  /** Lines handed to the OS. */
  written = 0;
  /** Of `written`: lines of frames (the rest are obcap's own records). */
  writtenFrames = 0;
  private pendingLines = 0;
  private pendingFrames = 0;

  /** `path` null means stdout. A file is appended to, never truncated. */
  constructor(path: string | null, private readonly chunkChars = 64 * 1024) {
    this.fd = path === null ? 1 : openSync(path, "a");
    this.ownsFd = path !== null;
  }

  append(rxMicros: number, frame: string): void {
    this.pendingFrames++;
    this.push(journalLine(rxMicros, frame));
  }

  /** One of obcap's own records, in its own line form. */
  appendOwn(rxMicros: number, record: string): void {
    this.push(ownLine(rxMicros, record));
  }

  private push(line: string): void {
    this.chunks.push(line);
    this.bufferedChars += line.length;
    this.pendingLines++;
    if (this.bufferedChars >= this.chunkChars) this.flush();
  }

  /** Writes what is buffered. */
  flush(): void {
    if (this.chunks.length === 0) return;
    const data = this.chunks.join("");
    this.chunks = [];
    this.bufferedChars = 0;
    let buffer = new TextEncoder().encode(data);
    while (buffer.length > 0) {
      try {
        buffer = buffer.subarray(writeSync(this.fd, buffer));
      } catch (err) {
        // This is the capture's only output (--no-journal): wait for a reader that is behind, and let
        // the queue apply the full-queue policy (counted loss, loss records) if it stays behind.
        if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
        Atomics.wait(PAUSE, 0, 0, 1);
      }
    }
    this.written += this.pendingLines;
    this.writtenFrames += this.pendingFrames;
    this.pendingLines = 0;
    this.pendingFrames = 0;
  }

  close(): void {
    this.flush();
    if (this.ownsFd) {
      try {
        fsyncSync(this.fd);
      } catch (err) {
        // A character device or pipe (`--out /dev/null`, a FIFO) cannot be fsynced: nothing to make durable.
        if ((err as NodeJS.ErrnoException).code !== "EINVAL") throw err;
      }
      closeSync(this.fd);
    }
  }
}
