import { describe, expect, test } from "bun:test";
import { existsSync, openSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { JournalAppender, type AppenderOptions } from "../../../src/journal/appender.ts";
import { TeeOutput } from "../../../src/journal/tee-output.ts";
import { listSegments, segmentPath } from "../../../src/journal/segments.ts";
import { testTempDir } from "../../support/temp-dirs.ts";
import { waitFor } from "../../support/wait.ts";

const encode = (s: string) => new TextEncoder().encode(s);

function setup(overrides: Partial<AppenderOptions> = {}) {
  const dir = testTempDir("appender");
  let ms = 0;
  let micros = 1_800_000_000_000_000;
  const events: string[] = [];
  const appender = new JournalAppender({
    dir,
    pid: 77,
    segmentBytes: 1024 * 1024,
    segmentAgeMs: 3_600_000,
    fsyncMs: 200,
    clockMicros: () => (micros += 1000),
    nowMs: () => ms,
    onWritten: () => events.push("written"),
    onRotated: (closed, opened) => events.push(`rotated ${closed} -> ${opened}`),
    ...overrides,
  });
  const read = () => listSegments(dir).map((name) => readFileSync(segmentPath(dir, name), "utf8"));
  return { dir, appender, events, read, advance: (by: number) => (ms += by) };
}

describe("journal appender", () => {
  test("appends journal lines to one segment and hands them to the OS on flush", () => {
    const { appender, read, events } = setup();
    const first = appender.open();
    expect(first).toMatch(/^\d{16}-77\.ndjson$/);
    appender.append(encode('{"a":1}'), 5);
    appender.append(encode('{"b":2}'), 6);
    expect(read()).toEqual([""]); // buffered
    appender.flush();
    expect(read()).toEqual(['{"rx":5,"m":{"a":1}}\n{"rx":6,"m":{"b":2}}\n']);
    expect(events).toEqual(["written"]);
    expect(appender.stats()).toMatchObject({ frames: 2, lines: 2, segment: first, segmentsOpened: 1 });
  });

  test("writes by itself once the buffer passes flushBytes", () => {
    const { appender, read } = setup({ flushBytes: 64 });
    appender.open();
    for (let i = 0; i < 10; i++) appender.append(encode(`{"i":${i}}`), i);
    expect(read()[0]!.split("\n").length).toBeGreaterThan(3);
  });

  test("fsyncs at most fsyncMs after a write, and not while nothing was written", () => {
    const { appender, advance } = setup({ fsyncMs: 200 });
    appender.open();
    appender.tick();
    expect(appender.stats().fsyncs).toBe(0);
    expect(appender.msUntilDue()).toBeUndefined();
    appender.append(encode("{}"), 1);
    appender.flush();
    expect(appender.stats().fsyncs).toBe(0);
    expect(appender.msUntilDue()).toBe(200);
    advance(199);
    appender.tick();
    expect(appender.stats().fsyncs).toBe(0);
    advance(1);
    appender.tick();
    expect(appender.stats().fsyncs).toBe(1);
    advance(1000);
    appender.tick();
    expect(appender.stats().fsyncs).toBe(1);
  });

  test("with --fsync-ms 0 every write is synced at once", () => {
    const { appender } = setup({ fsyncMs: 0 });
    appender.open();
    for (let i = 1; i <= 3; i++) {
      appender.append(encode("{}"), i);
      appender.flush();
      expect(appender.stats().fsyncs).toBe(i);
    }
  });

  test("rotates by size: the closed segment is complete before the next one exists, names sort in order", () => {
    const { dir, appender, read, events } = setup({ segmentBytes: 100 });
    appender.open();
    const line = '{"x":"0123456789012345678901234567890123456789"}';
    for (let i = 0; i < 6; i++) {
      appender.append(encode(line), i);
      appender.flush();
    }
    appender.close();
    const segments = listSegments(dir);
    expect(segments.length).toBe(3);
    expect(read().join("")).toBe([0, 1, 2, 3, 4, 5].map((i) => `{"rx":${i},"m":${line}}\n`).join(""));
    // The third rotation opened a fourth segment that stayed empty: close deleted it.
    const rotations = events.filter((e) => e.startsWith("rotated"));
    expect(rotations.slice(0, 2)).toEqual([`rotated ${segments[0]} -> ${segments[1]}`, `rotated ${segments[1]} -> ${segments[2]}`]);
    expect(rotations.length).toBe(3);
    expect(appender.stats().fsyncs).toBe(3); // each full segment synced when closed
  });

  test("rotates a non-empty segment once it is segmentAgeMs old, never an empty one", () => {
    const { dir, appender, advance } = setup({ segmentAgeMs: 1000 });
    appender.open();
    advance(5000);
    appender.tick();
    expect(listSegments(dir).length).toBe(1);
    appender.append(encode("{}"), 1);
    appender.flush();
    advance(1);
    appender.tick();
    expect(listSegments(dir).length).toBe(2);
  });

  test("close syncs and closes, and deletes a segment that stayed empty", () => {
    const { dir, appender } = setup();
    const name = appender.open();
    appender.close();
    expect(existsSync(segmentPath(dir, name))).toBe(false);
    expect(readdirSync(join(dir, "quarantine"))).toEqual([]);
  });

  test("a new run never reuses an existing segment and sorts after it", () => {
    const { dir, appender } = setup();
    const first = appender.open();
    appender.append(encode("{}"), 1);
    appender.close();
    // Same clock reading as the first run: the name must still be new and later.
    const again = new JournalAppender({ dir, pid: 77, segmentBytes: 1 << 20, segmentAgeMs: 1 << 30, fsyncMs: 0, clockMicros: () => 1 });
    const second = again.open();
    expect(second > first).toBe(true);
    again.close();
  });

  test("--out gets the same bytes as the segment", async () => {
    const dir = testTempDir("tee");
    const teePath = join(dir, "copy.ndjson");
    const tee = new TeeOutput({ fd: openSync(teePath, "a"), name: "the --out file" });
    const { appender, read } = setup({ tee });
    appender.open();
    appender.append(encode('{"t":1}'), 3);
    appender.close();
    expect(read()).toEqual(['{"rx":3,"m":{"t":1}}\n']);
    // The copy is written asynchronously.
    await waitFor(() => tee.stats().writtenLines >= 1, { timeoutMs: 5_000, what: () => `the --out copy written (${JSON.stringify(tee.stats())})` });
    expect(readFileSync(teePath, "utf8")).toBe('{"rx":3,"m":{"t":1}}\n');
    expect(appender.stats().tee).toEqual({ writtenLines: 1, skippedLines: 0, queuedBytes: 0 });
  });

  test("a loss goes out as one gap record in front of the next write, received no later than the lines behind it", () => {
    const { appender, read } = setup({ lossRecord: (loss) => `{"lost":${loss.frames},"from":${loss.firstRxMicros},"to":${loss.lastRxMicros}}` });
    appender.open();
    appender.append(encode('{"a":1}'), 50);
    appender.noteLoss({ firstRxMicros: 60, lastRxMicros: 61, frames: 2, bytes: 20 });
    appender.noteLoss({ firstRxMicros: 62, lastRxMicros: 64, frames: 3, bytes: 30 });
    appender.append(encode('{"b":2}'), 65);
    appender.flush();
    expect(read()).toEqual(['{"rx":50,"obcap":{"lost":5,"from":60,"to":64}}\n{"rx":50,"m":{"a":1}}\n{"rx":65,"m":{"b":2}}\n']);
    expect(appender.stats()).toMatchObject({ frames: 2, framesWritten: 2, ownLines: 1, lines: 3 });
  });

  test("a journal directory that cannot be created is an E_JOURNAL_IO naming it", () => {
    const dir = join(testTempDir("ro"), "file");
    writeFileSync(dir, "not a directory");
    const appender = new JournalAppender({ dir, pid: 1, segmentBytes: 1, segmentAgeMs: 1, fsyncMs: 0, clockMicros: () => 1 });
    expect(() => appender.open()).toThrow(expect.objectContaining({ code: "E_JOURNAL_IO", message: expect.stringContaining(dir) }));
  });
});
