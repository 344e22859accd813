/**
 * The compressed journal segment format: a gzip file (RFC 1952) made of several members, one per
 * block of whole lines (about 1 MiB uncompressed). Any gzip reader reads it as one stream (`zcat`,
 * `gunzip`, obcap replay); obcap's own reader can also jump to a line by its uncompressed offset
 * without inflating what comes before, because each member's header carries an extra subfield
 * (RFC 1952 §2.3.1.1, FLG.FEXTRA) with the member's compressed and uncompressed sizes:
 *
 *   1f 8b 08 04 00000000 00 ff | XLEN=12 | 'O' 'B' LEN=8 | CSIZE u32 LE | USIZE u32 LE | deflate | CRC32 | ISIZE
 *
 * (the same idea as BGZF's 'BC' subfield, with 32-bit sizes). A member whose header lacks it (a file
 * gzipped by another tool) is still read, by inflating it. Web standards + `node:zlib`.
 */
import { crc32, deflateRawSync, gunzipSync } from "node:zlib";

const HEADER_BYTES = 10;
const EXTRA_BYTES = 2 + 12; // XLEN + one subfield of 4 + 8 bytes
const TRAILER_BYTES = 8;
const ID1 = 0x1f;
const ID2 = 0x8b;
const CM_DEFLATE = 8;
const FLG_FEXTRA = 4;
const OS_UNKNOWN = 0xff;
const SI1 = 0x4f; // 'O'
const SI2 = 0x42; // 'B'

/** One member of a compressed segment, as its header says. */
export interface MemberInfo {
  /** Byte offset of the member in the file. */
  fileOffset: number;
  /** Bytes of the whole member (header, deflate data, trailer). */
  compressedBytes: number;
  /** Bytes of lines it holds. */
  uncompressedBytes: number;
}

/** One gzip member holding `block` (whole lines), compressed at `level` (1-9). */
export function gzipMember(block: Uint8Array, level: number): Uint8Array {
  const deflated = deflateRawSync(block, { level });
  const total = HEADER_BYTES + EXTRA_BYTES + deflated.length + TRAILER_BYTES;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set([ID1, ID2, CM_DEFLATE, FLG_FEXTRA, 0, 0, 0, 0, 0, OS_UNKNOWN]); // MTIME 0: the same block gives the same bytes
  view.setUint16(10, 12, true); // XLEN
  out.set([SI1, SI2], 12);
  view.setUint16(14, 8, true); // LEN
  view.setUint32(16, total, true);
  view.setUint32(20, block.length, true);
  out.set(deflated, HEADER_BYTES + EXTRA_BYTES);
  view.setUint32(total - 8, crc32(block) >>> 0, true);
  view.setUint32(total - 4, block.length >>> 0, true);
  return out;
}

/**
 * Reads the member header at the start of `head` (at least {@link MEMBER_HEAD_BYTES} bytes, or all
 * that is left of the file) and returns the member's sizes; undefined when the member has no 'OB'
 * subfield (another tool wrote it) or `head` is not a gzip member.
 */
export function memberInfo(head: Uint8Array, fileOffset: number): MemberInfo | undefined {
  if (head.length < HEADER_BYTES + EXTRA_BYTES || head[0] !== ID1 || head[1] !== ID2 || head[2] !== CM_DEFLATE) return undefined;
  if ((head[3]! & FLG_FEXTRA) === 0) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (view.getUint16(10, true) !== 12 || head[12] !== SI1 || head[13] !== SI2 || view.getUint16(14, true) !== 8) return undefined;
  return { fileOffset, compressedBytes: view.getUint32(16, true), uncompressedBytes: view.getUint32(20, true) };
}

/** Bytes to read to call {@link memberInfo}. */
export const MEMBER_HEAD_BYTES = HEADER_BYTES + EXTRA_BYTES;

/** The lines of one whole member (checks the CRC and the size: a damaged member throws). */
export function inflateMember(member: Uint8Array): Uint8Array {
  return gunzipSync(member);
}
