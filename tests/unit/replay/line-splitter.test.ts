/**
 * LineSplitter: lines cut anywhere by chunk boundaries come out whole, each with its number and the
 * byte offset after it (what a checkpoint records); bad lines are pinned to their number.
 */
import { describe, expect, test } from "bun:test";
import { LineSplitter, type LineBatch } from "../../../src/replay/line-splitter.ts";

const utf8 = new TextEncoder();

interface Line {
  number: number;
  text: string;
  end: number;
  bad?: string;
}

/** Feeds `bytes` in chunks of `chunkBytes` and collects every line. */
function split(bytes: Uint8Array, chunkBytes: number, maxLineBytes = 1 << 20, startOffset = 0, startLine = 1): Line[] {
  const splitter = new LineSplitter(startOffset, startLine, maxLineBytes);
  const lines: Line[] = [];
  const collect = (batch: LineBatch) =>
    batch.texts.forEach((text, i) => {
      const bad = batch.bad?.get(i);
      lines.push({ number: batch.firstLine + i, text, end: batch.ends[i]!, ...(bad ? { bad } : {}) });
    });
  for (let at = 0; at < bytes.length; at += chunkBytes) collect(splitter.push(bytes.subarray(at, at + chunkBytes)));
  collect(splitter.end());
  return lines;
}

/** The expected lines of an all-good text: number, text, offset after the line's newline. */
function expected(text: string): Line[] {
  const out: Line[] = [];
  let at = 0;
  text.split("\n").forEach((line, i, all) => {
    if (i === all.length - 1 && line === "") return;
    at += utf8.encode(line).length + (i < all.length - 1 ? 1 : 0);
    out.push({ number: i + 1, text: line, end: at });
  });
  return out;
}

describe("LineSplitter", () => {
  const text = '{"a":1}\n{"b":22}\n\n{"c":"333"}\r\n{"d":4444}\n';

  test("gives the same lines, numbers and end offsets whatever the chunk size", () => {
    const bytes = utf8.encode(text);
    for (let chunk = 1; chunk <= bytes.length + 1; chunk++) expect(split(bytes, chunk)).toEqual(expected(text));
  });

  test("keeps a trailing carriage return for the line parser and counts blank lines", () => {
    const lines = split(utf8.encode(text), 1024);
    expect(lines[2]).toEqual({ number: 3, text: "", end: 18 });
    expect(lines[3]!.text).toBe('{"c":"333"}\r');
  });

  test("emits a last line that has no newline (a truncated recording)", () => {
    expect(split(utf8.encode("one\ntwo"), 3)).toEqual([
      { number: 1, text: "one", end: 4 },
      { number: 2, text: "two", end: 7 },
    ]);
  });

  test("counts byte offsets, not characters, for non-ASCII lines cut inside a character", () => {
    const mixed = '{"n":"é"}\n{"n":"€uro"}\nplain\n';
    const bytes = utf8.encode(mixed);
    for (let chunk = 1; chunk <= bytes.length; chunk++) expect(split(bytes, chunk)).toEqual(expected(mixed));
  });

  test("reports the one line that is not UTF-8 and keeps the lines around it", () => {
    const bytes = new Uint8Array([...utf8.encode("good\n"), 0xff, 0xfe, 0x41, 0x0a, ...utf8.encode("after\n")]);
    for (const chunk of [2, 5, 64]) {
      const lines = split(bytes, chunk);
      expect(lines.map((l) => [l.number, l.text, l.end])).toEqual([
        [1, "good", 5],
        [2, "", 9],
        [3, "after", 15],
      ]);
      expect(lines[1]!.bad).toMatch(/^not valid UTF-8 text \(3 bytes\)/);
    }
  });

  test("skips a line longer than the limit without keeping it, within a chunk and across chunks", () => {
    const long = "x".repeat(100);
    const input = `short\n${long}\nnext\n`;
    for (const chunk of [7, 16, 1000]) {
      const lines = split(utf8.encode(input), chunk, 50);
      expect(lines.map((l) => [l.number, l.text, l.end])).toEqual([
        [1, "short", 6],
        [2, "", 107],
        [3, "next", 112],
      ]);
      expect(lines[1]!.bad).toContain("line of 100 B is longer than the 50 B limit");
    }
  });

  test("reports an over-long last line without a newline", () => {
    const lines = split(utf8.encode(`ok\n${"y".repeat(80)}`), 10, 50);
    expect(lines.map((l) => [l.number, l.end, l.bad !== undefined])).toEqual([
      [1, 3, false],
      [2, 83, true],
    ]);
  });

  test("starts numbering and offsets at a resume point", () => {
    expect(split(utf8.encode("c\nd\n"), 3, 1 << 20, 1000, 41)).toEqual([
      { number: 41, text: "c", end: 1002 },
      { number: 42, text: "d", end: 1004 },
    ]);
  });

  test("tells the offset after the last whole line while a partial one is held", () => {
    const splitter = new LineSplitter(0, 1, 1 << 20);
    splitter.push(utf8.encode("abc\nde"));
    expect(splitter.offset).toBe(4);
    expect(splitter.nextLineNumber).toBe(2);
  });
});
