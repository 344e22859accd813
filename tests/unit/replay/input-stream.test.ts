/**
 * openInput: files read from a byte offset, gzip recognised by its magic bytes and decompressed
 * (offsets then count decompressed bytes), stdin through a stream, and a truncated gzip file
 * reported as an InputProblem after the data before the cut.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { resolveInputs } from "../../../src/replay/inputs.ts";
import { InputProblem, openInput, type InputReader } from "../../../src/replay/input-stream.ts";
import { testTempDir } from "../../support/temp-dirs.ts";

let dir: string;
beforeEach(() => {
  dir = testTempDir("input-stream");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(reader: InputReader): Promise<string> {
  const chunks: Uint8Array[] = [];
  try {
    for (let chunk = await reader.read(); chunk !== undefined; chunk = await reader.read()) chunks.push(chunk);
  } finally {
    await reader.close();
  }
  return Buffer.concat(chunks).toString("utf8");
}

const TEXT = Array.from({ length: 2000 }, (_, i) => `{"line":${i}}`).join("\n") + "\n";

describe("openInput", () => {
  test("reads a plain file from a byte offset and counts the bytes read", async () => {
    const path = join(dir, "plain.ndjson");
    writeFileSync(path, TEXT);
    const [input] = resolveInputs([path]);
    const reader = await openInput(input!, 100);
    expect(reader.gzip).toBe(false);
    expect(await readAll(reader)).toBe(TEXT.slice(100));
    expect(reader.rawBytesRead()).toBe(TEXT.length);
  });

  test("decompresses gzip recognised by its magic bytes, whatever the file name", async () => {
    const path = join(dir, "looks-plain.ndjson");
    writeFileSync(path, gzipSync(TEXT));
    const [input] = resolveInputs([path]);
    const reader = await openInput(input!, 0);
    expect(reader.gzip).toBe(true);
    expect(await readAll(reader)).toBe(TEXT);
    expect(reader.rawBytesRead()).toBe(input!.sizeBytes!);
  });

  test("resumes gzip at a decompressed offset and reads concatenated gzip members", async () => {
    const path = join(dir, "two-members.ndjson.gz");
    writeFileSync(path, Buffer.concat([gzipSync(TEXT.slice(0, 5000)), gzipSync(TEXT.slice(5000))]));
    const [input] = resolveInputs([path]);
    expect(await readAll(await openInput(input!, 0))).toBe(TEXT);
    expect(await readAll(await openInput(input!, 7777))).toBe(TEXT.slice(7777));
  });

  test("delivers the data before the cut of a truncated gzip file, then an InputProblem", async () => {
    const big = Array.from({ length: 40_000 }, (_, i) => `{"line":${i},"pad":"${(i * 7919).toString(36)}"}`).join("\n");
    const gz = gzipSync(big);
    const path = join(dir, "cut.ndjson.gz");
    writeFileSync(path, gz.subarray(0, Math.floor(gz.length / 2)));
    const [input] = resolveInputs([path]);
    const reader = await openInput(input!, 0);
    let delivered = 0;
    let problem: unknown;
    try {
      for (let chunk = await reader.read(); chunk !== undefined; chunk = await reader.read()) delivered += chunk.length;
    } catch (err) {
      problem = err;
    } finally {
      await reader.close();
    }
    expect(problem).toBeInstanceOf(InputProblem);
    expect((problem as Error).message).toStartWith(`${path}: gzip data ends early or is corrupt`);
    expect(delivered).toBeGreaterThan(0);
    expect(delivered).toBeLessThan(big.length);
  });

  test("reads stdin from the given stream, gzip or not", async () => {
    const [stdin] = resolveInputs(["-"]);
    const streamOf = (...chunks: Uint8Array[]) => () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const c of chunks) controller.enqueue(c);
          controller.close();
        },
      });
    const bytes = new TextEncoder().encode(TEXT);
    expect(await readAll(await openInput(stdin!, 0, streamOf(bytes.subarray(0, 10), bytes.subarray(10))))).toBe(TEXT);
    const gz = new Uint8Array(gzipSync(TEXT));
    const reader = await openInput(stdin!, 0, streamOf(gz.subarray(0, 1), gz.subarray(1, 9), gz.subarray(9)));
    expect(reader.gzip).toBe(true); // magic split across chunks
    expect(await readAll(reader)).toBe(TEXT);
  });

  test("reads an empty file as no data", async () => {
    const path = join(dir, "empty.ndjson");
    writeFileSync(path, "");
    const [input] = resolveInputs([path]);
    expect(await readAll(await openInput(input!, 0))).toBe("");
  });
});
