import { describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SegmentTail, type TailHints } from "../../../src/journal/segment-tail.ts";
import type { JournalPosition } from "../../../src/journal/checkpoint.ts";
import { testTempDir } from "../../support/temp-dirs.ts";

const A = "0000000000000001-1.ndjson";
const B = "0000000000000002-1.ndjson";
const C = "0000000000000003-2.ndjson";

function journal() {
  const dir = testTempDir("tail");
  mkdirSync(join(dir, "segments"));
  const append = (name: string, text: string) => appendFileSync(join(dir, "segments", name), text);
  return { dir, append };
}

/** Reads everything available; returns the lines (text) with their end positions, and truncated rests. */
function drain(tail: SegmentTail, hints: TailHints, maxLines = 1000) {
  const lines: Array<[string, JournalPosition]> = [];
  const truncated: Array<[string, JournalPosition]> = [];
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  tail.read(maxLines, hints, (l, end) => lines.push([decode(l), end]), (l, end) => truncated.push([decode(l), end]));
  return { lines, truncated };
}

describe("segment tail", () => {
  test("delivers complete lines with the position after each, and holds back a line still being written", () => {
    const { dir, append } = journal();
    append(A, "one\ntwo\nthr");
    const tail = new SegmentTail({ dir, chunkBytes: 4 });
    expect(drain(tail, { rotations: 0, final: false })).toEqual({
      lines: [["one", { segment: A, offset: 4 }], ["two", { segment: A, offset: 8 }]],
      truncated: [],
    });
    expect(tail.position()).toEqual({ segment: A, offset: 8 });
    append(A, "ee\nfour\n");
    expect(drain(tail, { rotations: 0, final: false }).lines).toEqual([["three", { segment: A, offset: 14 }], ["four", { segment: A, offset: 19 }]]);
    expect(tail.isDone()).toBe(false);
  });

  test("goes on to the next segment only after it exists, reading the old one to its end first", () => {
    const { dir, append } = journal();
    append(A, "a1\n");
    const tail = new SegmentTail({ dir });
    expect(drain(tail, { rotations: 0, final: false }).lines.map(([l]) => l)).toEqual(["a1"]);
    // The writer finishes A, then rotates to B: the reader learns it from the rotation counter.
    append(A, "a2\n");
    append(B, "b1\n");
    expect(drain(tail, { rotations: 0, final: false }).lines.map(([l]) => l)).toEqual(["a2"]); // no listing yet
    expect(drain(tail, { rotations: 1, final: false }).lines).toEqual([["b1", { segment: B, offset: 3 }]]);
  });

  test("an unterminated rest at the end of a finished segment is reported as truncated", () => {
    const { dir, append } = journal();
    append(A, "a1\n{\"rx\":1,\"m\":{\"cut");
    append(B, "b1\n");
    const tail = new SegmentTail({ dir });
    expect(drain(tail, { rotations: 0, final: false })).toEqual({
      lines: [["a1", { segment: A, offset: 3 }], ["b1", { segment: B, offset: 3 }]],
      truncated: [['{"rx":1,"m":{"cut', { segment: A, offset: 20 }]],
    });
  });

  test("once the writer is done the last segment is finished too, and the tail is done", () => {
    const { dir, append } = journal();
    append(A, "a1\npartial");
    const tail = new SegmentTail({ dir });
    expect(drain(tail, { rotations: 0, final: false }).truncated).toEqual([]);
    expect(drain(tail, { rotations: 0, final: true })).toEqual({ lines: [], truncated: [["partial", { segment: A, offset: 10 }]] });
    expect(tail.isDone()).toBe(true);
    expect(drain(tail, { rotations: 0, final: true })).toEqual({ lines: [], truncated: [] });
  });

  test("resumes at a checkpoint, skipping the segments before it", () => {
    const { dir, append } = journal();
    append(A, "a1\n");
    append(B, "b1\nb2\n");
    append(C, "c1\n");
    const tail = new SegmentTail({ dir, start: { segment: B, offset: 3 } });
    expect(drain(tail, { rotations: 0, final: true }).lines.map(([l]) => l)).toEqual(["b2", "c1"]);
  });

  test("a checkpoint segment that is gone resumes at the next one; one beyond a segment's end resumes at its end", () => {
    const { dir, append } = journal();
    append(A, "a1\n");
    append(C, "c1\n");
    const gone = new SegmentTail({ dir, start: { segment: B, offset: 100 } });
    expect(drain(gone, { rotations: 0, final: true }).lines.map(([l]) => l)).toEqual(["c1"]);
    const notes: string[] = [];
    const beyond = new SegmentTail({ dir, start: { segment: A, offset: 50 }, onNote: (n) => notes.push(n) });
    expect(drain(beyond, { rotations: 0, final: true }).lines.map(([l]) => l)).toEqual(["c1"]);
    expect(notes[0]).toContain(`byte 50 of ${A}, which has only 3 bytes`);
  });

  test("a line longer than the read buffer is delivered whole", () => {
    const { dir, append } = journal();
    const long = "x".repeat(10_000);
    append(A, `${long}\nshort\n`);
    const tail = new SegmentTail({ dir, chunkBytes: 16 });
    expect(drain(tail, { rotations: 0, final: false }).lines.map(([l]) => l)).toEqual([long, "short"]);
  });

  test("stops after maxLines and goes on from there", () => {
    const { dir, append } = journal();
    append(A, "1\n2\n3\n");
    const tail = new SegmentTail({ dir });
    expect(drain(tail, { rotations: 0, final: false }, 2).lines.map(([l]) => l)).toEqual(["1", "2"]);
    expect(drain(tail, { rotations: 0, final: false }, 2).lines.map(([l]) => l)).toEqual(["3"]);
  });

  test("counts the bytes not yet delivered, in this segment and later ones", () => {
    const { dir, append } = journal();
    append(A, "a1\na2\n");
    append(B, "b1\n");
    const tail = new SegmentTail({ dir });
    expect(tail.backlogBytes()).toEqual({ bytes: 9, segments: 2 });
    drain(tail, { rotations: 0, final: false }, 1);
    expect(tail.backlogBytes()).toEqual({ bytes: 6, segments: 2 });
  });

  test("an empty journal directory waits for its first segment", () => {
    const { dir, append } = journal();
    const tail = new SegmentTail({ dir });
    expect(drain(tail, { rotations: 0, final: false }).lines).toEqual([]);
    writeFileSync(join(dir, "segments", A), "");
    append(A, "a1\n");
    expect(drain(tail, { rotations: 1, final: false }).lines.map(([l]) => l)).toEqual(["a1"]);
  });
});
