/**
 * The journal's writing side: frames -> journal lines -> the current segment file, with rotation and
 * the fsync policy. Web standards + `node:fs`; runs in the journal stage (src/journal/journal-stage.ts).
 *
 * Lines are buffered and handed to the OS in one write() when the buffer passes `flushBytes`, and
 * whenever the caller's ring runs dry (`flush()`), so a quiet feed is never held back. From then on a
 * crash of obcap (SIGKILL, OOM) loses nothing: the kernel has the bytes. A power failure loses what
 * was not yet fsynced: `fdatasync` runs at most `fsyncMs` after a write (0 = after every write), and
 * at rotation and close. docs/journal.md states the resulting loss window.
 *
 * Loss markers (frames the capture thread had to drop, frame-publisher.ts) are merged until the next
 * write and go out as one gap record of every channel in FRONT of that write's lines: a frame received
 * after a loss never reaches the disk before the loss's record, even if a kill cuts the write short.
 *
 * `--out` gets a copy of every write through a TeeOutput, which never makes the journal wait.
 *
 * Without a journal directory (`--no-journal --out FILE|-`) the same lines go to that one stream
 * instead of segments: no rotation, fsync at close, and a reader that is behind makes it wait (the
 * queue before it then applies the full-queue policy), since the stream is the capture's only output.
 *
 * Rotation: a segment is closed once it holds `segmentBytes`, or `segmentAgeMs` after it was opened if
 * it holds anything; the next one is created (O_EXCL) and the directory fsynced. The previous segment
 * is complete on disk before the next exists, which is what lets the uploader treat "a later segment
 * exists" as "this one is finished". An empty segment is deleted at close.
 */
import { closeSync, fdatasyncSync, fstatSync, openSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { obcapError, describeError } from "../base/errors.ts";
import type { MicrosClock } from "../base/clock.ts";
import { LineBuffer } from "./line-buffer.ts";
import { ownLine } from "./journal-line.ts";
import type { TeeOutput, TeeStats } from "./tee-output.ts";
import { mergeLoss, type LossRun } from "../queue/frame-publisher.ts";
import { SEGMENTS_DIR, ensureJournalDirs, fsyncDirectory, listSegments, nextSegmentStart, segmentName, segmentPath } from "./segments.ts";

/** The one stream that takes the lines instead of segments (`--no-journal --out`). */
export interface LineStream {
  fd: number;
  /** What to call it in messages: `stdout (--out -)` or `the --out file <path>`. */
  name: string;
  /** Close it at the end (a file; not stdout). */
  ownsFd: boolean;
}

export interface AppenderOptions {
  /** Journal directory (`--journal`); ignored with `stream`. */
  dir: string;
  /** Write every line to this stream instead of segment files. */
  stream?: LineStream;
  /** Goes into segment names. */
  pid: number;
  /** Rotate once a segment holds this many bytes (`--segment-mb`). */
  segmentBytes: number;
  /** Rotate a non-empty segment this long after it was opened (`--segment-age`). */
  segmentAgeMs: number;
  /** fdatasync at most this long after a write; 0 = after every write (`--fsync-ms`). */
  fsyncMs: number;
  /** Receive clock, for segment names. */
  clockMicros: MicrosClock;
  /** Monotonic milliseconds. Default performance.now. */
  nowMs?: () => number;
  /** `--out`: a best-effort copy of every line (tee-output.ts). */
  tee?: TeeOutput;
  /** The own record (gap record text) that stands for a loss; losses are not journaled without it. */
  lossRecord?: (loss: LossRun) => string;
  /** Buffered bytes that trigger a write. Default 256 KiB. */
  flushBytes?: number;
  /** Called after lines reached the OS (readers may see them now), with the number of frame lines among them. */
  onWritten?: (frames: number) => void;
  /** Called after a rotation, once the new segment exists. */
  onRotated?: (closed: string, opened: string) => void;
  /** Runs before every write and fsync of a segment (a test's stalled disk: journal-fault.ts). */
  beforeDiskIo?: () => void;
}

export interface AppenderStats {
  /** Frames appended. */
  frames: number;
  /** Frames handed to the OS (appended minus those still buffered). */
  framesWritten: number;
  /** Lines handed to the OS: frames and obcap's own records. */
  lines: number;
  /** Of `lines`: obcap's own records (gap records). */
  ownLines: number;
  /** Bytes handed to the OS, all segments. */
  bytes: number;
  /** Lines in the "raw" (line break) and "b64" (not UTF-8) forms. */
  rawLines: number;
  base64Lines: number;
  /** The segment being written. */
  segment: string;
  segmentsOpened: number;
  fsyncs: number;
  maxFsyncMs: number;
  totalFsyncMs: number;
  /** The `--out` copy, when there is one. */
  tee?: TeeStats;
}

export class JournalAppender {
  private readonly options: Required<Omit<AppenderOptions, "tee" | "lossRecord" | "onWritten" | "onRotated" | "beforeDiskIo" | "stream">> & AppenderOptions;
  private readonly buffer = new LineBuffer();
  private fd = -1;
  private segment = "";
  private segmentWritten = 0;
  private openedAtMs = 0;
  /** Time of the first write not yet fsynced; undefined when everything is synced. */
  private dirtySinceMs: number | undefined;
  /** Drops not yet written as a gap record: goes out in front of the next write. */
  private pendingLoss: LossRun | undefined;
  /** Receive time of the first line buffered since the last write. */
  private firstBufferedRx: number | undefined;
  /** Receive time of the last frame appended. */
  private lastFrameRx: number | undefined;
  private readonly counts = { frames: 0, framesWritten: 0, lines: 0, ownLines: 0, bytes: 0, rawLines: 0, base64Lines: 0, segmentsOpened: 0, fsyncs: 0, maxFsyncMs: 0, totalFsyncMs: 0 };

  constructor(options: AppenderOptions) {
    this.options = { nowMs: () => performance.now(), flushBytes: 256 * 1024, ...options };
  }

  /** Creates the directories and the first segment; returns its name. Throws E_JOURNAL_IO. */
  open(): string {
    const { dir, stream } = this.options;
    if (stream) {
      this.fd = stream.fd;
      this.segment = "";
      this.openedAtMs = this.options.nowMs();
      return stream.name;
    }
    try {
      ensureJournalDirs(dir);
    } catch (err) {
      throw ioError(`cannot create the journal directory ${dir}`, err, "check --journal and its permissions");
    }
    this.openSegment(listSegments(dir).at(-1));
    return this.segment;
  }

  /** Adds one frame (bytes as received). Writes when the buffer is full. */
  append(frame: Uint8Array, rxMicros: number): void {
    this.firstBufferedRx ??= rxMicros;
    this.lastFrameRx = rxMicros;
    const form = this.buffer.appendFrame(frame, rxMicros);
    this.counts.frames++;
    if (form === "raw") this.counts.rawLines++;
    else if (form === "b64") this.counts.base64Lines++;
    if (this.buffer.byteLength >= this.options.flushBytes) this.flush();
  }

  /** Receive time of the last frame appended; undefined before the first. */
  lastRx(): number | undefined {
    return this.lastFrameRx;
  }

  /** Adds one of obcap's own records (a gap record: compact JSON text on one line). */
  appendOwn(record: string, rxMicros: number): void {
    this.firstBufferedRx ??= rxMicros;
    this.buffer.appendOwn(record, rxMicros);
    this.counts.ownLines++;
    if (this.buffer.byteLength >= this.options.flushBytes) this.flush();
  }

  /** Frames dropped before the ring: merged, and written as one gap record in front of the next write. */
  noteLoss(loss: LossRun): void {
    this.pendingLoss = mergeLoss(this.pendingLoss, loss);
  }

  /** Hands the buffered lines to the OS, then rotates by size and syncs if due. */
  flush(): void {
    const loss = this.pendingLoss !== undefined && this.options.lossRecord !== undefined ? this.pendingLoss : undefined;
    if (this.buffer.byteLength === 0 && loss === undefined) return;
    if (loss !== undefined) {
      // Its receive time is no later than any line behind it, so "the last receive time journaled"
      // (previous-run.ts) never passes a line a cut write lost.
      const rx = Math.trunc(Math.min(loss.firstRxMicros, this.firstBufferedRx ?? loss.firstRxMicros));
      const line = ENCODER.encode(ownLine(rx, this.options.lossRecord!(loss)));
      this.write(line, 1);
      this.counts.ownLines++;
      this.counts.lines++;
      this.pendingLoss = undefined;
    }
    const frames = this.buffer.frames;
    if (this.buffer.byteLength > 0) {
      this.write(this.buffer.view(), this.buffer.lines);
      this.counts.lines += this.buffer.lines;
      this.counts.framesWritten += frames;
      this.buffer.clear();
    }
    this.firstBufferedRx = undefined;
    const now = this.options.nowMs();
    this.dirtySinceMs ??= now;
    this.options.onWritten?.(frames);
    if (this.segmentWritten >= this.options.segmentBytes && !this.options.stream) this.rotate();
    else this.tick(now);
  }

  /** Runs what is due at `nowMs`: fsync (policy above) and rotation by age. */
  tick(nowMs = this.options.nowMs()): void {
    if (this.options.stream) return; // synced once, at close
    if (this.dirtySinceMs !== undefined && nowMs - this.dirtySinceMs >= this.options.fsyncMs) this.sync();
    // Lines still buffered simply go to the next segment: order is kept either way.
    if (this.segmentWritten > 0 && nowMs - this.openedAtMs >= this.options.segmentAgeMs) this.rotate();
  }

  /** Milliseconds until `tick` has work, or undefined when nothing is pending (idle and synced). */
  msUntilDue(nowMs = this.options.nowMs()): number | undefined {
    if (this.options.stream) return undefined;
    const due: number[] = [];
    if (this.dirtySinceMs !== undefined) due.push(this.dirtySinceMs + this.options.fsyncMs - nowMs);
    if (this.segmentWritten > 0) due.push(this.openedAtMs + this.options.segmentAgeMs - nowMs);
    return due.length === 0 ? undefined : Math.max(0, Math.min(...due));
  }

  /** Writes and syncs everything, closes the segment (deleted if empty) and the --out copy. */
  close(): void {
    if (this.fd < 0) return;
    this.flush();
    if (this.options.stream) this.closeStream(this.options.stream);
    else this.closeSegment();
    this.options.tee?.close();
  }

  stats(): AppenderStats {
    const tee = this.options.tee?.stats();
    return { ...this.counts, segment: this.segment, ...(tee ? { tee } : {}) };
  }

  /** Lines to the segment, and a copy to `--out`. */
  private write(data: Uint8Array, lines: number): void {
    this.options.beforeDiskIo?.();
    if (this.options.stream) writeWaiting(this.fd, data, this.options.stream.name);
    else writeAll(this.fd, data, () => `journal segment ${this.path()}`);
    this.options.tee?.offer(data, lines);
    this.segmentWritten += data.length;
    this.counts.bytes += data.length;
  }

  /** The stream's end: synced when it is a file (a pipe or character device cannot be), closed if ours. */
  private closeStream(stream: LineStream): void {
    try {
      if (stream.ownsFd) fdatasyncSync(this.fd);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EINVAL") throw ioError(`cannot fsync ${stream.name}`, err, "check the disk");
    }
    if (stream.ownsFd) closeSync(this.fd);
    this.fd = -1;
  }

  private path(): string {
    return segmentPath(this.options.dir, this.segment);
  }

  private openSegment(newest: string | undefined): void {
    const name = segmentName(nextSegmentStart(this.options.clockMicros(), newest), this.options.pid);
    const path = segmentPath(this.options.dir, name);
    try {
      this.fd = openSync(path, "ax"); // O_EXCL: never append to another run's segment
    } catch (err) {
      throw ioError(`cannot create journal segment ${path}`, err, "check the journal directory's permissions and free space");
    }
    fsyncDirectory(join(this.options.dir, SEGMENTS_DIR));
    this.segment = name;
    this.segmentWritten = 0;
    this.openedAtMs = this.options.nowMs();
    this.counts.segmentsOpened++;
  }

  private rotate(): void {
    const closed = this.segment;
    this.closeSegment();
    this.openSegment(closed);
    this.options.onRotated?.(closed, this.segment);
  }

  private closeSegment(): void {
    this.sync();
    const path = this.path();
    const empty = fstatSync(this.fd).size === 0;
    closeSync(this.fd);
    this.fd = -1;
    if (empty) {
      unlinkSync(path);
      fsyncDirectory(join(this.options.dir, SEGMENTS_DIR));
    }
  }

  private sync(): void {
    if (this.dirtySinceMs === undefined) return;
    const started = this.options.nowMs();
    this.options.beforeDiskIo?.();
    try {
      fdatasyncSync(this.fd);
    } catch (err) {
      throw ioError(`cannot fsync journal segment ${this.path()}`, err, "check the disk");
    }
    const tookMs = this.options.nowMs() - started;
    this.counts.fsyncs++;
    this.counts.totalFsyncMs += tookMs;
    if (tookMs > this.counts.maxFsyncMs) this.counts.maxFsyncMs = tookMs;
    this.dirtySinceMs = undefined;
  }
}

const ENCODER = new TextEncoder();
const SEGMENT_ACTION = "free disk space or fix the path, then restart; frames received from now on cannot be kept";

/** Writes all of `data` to a segment file (a regular file: no EAGAIN, a write blocks until done). */
function writeAll(fd: number, data: Uint8Array, what: () => string): void {
  let rest = data;
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(fd, rest));
    } catch (err) {
      throw ioError(`cannot write ${what()}`, err, SEGMENT_ACTION);
    }
  }
}

/** One Int32 to sleep on with Atomics.wait: a short synchronous pause while a pipe's reader is behind. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `data` to the `--no-journal --out` stream. A pipe whose reader is behind answers
 * EAGAIN: wait for it, since this is the capture's only output (the queue applies the full-queue
 * policy if it stays behind).
 */
function writeWaiting(fd: number, data: Uint8Array, name: string): void {
  let rest = data;
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(fd, rest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw ioError(`cannot write ${name}`, err, "check the path or the reader of the pipe");
      Atomics.wait(PAUSE, 0, 0, 1);
    }
  }
}

function ioError(what: string, err: unknown, action: string) {
  return obcapError("E_JOURNAL_IO", `${what} (${describeError(err)}): ${action}`, err);
}
