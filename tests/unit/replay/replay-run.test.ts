/**
 * The replay loop with the real ItemUploader and a stand-in BatchWriter (DynamoDB Local is covered in
 * tests/integration/replay.test.ts): what is stored, skipped and counted, where the acknowledged
 * position ends, and how --strict, a stop signal, a resume point and unreadable inputs behave.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { ItemUploader } from "../../../src/pipeline/uploader.ts";
import type { BatchWriter } from "../../../src/store/dynamodb/batch-writer.ts";
import { isCoverageItem } from "../../../src/store/dynamodb/coverage.ts";
import { resolveInputs } from "../../../src/replay/inputs.ts";
import type { ReplayPosition } from "../../../src/replay/replay-checkpoint.ts";
import { runReplay, type ReplayRunOptions } from "../../../src/replay/replay-run.ts";
import { journalLine } from "../../../src/journal/journal-line.ts";
import { generateFrames } from "../../support/frame-generator.ts";
import { controlFrames } from "../../support/fixtures.ts";
import { testTempDir } from "../../support/temp-dirs.ts";
import { waitFor } from "../../support/wait.ts";

type Item = Record<string, AttributeValue>;

/** Acknowledges every batch on the next microtask. Keeps data items and coverage items apart. */
class InstantWriter {
  items: Item[] = [];
  coverage: Item[] = [];
  /** Every item in submission order. */
  all: Item[] = [];
  submit(items: Item[], onWritten?: () => void): Promise<void> {
    for (const item of items) (isCoverageItem(item) ? this.coverage : this.items).push(item);
    this.all.push(...items);
    queueMicrotask(() => onWritten?.());
    return Promise.resolve();
  }
  flush(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, 0));
  }
  fatal(): undefined {
    return undefined;
  }
  stats() {
    return { written: this.items.length, retryRequests: 0 };
  }
}

let dir: string;
beforeEach(() => {
  dir = testTempDir("replay-run");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const FRAMES = generateFrames({ pairs: ["btcusd"], countPerPair: 120, seed: 3 });

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function setup(paths: string[], over: Partial<ReplayRunOptions> = {}) {
  const writer = new InstantWriter();
  const uploader = new ItemUploader<ReplayPosition>(writer as unknown as BatchWriter);
  const bad: string[] = [];
  const acks: Array<{ position: ReplayPosition | undefined; badLines: number }> = [];
  const options: ReplayRunOptions = {
    inputs: resolveInputs(paths),
    shards: 4,
    store: {
      uploader,
      stats: () => writer.stats(),
      lingerMs: 50,
      onAcknowledged: (position, badLines) => acks.push({ position, badLines }),
    },
    strict: false,
    maxLineBytes: 64 * 1024,
    onBadLine: (where, reason) => bad.push(`${where}: ${reason}`),
    onProgress: () => undefined,
    ...over,
  };
  return { writer, bad, acks, options, run: () => runReplay(options) };
}

describe("runReplay", () => {
  test("stores every event of journal and plain lines, counts the rest, and acknowledges the end of the last input", async () => {
    const journal = FRAMES.slice(0, 60).map((f, i) => journalLine(1_000 + i, f)).join("");
    const plain = [controlFrames()[0], ...FRAMES.slice(60), "", "not json"].join("\n") + "\n";
    const a = file("a.ndjson", journal);
    const b = file("b.ndjson", plain);
    const { writer, bad, acks, run } = setup([a, b]);
    const summary = await run();
    expect(summary).toMatchObject({ lines: 123, events: 120, badLines: 1, end: "complete" });
    expect(summary.skipped).toEqual({ blank: 1, control: 1, "not-stored": 0, other: 0 });
    expect(writer.items.length).toBe(120);
    expect(writer.items.filter((i) => i.rx !== undefined).length).toBe(60);
    expect(bad.length).toBe(1);
    expect(bad[0]).toStartWith(`${b}:63: E_FRAME_JSON: `);
    expect(acks.at(-1)).toEqual({ position: { input: 1, offset: Buffer.byteLength(plain), line: 63 }, badLines: 1 });
  });

  test("writes the coverage item of each (pair, stream, hour) once, before the first event of that hour", async () => {
    // 120 frames at a mean of 120 s apart: about 4 hours of two streams.
    const frames = generateFrames({ pairs: ["btcusd", "ethusd"], countPerPair: 120, seed: 5, meanGapMs: 120_000 });
    const { writer, run } = setup([file("hours.ndjson", frames.join("\n") + "\n")]);
    await run();
    const hourOf = (item: Item) => item.pk!.S!.replace(/#\d+$/, "");
    const hours = [...new Set(writer.items.map(hourOf))];
    expect(hours.length).toBeGreaterThanOrEqual(8);
    expect(writer.coverage.map((item) => item.sk!.S)).toEqual(hours);
    for (const hour of hours) {
      expect(writer.all.findIndex((item) => item.sk!.S === hour)).toBeLessThan(writer.all.findIndex((item) => !isCoverageItem(item) && hourOf(item) === hour));
    }
    expect(writer.items.length).toBe(frames.length);
  });

  test("--strict stops at the first bad line, stores what came before, and acknowledges no further", async () => {
    const lines = [...FRAMES.slice(0, 30), '{"rx":5,"m":{"oops"', ...FRAMES.slice(30, 40)];
    const path = file("strict.ndjson", lines.join("\n") + "\n");
    const { writer, acks, run } = setup([path], { strict: true });
    const summary = await run();
    expect(summary.end).toBe("strict");
    expect(summary.strictStop).toEqual({ where: `${path}:31`, reason: "journal line does not end with '}' (truncated?)" });
    expect(writer.items.length).toBe(30);
    const before = Buffer.byteLength(lines.slice(0, 30).join("\n") + "\n");
    expect(acks.at(-1)!.position).toEqual({ input: 0, offset: before, line: 30 });
  });

  test("resumes after a position: reads only the lines after it, numbering them as in the file", async () => {
    const lines = [...FRAMES.slice(0, 50), "garbage", ...FRAMES.slice(50, 60)];
    const path = file("resume.ndjson", lines.join("\n") + "\n");
    const offset = Buffer.byteLength(lines.slice(0, 45).join("\n") + "\n");
    const { writer, bad, run } = setup([path], { resumeFrom: { position: { input: 0, offset, line: 45 }, badLines: 2 } });
    const summary = await run();
    expect(summary).toMatchObject({ lines: 16, events: 15, badLines: 1, badLinesBefore: 2, badLinesAcked: 3, resumedAt: { input: path, line: 46 } });
    expect(writer.items.length).toBe(15);
    expect(bad[0]).toStartWith(`${path}:51: `);
  });

  test("skips a binary input as a whole with one report, and reads the next input", async () => {
    const binary = file("image.ndjson", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x0a, 0xff, 0x00, 0x0a]));
    const good = file("good.ndjson", FRAMES.slice(0, 10).join("\n") + "\n");
    const { writer, bad, run } = setup([binary, good]);
    const summary = await run();
    expect(bad).toEqual([`${binary}: not a text recording (NUL bytes or invalid UTF-8 in its first line: binary data, or compressed other than gzip?): the whole input was skipped`]);
    expect(summary).toMatchObject({ events: 10, badLines: 1, end: "complete" });
    expect(writer.items.length).toBe(10);
  });

  test("reports a truncated gzip input at the line where it breaks, keeps what came before, and goes on", async () => {
    const text = FRAMES.join("\n") + "\n";
    const gz = gzipSync(text);
    const cut = file("cut.ndjson.gz", gz.subarray(0, Math.floor(gz.length * 0.6)));
    const next = file("next.ndjson", FRAMES.slice(0, 5).join("\n") + "\n");
    const { writer, bad, run } = setup([cut, next]);
    const summary = await run();
    expect(bad.length).toBe(1);
    expect(bad[0]).toMatch(new RegExp(`^${cut.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+: gzip data ends early or is corrupt .*the lines before it were read`));
    const brokenAt = Number(/:(\d+): /.exec(bad[0]!)![1]);
    expect(summary.events).toBe(brokenAt - 1 + 5);
    expect(writer.items.length).toBe(brokenAt - 1 + 5);
  });

  test("stops at a chunk boundary when the stop signal fires, with end 'stopped'", async () => {
    const path = file("big.ndjson", FRAMES.join("\n") + "\n");
    const stop = new AbortController();
    stop.abort();
    const { run } = setup([path], { stop: stop.signal });
    const summary = await run();
    expect(summary.end).toBe("stopped");
    expect(summary.lines).toBe(0);
  });

  test("validates and counts without a store in a dry run", async () => {
    const path = file("dry.ndjson", [...FRAMES.slice(0, 20), "{}"].join("\n"));
    const { options } = setup([path]);
    const summary = await runReplay({ ...options, store: undefined });
    expect(summary).toMatchObject({ lines: 21, events: 20, badLines: 1, end: "complete" });
  });

  test("flushes a partial batch while stdin is quiet, so a piped capture is stored as it arrives", async () => {
    let feed!: ReadableStreamDefaultController<Uint8Array>;
    const stdin = () => new ReadableStream<Uint8Array>({ start: (c) => void (feed = c) });
    const { writer, options } = setup(["-"]);
    const running = runReplay({ ...options, stdin });
    await waitFor(() => feed !== undefined, { timeoutMs: 5_000, what: "the replay to open stdin" });
    feed.enqueue(new TextEncoder().encode(FRAMES.slice(0, 3).join("\n") + "\n"));
    // stdin stays open: only the quiet-input flush can store these.
    await waitFor(() => writer.items.length >= 3, { timeoutMs: 5_000, what: () => `3 items stored (${writer.items.length} so far)` });
    expect(writer.items.length).toBe(3);
    feed.close();
    expect((await running).events).toBe(3);
  });
});
