/**
 * Compresses one closed journal segment, `<name>` -> `<name>.gz` (gzip-members.ts: one member per
 * block of whole lines), a block per `step()` so the journal stage can interleave it with draining
 * the ring. Web standards + `node:fs`.
 *
 * Crash safety: the members go to `<name>.gz.tmp`; once complete it is synced, renamed to `<name>.gz`
 * and the directory synced, and only then is `<name>` deleted. A crash leaves the plain segment whole
 * (a `.tmp` or a `.gz` beside it is removed or preferred at the next start: segments.ts). Never called
 * on the segment being written.
 */
import { closeSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync, fstatSync } from "node:fs";
import { join } from "node:path";
import { gzipMember } from "./gzip-members.ts";
import { COMPRESSED_SUFFIX, SEGMENTS_DIR, TEMP_SUFFIX, fsyncDirectory, segmentPath } from "./segments.ts";

/** Uncompressed bytes per member: ~1 MiB compresses in a few ms, so one step never holds the Worker long. */
export const BLOCK_BYTES = 1024 * 1024;
const LF = 0x0a;

export interface CompressionResult {
  name: string;
  plainBytes: number;
  compressedBytes: number;
}

export class SegmentCompressor {
  private readonly plainPath: string;
  private readonly tempPath: string;
  private readonly finalPath: string;
  private readonly input: number;
  private readonly output: number;
  private readonly size: number;
  private readOffset = 0;
  /**
   * One read buffer for every block (a fresh 1 MiB array per block made the journal stage's heap
   * grow by tens of MiB under load): bytes [0, carried) are the start of a line whose end is not read yet.
   */
  private buffer: Uint8Array;
  private carried = 0;
  private written = 0;
  private closed = false;

  constructor(private readonly dir: string, readonly name: string, private readonly level: number, private readonly blockBytes = BLOCK_BYTES) {
    this.plainPath = segmentPath(dir, name);
    this.finalPath = `${this.plainPath}${COMPRESSED_SUFFIX}`;
    this.tempPath = `${this.finalPath}${TEMP_SUFFIX}`;
    this.buffer = new Uint8Array(blockBytes);
    this.input = openSync(this.plainPath, "r");
    try {
      this.size = fstatSync(this.input).size;
      this.output = openSync(this.tempPath, "w");
    } catch (err) {
      closeSync(this.input);
      throw err;
    }
  }

  /** Compresses the next block. Returns the result once the segment is replaced, else undefined. */
  step(): CompressionResult | undefined {
    if (this.closed) throw new Error(`compression of ${this.name} is already finished`);
    const block = this.nextBlock();
    if (block.length > 0) {
      const member = gzipMember(block, this.level);
      let rest = member;
      while (rest.length > 0) rest = rest.subarray(writeSync(this.output, rest));
      this.written += member.length;
    }
    if (this.readOffset < this.size || this.carried > 0) return undefined;
    return this.finish();
  }

  /** Stops and removes the temporary file; the plain segment stays as it was. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.input);
    closeSync(this.output);
    try {
      unlinkSync(this.tempPath);
    } catch {
      // Already gone.
    }
  }

  /**
   * Whole lines up to `blockBytes` (more for one longer line; the file's cut end as it is). The
   * block is a view into the read buffer, valid until the next call.
   */
  private nextBlock(): Uint8Array {
    // The carried start of a line moves to the front before more is read behind it.
    if (this.pendingShift > 0) {
      this.buffer.copyWithin(0, this.pendingShift, this.pendingShift + this.carried);
      this.pendingShift = 0;
    }
    let used = this.carried;
    for (;;) {
      if (used === this.buffer.length) {
        const grown = new Uint8Array(this.buffer.length * 2); // one line longer than the buffer
        grown.set(this.buffer);
        this.buffer = grown;
      }
      const room = Math.min(this.buffer.length - used, this.size - this.readOffset);
      if (room > 0) {
        const n = readSync(this.input, this.buffer, used, room, this.readOffset);
        this.readOffset += n;
        used += n;
      }
      const view = this.buffer.subarray(0, used);
      if (this.readOffset >= this.size) {
        this.carried = 0; // the end of the file: what is left goes whole, a cut last line as it is
        return view;
      }
      // Not at the end, so the buffer is full: cut after its last line end, if it has one.
      const lastLf = view.lastIndexOf(LF);
      if (lastLf >= 0) {
        this.carried = used - (lastLf + 1);
        this.pendingShift = lastLf + 1;
        return view.subarray(0, lastLf + 1);
      }
    }
  }

  private pendingShift = 0;

  private finish(): CompressionResult {
    this.closed = true;
    closeSync(this.input);
    try {
      fsyncSync(this.output);
    } finally {
      closeSync(this.output);
    }
    renameSync(this.tempPath, this.finalPath);
    fsyncDirectory(join(this.dir, SEGMENTS_DIR));
    unlinkSync(this.plainPath);
    fsyncDirectory(join(this.dir, SEGMENTS_DIR));
    return { name: this.name, plainBytes: this.size, compressedBytes: this.written };
  }
}
