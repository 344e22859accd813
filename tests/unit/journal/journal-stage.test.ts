import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { JournalStage } from "../../../src/journal/journal-stage.ts";
import { createRing, RingProducer } from "../../../src/queue/ring.ts";
import { createJournalSignal, journalCounters, SIGNAL_ROTATIONS, SIGNAL_WRITES, type JournalStageMessage } from "../../../src/journal/journal-protocol.ts";
import { encodeLoss, RECORD_KIND, type QueueRecord } from "../../../src/queue/frame-publisher.ts";
import { listSegments, segmentPath } from "../../../src/journal/segments.ts";
import { generateFrames } from "../../support/frame-generator.ts";
import { testTempDir } from "../../support/temp-dirs.ts";

/** No budget to speak of and no compression: these tests are about the ring and the lines. */
const NO_BUDGET_FLAGS = { policy: "drop-oldest" as const, gzipLevel: 0 };
const NO_BUDGET = { budgetBytes: 2 ** 50, minFreeBytes: 0, policy: "drop-oldest" as const, gzipLevel: 0 };

function start(segmentBytes = 64 * 1024 * 1024) {
  const dir = testTempDir("journal-writer");
  const ring = createRing(1024 * 1024);
  const signal = createJournalSignal();
  const messages: JournalStageMessage[] = [];
  const run = new JournalStage(
    { ring, signal, output: { kind: "segments", journal: { dir, fsyncMs: 50, segmentBytes, segmentAgeMs: 3_600_000, keepMs: 0, disk: NO_BUDGET_FLAGS }, pid: 5, tee: undefined, budget: NO_BUDGET }, progressEveryMs: 100, channels: ["live_orders_btcusd"] },
    (m) => messages.push(m),
  );
  const done = run.run();
  /** The publisher's side of the end: the ring closed, then the finish message. */
  const close = (leftovers: QueueRecord[] = []) => {
    producer.close();
    run.control({ type: "finish", leftovers });
  };
  const producer = new RingProducer(ring);
  return { dir, producer, signal: new Int32Array(signal), counters: journalCounters(signal), messages, done, close };
}

const readJournal = (dir: string) => listSegments(dir).map((n) => readFileSync(segmentPath(dir, n), "utf8")).join("");

describe("journal stage (ring -> segments)", () => {
  test("journals every frame of the ring in order, byte for byte, then reports done", async () => {
    const { dir, producer, signal, counters, messages, done, close } = start();
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 3000, seed: 4 });
    let i = 0;
    // Push while the writer drains (the ring is smaller than the frames).
    while (i < frames.length) {
      if (producer.tryPushText(frames[i]!, 1_788_000_000_000_000 + i)) i++;
      else await new Promise((r) => setTimeout(r, 1));
    }
    close();
    await done;
    expect(counters.journaled()).toBe(frames.length);
    expect(messages[0]?.type).toBe("ready");
    const last = messages.at(-1)!;
    expect(last.type).toBe("done");
    expect(last.type === "done" && last.stats).toMatchObject({ frames: frames.length, framesWritten: frames.length, lines: frames.length });
    expect(readJournal(dir)).toBe(frames.map((f, n) => `{"rx":${1_788_000_000_000_000 + n},"m":${f}}\n`).join(""));
    expect(Atomics.load(signal, SIGNAL_WRITES)).toBeGreaterThan(0);
  });

  test("bumps the rotations counter when a segment is full", async () => {
    const { dir, producer, signal, done, close } = start(64 * 1024);
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 5000, seed: 5 });
    let i = 0;
    while (i < frames.length) {
      if (producer.tryPushText(frames[i]!, i)) i++;
      else await new Promise((r) => setTimeout(r, 1));
    }
    close();
    await done;
    const segments = listSegments(dir);
    expect(segments.length).toBeGreaterThan(3);
    expect(Atomics.load(signal, SIGNAL_ROTATIONS)).toBeGreaterThanOrEqual(segments.length - 1);
    expect(readJournal(dir).split("\n").length - 1).toBe(frames.length);
  });

  test("a journal directory it cannot create is reported as fatal E_JOURNAL_IO", async () => {
    const file = `${testTempDir("journal-writer")}/file`;
    writeFileSync(file, "");
    const messages: JournalStageMessage[] = [];
    await new JournalStage(
      { ring: createRing(65536), signal: createJournalSignal(), output: { kind: "segments", journal: { dir: file, fsyncMs: 0, segmentBytes: 1 << 20, segmentAgeMs: 1000, keepMs: 0, disk: NO_BUDGET_FLAGS }, pid: 1, tee: undefined, budget: NO_BUDGET }, progressEveryMs: 100, channels: [] },
      (m) => messages.push(m),
    ).run();
    expect(messages).toEqual([expect.objectContaining({ type: "fatal", code: "E_JOURNAL_IO" })]);
  });
});

describe("journal writer: obcap's own records, losses and the end", () => {
  const gap = '{"event":"obcap:gap","channels":["live_orders_btcusd"],"data":{"start_us":"5","end_us":"9","reason":"stale"}}';

  test("own records get the obcap line form; a loss marker becomes one gap record in front of the next write", async () => {
    const { dir, producer, done, close } = start();
    producer.tryPushText('{"a":1}', 10);
    producer.tryPushText(gap, 11, RECORD_KIND.own);
    producer.tryPushBytes(encodeLoss({ firstRxMicros: 12, lastRxMicros: 14, frames: 3, bytes: 99 }), 14, RECORD_KIND.loss);
    producer.tryPushText('{"b":2}', 15);
    close();
    await done;
    const lines = readJournal(dir).split("\n").filter(Boolean);
    const overflow = '{"event":"obcap:gap","channels":["live_orders_btcusd"],"data":{"start_us":"12","end_us":"14","reason":"overflow"}}';
    // The overflow record comes first in the write that holds the frame received after the loss.
    expect(lines.indexOf(`{"rx":10,"obcap":${overflow}}`)).toBeLessThan(lines.indexOf('{"rx":15,"m":{"b":2}}'));
    expect(lines).toContain(`{"rx":11,"obcap":${gap}}`);
    expect(lines.filter((l) => l.includes('"m":')).length).toBe(2);
  });

  test("journals the leftovers of the finish message after the ring, then ends", async () => {
    const { dir, producer, done, close } = start();
    producer.tryPushText('{"a":1}', 10);
    close([
      { kind: RECORD_KIND.own, rxMicros: 20, payload: gap },
      { kind: RECORD_KIND.loss, rxMicros: 30, payload: encodeLoss({ firstRxMicros: 25, lastRxMicros: 30, frames: 6, bytes: 600 }) },
    ]);
    await done;
    const text = readJournal(dir);
    expect(text).toContain(`{"rx":20,"obcap":${gap}}`);
    expect(text).toContain('"start_us":"25","end_us":"30","reason":"overflow"');
  });

  test("asked to abandon, it writes no more frames: one shutdown gap covers what was left, and the counters add up", async () => {
    const { dir, producer, counters, done, close, messages } = start();
    // Fill the ring before the writer gets a turn, then ask to abandon at once.
    let pushed = 0;
    while (producer.tryPushText(`{"n":${pushed}}`, 1000 + pushed)) pushed++;
    counters.requestAbandon();
    close();
    await done;
    const journaled = readJournal(dir).split("\n").filter((l) => l.includes('"m":')).length;
    const last = messages.at(-1)!;
    expect(last.type).toBe("done");
    expect(counters.journaled()).toBe(journaled);
    expect(counters.abandoned() + counters.journaled()).toBe(pushed);
    expect(counters.abandoned()).toBeGreaterThan(0);
    const shutdown = readJournal(dir).split("\n").find((l) => l.includes('"reason":"shutdown"'))!;
    expect(shutdown).toContain(`"end_us":"${1000 + pushed - 1}"`);
  });
});
