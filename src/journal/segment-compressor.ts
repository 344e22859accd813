/**
 * Compresses one closed journal segment, `<name>` -> `<name>.gz` (gzip-members.ts: one member per
 * block of whole lines), a block per `step()` so the journal Worker can interleave it with draining
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
  /** Bytes read but not yet compressed (the start of a line whose end is not read yet). */
  private carry = new Uint8Array(0);
  private written = 0;
  private closed = false;

  constructor(private readonly dir: string, readonly name: string, private readonly level: number, private readonly blockBytes = BLOCK_BYTES) {
    this.plainPath = segmentPath(dir, name);
    this.finalPath = `${this.plainPath}${COMPRESSED_SUFFIX}`;
    this.tempPath = `${this.finalPath}${TEMP_SUFFIX}`;
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
    if (this.readOffset < this.size || this.carry.length > 0) return undefined;
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

  /** Whole lines up to `blockBytes` (more for one longer line; the file's cut end as it is). */
  private nextBlock(): Uint8Array {
    let buffer = this.carry;
    for (;;) {
      const want = Math.max(this.blockBytes - buffer.length, 0) || this.blockBytes;
      const room = Math.min(want, this.size - this.readOffset);
      if (room > 0) {
        const chunk = new Uint8Array(buffer.length + room);
        chunk.set(buffer);
        const n = readSync(this.input, chunk, buffer.length, room, this.readOffset);
        this.readOffset += n;
        buffer = chunk.subarray(0, buffer.length + n);
      }
      const atEnd = this.readOffset >= this.size;
      const lastLf = buffer.lastIndexOf(LF);
      if (lastLf >= 0 && (buffer.length >= this.blockBytes || atEnd)) {
        this.carry = buffer.subarray(lastLf + 1).slice();
        return atEnd && this.carry.length > 0 ? this.takeAll(buffer) : buffer.subarray(0, lastLf + 1);
      }
      if (atEnd) return this.takeAll(buffer); // no line end left: a cut line, kept as it is
    }
  }

  private takeAll(buffer: Uint8Array): Uint8Array {
    this.carry = new Uint8Array(0);
    return buffer;
  }

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
