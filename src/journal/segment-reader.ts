/**
 * Reads a journal segment's lines by offset, whether the segment is plain or compressed
 * (gzip-members.ts): offsets always count the lines' bytes, so a checkpoint or a quarantine record
 * made before a segment was compressed still points at the same line. Web standards + `node:fs`.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { inflateMember, memberInfo, MEMBER_HEAD_BYTES, type MemberInfo } from "./gzip-members.ts";
import { COMPRESSED_SUFFIX, segmentPath } from "./segments.ts";

export interface SegmentReader {
  readonly compressed: boolean;
  /** Bytes of lines in the segment now (a plain segment being written grows). */
  size(): number;
  /** Copies up to `length` bytes of lines starting at `offset` into `dst` at `at`; returns the count (0 at the end). */
  read(dst: Uint8Array, at: number, length: number, offset: number): number;
  /**
   * The file was cut under the reader (the disk budget truncates a segment before deleting it, so its
   * space is free even while it is open: journal-keeper.ts); `offset` is how far the reader got.
   */
  shrunk(offset: number): boolean;
  close(): void;
}

/**
 * Opens segment `name` of journal directory `dir`: the plain file if it exists, else the compressed
 * one (a compression may replace the plain file between the two tries). Throws ENOENT when neither.
 */
export function openSegmentReader(dir: string, name: string): SegmentReader {
  const plain = segmentPath(dir, name);
  try {
    return new PlainReader(openSync(plain, "r"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  return new CompressedReader(openSync(`${plain}${COMPRESSED_SUFFIX}`, "r"));
}

class PlainReader implements SegmentReader {
  readonly compressed = false;
  constructor(private readonly fd: number) {}

  size(): number {
    return fstatSync(this.fd).size;
  }

  read(dst: Uint8Array, at: number, length: number, offset: number): number {
    return readSync(this.fd, dst, at, length, offset);
  }

  shrunk(offset: number): boolean {
    return fstatSync(this.fd).size < offset;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Members are found from their headers and inflated one at a time, as the offsets need them. */
class CompressedReader implements SegmentReader {
  readonly compressed = true;
  /** Each member with the offset of its first line byte. */
  private members: Array<MemberInfo & { lineOffset: number }> = [];
  private total = 0;
  private block: { index: number; bytes: Uint8Array } | undefined;
  /** A gzip file without obcap's member sizes (another tool wrote it): inflated whole, once. */
  private whole: Uint8Array | undefined;

  private readonly fileBytes: number;

  constructor(private readonly fd: number) {
    const fileBytes = (this.fileBytes = fstatSync(fd).size);
    const head = new Uint8Array(MEMBER_HEAD_BYTES);
    for (let fileOffset = 0; fileOffset < fileBytes; ) {
      const n = readSync(fd, head, 0, MEMBER_HEAD_BYTES, fileOffset);
      const info = memberInfo(head.subarray(0, n), fileOffset);
      if (info === undefined || info.compressedBytes <= 0) {
        this.whole = gunzipSync(readFileSync(fd));
        this.total = this.whole.length;
        this.members = [];
        return;
      }
      this.members.push({ ...info, lineOffset: this.total });
      this.total += info.uncompressedBytes;
      fileOffset += info.compressedBytes;
    }
  }

  size(): number {
    return this.total;
  }

  read(dst: Uint8Array, at: number, length: number, offset: number): number {
    if (offset >= this.total || length <= 0) return 0;
    if (this.whole) {
      const n = Math.min(length, this.total - offset);
      dst.set(this.whole.subarray(offset, offset + n), at);
      return n;
    }
    const index = this.memberAt(offset);
    const member = this.members[index]!;
    if (this.block?.index !== index) {
      const compressed = new Uint8Array(member.compressedBytes);
      // Cut under the reader (dropped by the disk budget): nothing more to read.
      if (readSync(this.fd, compressed, 0, member.compressedBytes, member.fileOffset) < member.compressedBytes) return 0;
      this.block = { index, bytes: inflateMember(compressed) };
    }
    const from = offset - member.lineOffset;
    const n = Math.min(length, this.block.bytes.length - from);
    dst.set(this.block.bytes.subarray(from, from + n), at);
    return n;
  }

  shrunk(): boolean {
    return fstatSync(this.fd).size < this.fileBytes;
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Index of the member holding line byte `offset` (reads go forward: start from the cached one). */
  private memberAt(offset: number): number {
    let i = this.block !== undefined && this.members[this.block.index]!.lineOffset <= offset ? this.block.index : 0;
    while (i + 1 < this.members.length && this.members[i + 1]!.lineOffset <= offset) i++;
    return i;
  }
}
