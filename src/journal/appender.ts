/**
 * The journal's writing side: frames -> journal lines -> the current segment file, with rotation and
 * the fsync policy. Web standards + `node:fs`; runs in the journal Worker (src/journal/journal-writer.ts).
 *
 * Lines are buffered and handed to the OS in one write() when the buffer passes `flushBytes`, and
 * whenever the caller's ring runs dry (`flush()`), so a quiet feed is never held back. From then on a
 * crash of obcap (SIGKILL, OOM) loses nothing: the kernel has the bytes. A power failure loses what
 * was not yet fsynced: `fdatasync` runs at most `fsyncMs` after a write (0 = after every write), and
 * at rotation and close. docs/journal.md states the resulting loss window.
 *
 * Rotation: a segment is closed once it holds `segmentBytes`, or `segmentAgeMs` after it was opened if
 * it holds anything; the next one is created (O_EXCL) and the directory fsynced. The previous segment
 * is complete on disk before the next exists, which is what lets the uploader treat "a later segment
 * exists" as "this one is finished". An empty segment is deleted at close.
 */
import { closeSync, fdatasyncSync, fstatSync, openSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { obcapError, describeError } from "../errors.ts";
import type { MicrosClock } from "../clock.ts";
import { LineBuffer } from "./line-buffer.ts";
import { SEGMENTS_DIR, ensureJournalDirs, fsyncDirectory, listSegments, nextSegmentStart, segmentName, segmentPath } from "./segments.ts";

export interface AppenderOptions {
  /** Journal directory (`--journal`). */
  dir: string;
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
  /** Another file descriptor that gets every line too (`--out`: 1 = stdout, or an opened file). */
  teeFd?: number;
  /** Buffered bytes that trigger a write. Default 256 KiB. */
  flushBytes?: number;
  /** Called after lines reached the OS (readers may see them now). */
  onWritten?: () => void;
  /** Called after a rotation, once the new segment exists. */
  onRotated?: (closed: string, opened: string) => void;
}

export interface AppenderStats {
  /** Frames appended. */
  frames: number;
  /** Lines handed to the OS (frames appended minus those still buffered). */
  lines: number;
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
}

export class JournalAppender {
  private readonly options: Required<Omit<AppenderOptions, "teeFd" | "onWritten" | "onRotated">> & AppenderOptions;
  private readonly buffer = new LineBuffer();
  private fd = -1;
  private segment = "";
  private segmentWritten = 0;
  private openedAtMs = 0;
  /** Time of the first write not yet fsynced; undefined when everything is synced. */
  private dirtySinceMs: number | undefined;
  private readonly counts = { frames: 0, lines: 0, bytes: 0, rawLines: 0, base64Lines: 0, segmentsOpened: 0, fsyncs: 0, maxFsyncMs: 0, totalFsyncMs: 0 };

  constructor(options: AppenderOptions) {
    this.options = { nowMs: () => performance.now(), flushBytes: 256 * 1024, ...options };
  }

  /** Creates the directories and the first segment; returns its name. Throws E_JOURNAL_IO. */
  open(): string {
    const { dir } = this.options;
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
    const form = this.buffer.appendFrame(frame, rxMicros);
    this.counts.frames++;
    if (form === "raw") this.counts.rawLines++;
    else if (form === "b64") this.counts.base64Lines++;
    if (this.buffer.byteLength >= this.options.flushBytes) this.flush();
  }

  /** Hands the buffered lines to the OS, then rotates by size and syncs if due. */
  flush(): void {
    if (this.buffer.byteLength === 0) return;
    const data = this.buffer.view();
    writeAll(this.fd, data, () => `journal segment ${this.path()}`, SEGMENT_ACTION);
    if (this.options.teeFd !== undefined) {
      const stdout = this.options.teeFd === 1;
      writeAll(this.options.teeFd, data, () => (stdout ? "stdout (--out -)" : "the --out file"), stdout ? "the program reading obcap's stdout went away" : SEGMENT_ACTION);
    }
    this.segmentWritten += data.length;
    this.counts.bytes += data.length;
    this.counts.lines += this.buffer.lines;
    this.buffer.clear();
    const now = this.options.nowMs();
    this.dirtySinceMs ??= now;
    this.options.onWritten?.();
    if (this.segmentWritten >= this.options.segmentBytes) this.rotate();
    else this.tick(now);
  }

  /** Runs what is due at `nowMs`: fsync (policy above) and rotation by age. */
  tick(nowMs = this.options.nowMs()): void {
    if (this.dirtySinceMs !== undefined && nowMs - this.dirtySinceMs >= this.options.fsyncMs) this.sync();
    // Lines still buffered simply go to the next segment: order is kept either way.
    if (this.segmentWritten > 0 && nowMs - this.openedAtMs >= this.options.segmentAgeMs) this.rotate();
  }

  /** Milliseconds until `tick` has work, or undefined when nothing is pending (idle and synced). */
  msUntilDue(nowMs = this.options.nowMs()): number | undefined {
    const due: number[] = [];
    if (this.dirtySinceMs !== undefined) due.push(this.dirtySinceMs + this.options.fsyncMs - nowMs);
    if (this.segmentWritten > 0) due.push(this.openedAtMs + this.options.segmentAgeMs - nowMs);
    return due.length === 0 ? undefined : Math.max(0, Math.min(...due));
  }

  /** Writes and syncs everything, closes the segment (deleted if empty) and the --out file. */
  close(): void {
    if (this.fd < 0) return;
    this.flush();
    this.closeSegment();
    const tee = this.options.teeFd;
    if (tee !== undefined && tee > 2) {
      try {
        fdatasyncSync(tee);
      } finally {
        closeSync(tee);
      }
    }
  }

  stats(): AppenderStats {
    return { ...this.counts, segment: this.segment };
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

/** One Int32 to sleep on with Atomics.wait (a synchronous pause, in the journal Worker only). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

const SEGMENT_ACTION = "free disk space or fix the path, then restart; frames received from now on cannot be kept";

function writeAll(fd: number, data: Uint8Array, what: () => string, action: string): void {
  let rest = data;
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(fd, rest));
    } catch (err) {
      // A pipe (`--out -`) opened non-blocking by the parent: its reader is behind; wait for it.
      if ((err as NodeJS.ErrnoException).code === "EAGAIN") {
        Atomics.wait(PAUSE, 0, 0, 1);
        continue;
      }
      throw ioError(`cannot write ${what()}`, err, action);
    }
  }
}

function ioError(what: string, err: unknown, action: string) {
  return obcapError("E_JOURNAL_IO", `${what} (${describeError(err)}): ${action}`, err);
}
