import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { runJournalWriter } from "../../../src/journal/journal-writer.ts";
import { createRing, RingProducer } from "../../../src/queue/ring.ts";
import { createJournalSignal, SIGNAL_ROTATIONS, SIGNAL_WRITES, type JournalWriterMessage } from "../../../src/pipeline/journal-protocol.ts";
import { listSegments, segmentPath } from "../../../src/journal/segments.ts";
import { generateFrames } from "../../support/frame-generator.ts";
import { testTempDir } from "../../support/temp-dirs.ts";

function start(segmentBytes = 64 * 1024 * 1024) {
  const dir = testTempDir("journal-writer");
  const ring = createRing(1024 * 1024);
  const signal = createJournalSignal();
  const messages: JournalWriterMessage[] = [];
  const done = runJournalWriter(
    { type: "init", ring, signal, journal: { dir, fsyncMs: 50, segmentBytes, segmentAgeMs: 3_600_000, keepMs: 0 }, pid: 5, tee: undefined, progressEveryMs: 100 },
    (m) => messages.push(m),
  );
  return { dir, producer: new RingProducer(ring), signal: new Int32Array(signal), messages, done };
}

const readJournal = (dir: string) => listSegments(dir).map((n) => readFileSync(segmentPath(dir, n), "utf8")).join("");

describe("journal writer (ring -> segments)", () => {
  test("journals every frame of the ring in order, byte for byte, then reports done", async () => {
    const { dir, producer, signal, messages, done } = start();
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 3000, seed: 4 });
    let i = 0;
    // Push while the writer drains (the ring is smaller than the frames).
    while (i < frames.length) {
      if (producer.tryPushText(frames[i]!, 1_788_000_000_000_000 + i)) i++;
      else await new Promise((r) => setTimeout(r, 1));
    }
    producer.close();
    await done;
    expect(messages[0]?.type).toBe("ready");
    const last = messages.at(-1)!;
    expect(last.type).toBe("done");
    expect(last.stats).toMatchObject({ frames: frames.length, lines: frames.length });
    expect(readJournal(dir)).toBe(frames.map((f, n) => `{"rx":${1_788_000_000_000_000 + n},"m":${f}}\n`).join(""));
    expect(Atomics.load(signal, SIGNAL_WRITES)).toBeGreaterThan(0);
  });

  test("bumps the rotations counter when a segment is full", async () => {
    const { dir, producer, signal, done } = start(64 * 1024);
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 5000, seed: 5 });
    let i = 0;
    while (i < frames.length) {
      if (producer.tryPushText(frames[i]!, i)) i++;
      else await new Promise((r) => setTimeout(r, 1));
    }
    producer.close();
    await done;
    const segments = listSegments(dir);
    expect(segments.length).toBeGreaterThan(3);
    expect(Atomics.load(signal, SIGNAL_ROTATIONS)).toBeGreaterThanOrEqual(segments.length - 1);
    expect(readJournal(dir).split("\n").length - 1).toBe(frames.length);
  });

  test("a journal directory it cannot create is reported as fatal E_JOURNAL_IO", async () => {
    const file = `${testTempDir("journal-writer")}/file`;
    require("node:fs").writeFileSync(file, "");
    const messages: JournalWriterMessage[] = [];
    await runJournalWriter(
      { type: "init", ring: createRing(65536), signal: createJournalSignal(), journal: { dir: file, fsyncMs: 0, segmentBytes: 1 << 20, segmentAgeMs: 1000, keepMs: 0 }, pid: 1, tee: undefined, progressEveryMs: 100 },
      (m) => messages.push(m),
    );
    expect(messages).toEqual([expect.objectContaining({ type: "fatal", code: "E_JOURNAL_IO" })]);
  });
});
