/**
 * Reads the journal's segments in order from a position, following the segment being written (like
 * `tail -F` over a directory). Web standards + `node:fs`; used by the upload stage.
 *
 * Only complete lines (ending with a newline) are delivered; the end of the segment being written is
 * read again once more bytes arrive. A segment is known to be finished when a later segment exists
 * (the writer closes a segment before it creates the next one) — then it is read to its end once more
 * after that was seen, and an unterminated rest there is reported as truncated (a crash or power
 * failure cut it). With `final` (the writer has closed the journal) the last segment is finished too.
 *
 * Memory: one read buffer (`chunkBytes`, 1 MiB; grown only for a longer line), and for a compressed
 * segment one inflated block (~1 MiB). Lines are views into the buffer, valid during the callback.
 * Compressed segments (closed ones, segment-compressor.ts) are read the same way, by line offset.
 */
import type { JournalPosition } from "./checkpoint.ts";
import { listSegments } from "./segments.ts";
import { openSegmentReader, type SegmentReader } from "./segment-reader.ts";
import { segmentLineBytes } from "./segment-sizes.ts";

const LF = 0x0a;

export interface SegmentTailOptions {
  /** Journal directory. */
  dir: string;
  /** Where to resume (the checkpoint); undefined = the oldest segment. */
  start?: JournalPosition;
  /** Read size. Default 1 MiB. */
  chunkBytes?: number;
  /** Oddities worth a log line (a checkpoint beyond a segment's end, a segment gone). */
  onNote?: (message: string) => void;
}

/** What the writer side says, passed to every read. */
export interface TailHints {
  /** Rotations the writer has done (a counter): the directory is listed again when it changes. */
  rotations: number;
  /** The writer has closed the journal: nothing more will be written. */
  final: boolean;
}

export type LineHandler = (line: Uint8Array, end: JournalPosition) => void;

export class SegmentTail {
  private readonly dir: string;
  private readonly onNote: (message: string) => void;
  private segments: string[] = [];
  /** Index in `segments` of the segment being read; -1 before the first. */
  private index = -1;
  private reader: SegmentReader | undefined;
  /** Next byte of the current file to read. */
  private fileOffset = 0;
  private buf: Uint8Array;
  private view: Uint8Array;
  private start = 0;
  private end = 0;
  /** Position before the first segment is opened (resume point). */
  private pending: JournalPosition | undefined;
  private listedRotations = Number.NaN;
  private listedFinal = false;
  private done = false;

  constructor(options: SegmentTailOptions) {
    this.dir = options.dir;
    this.onNote = options.onNote ?? (() => {});
    this.buf = new Uint8Array(options.chunkBytes ?? 1024 * 1024);
    this.view = this.buf.subarray(0, 0);
    this.pending = options.start;
    this.segments = listSegments(this.dir);
    this.openFirst();
  }

  /**
   * Delivers up to `maxLines` complete lines available now, oldest first, with the position after
   * each. An unterminated rest at the end of a finished segment goes to `onTruncated` (and counts as
   * a line). Returns the number delivered; 0 means "nothing more for now" (or {@link isDone}).
   */
  read(maxLines: number, hints: TailHints, onLine: LineHandler, onTruncated: LineHandler): number {
    let count = 0;
    while (count < maxLines && !this.done) {
      if (this.index < 0 || this.index >= this.segments.length) {
        if (!this.relist(hints)) break;
        this.openFirst();
        if (this.index < 0) {
          if (hints.final) this.done = true;
          break;
        }
        continue;
      }
      const nl = this.view.indexOf(LF, this.start);
      if (nl !== -1) {
        const lineEnd = this.fileOffset - (this.end - nl - 1);
        const line = this.buf.subarray(this.start, nl);
        this.start = nl + 1;
        count++;
        onLine(line, { segment: this.segments[this.index]!, offset: lineEnd });
        continue;
      }
      if (this.readMore() > 0) continue;
      if (this.reader!.shrunk(this.fileOffset)) {
        // Dropped by the disk budget while being read: its frames are covered by an evicted gap record.
        this.onNote(`journal segment ${this.segments[this.index]} was dropped by the disk budget before it was read to its end; going on with the next one (an evicted gap record covers it)`);
        this.start = this.end;
        if (this.index + 1 < this.segments.length || this.relist(hints)) {
          if (this.index + 1 < this.segments.length) this.openAt(this.index + 1, 0);
          continue;
        }
        break;
      }
      // End of the file as it is now. Finished only if a later segment was seen before this read.
      if (this.index + 1 >= this.segments.length) {
        if (this.relist(hints) && this.index + 1 < this.segments.length) continue; // read once more
        if (!hints.final) break;
      }
      if (this.start < this.end) {
        count++;
        const rest = this.buf.subarray(this.start, this.end);
        this.start = this.end;
        onTruncated(rest, { segment: this.segments[this.index]!, offset: this.fileOffset });
      }
      if (this.index + 1 < this.segments.length) this.openAt(this.index + 1, 0);
      else this.done = true;
    }
    return count;
  }

  /** The position after the last delivered line (where a resume would start). */
  position(): JournalPosition | undefined {
    if (this.index < 0 || this.index >= this.segments.length) return this.pending;
    return { segment: this.segments[this.index]!, offset: this.fileOffset - (this.end - this.start) };
  }

  /** True once `final` was given and everything is delivered. */
  isDone(): boolean {
    return this.done;
  }

  /** Bytes of the journal not yet delivered: the rest of this segment and all later ones. */
  backlogBytes(): { bytes: number; segments: number } {
    const at = this.position();
    let bytes = 0;
    let segments = 0;
    for (const name of listSegments(this.dir)) {
      if (at !== undefined && name < at.segment) continue;
      const size = segmentLineBytes(this.dir, name);
      if (size === undefined) continue; // deleted meanwhile
      const rest = at !== undefined && name === at.segment ? size - at.offset : size;
      if (rest > 0) {
        bytes += rest;
        segments++;
      }
    }
    return { bytes, segments };
  }

  close(): void {
    this.reader?.close();
    this.reader = undefined;
  }

  /** Lists the directory again if the writer rotated, or once after it finished. */
  private relist(hints: TailHints): boolean {
    if (hints.rotations === this.listedRotations && (!hints.final || this.listedFinal)) return false;
    this.listedRotations = hints.rotations;
    this.listedFinal = hints.final;
    const current = this.index >= 0 ? this.segments[this.index] : undefined;
    this.segments = listSegments(this.dir);
    if (current !== undefined) {
      const at = this.segments.indexOf(current);
      if (at === -1) {
        // Deleted meanwhile (by hand): keep reading the open file, then go on after it.
        this.segments.push(current);
        this.segments.sort();
        this.index = this.segments.indexOf(current);
      } else {
        this.index = at;
      }
    }
    return true;
  }

  /** Opens the segment to start with, from `pending` (or the oldest). */
  private openFirst(): void {
    const from = this.pending;
    for (let i = 0; i < this.segments.length; i++) {
      const name = this.segments[i]!;
      if (from !== undefined && name < from.segment) continue;
      const offset = from !== undefined && name === from.segment ? from.offset : 0;
      if (this.openAt(i, offset)) {
        this.pending = undefined;
        return;
      }
    }
    this.index = -1;
  }

  /** Opens segment `i` at `offset`; false if it has vanished. */
  private openAt(i: number, offset: number): boolean {
    this.close();
    const name = this.segments[i]!;
    try {
      this.reader = openSegmentReader(this.dir, name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      this.onNote(`journal segment ${name} disappeared before it was read; going on with the next one`);
      this.segments.splice(i, 1);
      this.index = -1;
      return i < this.segments.length ? this.openAt(i, 0) : false;
    }
    const size = this.reader!.size();
    if (offset > size) {
      this.onNote(`the checkpoint points at byte ${offset} of ${name}, which has only ${size} bytes (a power failure cut it?); going on from its end`);
      offset = size;
    }
    this.index = i;
    this.fileOffset = offset;
    this.start = 0;
    this.end = 0;
    this.view = this.buf.subarray(0, 0);
    return true;
  }

  /** Reads more of the current file behind the unconsumed bytes; returns the bytes read. */
  private readMore(): number {
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.end === this.buf.length) {
      const grown = new Uint8Array(this.buf.length * 2); // one line longer than the buffer
      grown.set(this.buf);
      this.buf = grown;
    }
    const n = this.reader!.read(this.buf, this.end, this.buf.length - this.end, this.fileOffset);
    this.fileOffset += n;
    this.end += n;
    this.view = this.buf.subarray(0, this.end);
    return n;
  }
}
