/**
 * Compressed journal segments: the member format (any gzip reader reads it; obcap's reader jumps by
 * line offset), the compressor (whole lines per member, crash-safe replacement), the reader, and the
 * directory's view of a segment in either form.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { gzipMember, memberInfo, MEMBER_HEAD_BYTES } from "../../../src/journal/gzip-members.ts";
import { SegmentCompressor } from "../../../src/journal/segment-compressor.ts";
import { openSegmentReader } from "../../../src/journal/segment-reader.ts";
import { segmentDiskBytes, segmentLineBytes } from "../../../src/journal/segment-sizes.ts";
import { SegmentTail } from "../../../src/journal/segment-tail.ts";
import { listSegments, segmentFile, segmentPath, SEGMENTS_DIR, tidySegments } from "../../../src/journal/segments.ts";
import { testTempDir } from "../../support/temp-dirs.ts";

const NAME = "1796420000000000-42.ndjson";
const encoder = new TextEncoder();

function journal(text: string, name = NAME): string {
  const dir = testTempDir("compress");
  mkdirSync(join(dir, SEGMENTS_DIR), { recursive: true });
  writeFileSync(segmentPath(dir, name), text);
  return dir;
}

function lines(count: number, width = 100): string {
  return Array.from({ length: count }, (_, i) => `{"rx":${1796420000000000 + i},"m":{"n":${i},"pad":"${"x".repeat(width)}"}}\n`).join("");
}

function compress(dir: string, blockBytes?: number, name = NAME) {
  const compressor = new SegmentCompressor(dir, name, 6, blockBytes);
  for (;;) {
    const done = compressor.step();
    if (done) return done;
  }
}

function readAll(dir: string, name = NAME, from = 0): string {
  const reader = openSegmentReader(dir, name);
  const out: Uint8Array[] = [];
  for (let offset = from; ; ) {
    const buf = new Uint8Array(64 * 1024);
    const n = reader.read(buf, 0, buf.length, offset);
    if (n === 0) break;
    out.push(buf.subarray(0, n));
    offset += n;
  }
  reader.close();
  return new TextDecoder().decode(Buffer.concat(out));
}

describe("gzip members", () => {
  test("a member carries its sizes in its header, and any gzip reader reads concatenated members as one stream", () => {
    const a = gzipMember(encoder.encode("one\n"), 6);
    const b = gzipMember(encoder.encode("two\nthree\n"), 6);
    expect(memberInfo(a.subarray(0, MEMBER_HEAD_BYTES), 0)).toEqual({ fileOffset: 0, compressedBytes: a.length, uncompressedBytes: 4 });
    expect(memberInfo(b.subarray(0, MEMBER_HEAD_BYTES), a.length)).toEqual({ fileOffset: a.length, compressedBytes: b.length, uncompressedBytes: 10 });
    expect(gunzipSync(Buffer.concat([a, b])).toString()).toBe("one\ntwo\nthree\n");
    // The same block always gives the same bytes (no time in the header).
    expect(gzipMember(encoder.encode("one\n"), 6)).toEqual(a);
  });
});

describe("SegmentCompressor", () => {
  test("replaces the plain segment with a compressed one holding the same lines, in members of whole lines", () => {
    const text = lines(5000);
    const dir = journal(text);
    const result = compress(dir, 64 * 1024);
    expect(existsSync(segmentPath(dir, NAME))).toBe(false);
    expect(existsSync(`${segmentPath(dir, NAME)}.gz`)).toBe(true);
    expect(result.plainBytes).toBe(text.length);
    expect(result.compressedBytes).toBeLessThan(text.length / 5);
    expect(gunzipSync(readFileSync(`${segmentPath(dir, NAME)}.gz`)).toString()).toBe(text);
    expect(readAll(dir)).toBe(text);
    expect(segmentLineBytes(dir, NAME)).toBe(text.length);
    expect(segmentDiskBytes(dir, NAME)).toBe(result.compressedBytes);
    expect(listSegments(dir)).toEqual([NAME]);
    expect(segmentFile(dir, NAME).compressed).toBe(true);
  });

  test("a line longer than a block, and a cut last line, are kept as they are", () => {
    const text = `${lines(3)}{"rx":1,"m":"${"y".repeat(200_000)}"}\n${lines(2)}{"rx":2,"m":{"cut`;
    const dir = journal(text);
    compress(dir, 16 * 1024);
    expect(readAll(dir)).toBe(text);
  });

  test("an aborted compression leaves the plain segment and no temporary file", () => {
    const dir = journal(lines(3000));
    const compressor = new SegmentCompressor(dir, NAME, 6, 16 * 1024);
    compressor.step();
    compressor.abort();
    expect(existsSync(segmentPath(dir, NAME))).toBe(true);
    expect(existsSync(`${segmentPath(dir, NAME)}.gz.tmp`)).toBe(false);
  });

  test("what a crash during a compression leaves is tidied at start: a partial .tmp goes, and a complete .gz wins over its plain copy", () => {
    const dir = journal(lines(10));
    writeFileSync(`${segmentPath(dir, NAME)}.gz.tmp`, "partial");
    const other = "1796420000000001-42.ndjson";
    writeFileSync(segmentPath(dir, other), lines(10));
    writeFileSync(`${segmentPath(dir, other)}.gz`, gzipMember(encoder.encode(lines(10)), 6));
    expect(tidySegments(dir).sort()).toEqual([`${NAME}.gz.tmp`, other].sort());
    expect(listSegments(dir)).toEqual([NAME, other]);
    expect(segmentFile(dir, other).compressed).toBe(true);
  });
});

describe("reading compressed segments", () => {
  test("the reader starts at any line offset without inflating what comes before", () => {
    const text = lines(4000);
    const dir = journal(text);
    compress(dir, 32 * 1024);
    const offset = text.indexOf('{"rx":1796420000002500');
    expect(readAll(dir, NAME, offset)).toBe(text.slice(offset));
  });

  test("the tail reads a compressed segment from a checkpoint offset, line by line with the same positions", () => {
    const text = lines(3000);
    const dir = journal(text);
    compress(dir, 32 * 1024);
    const offset = text.indexOf('{"rx":1796420000001000');
    const tail = new SegmentTail({ dir, start: { segment: NAME, offset } });
    const got: Array<{ line: string; end: number }> = [];
    while (tail.read(500, { rotations: 0, final: true }, (line, end) => got.push({ line: new TextDecoder().decode(line), end: end.offset }), () => {}) > 0);
    expect(got.length).toBe(2000);
    expect(got[0]!.line).toBe(text.slice(offset, text.indexOf("\n", offset)));
    expect(got.at(-1)!.end).toBe(text.length);
    expect(tail.isDone()).toBe(true);
  });

  test("a segment cut under its reader (dropped by the disk budget) reads as shrunk, not as an error", () => {
    const dir = journal(lines(3000));
    compress(dir, 16 * 1024);
    const reader = openSegmentReader(dir, NAME);
    truncateSync(`${segmentPath(dir, NAME)}.gz`, 0);
    expect(reader.shrunk(0)).toBe(true);
    expect(reader.read(new Uint8Array(100), 0, 100, 0)).toBe(0);
    reader.close();
  });
});
