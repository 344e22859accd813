/**
 * The upload stage (src/pipeline/upload-stage.ts) with the ring as its source (--no-journal --table)
 * and fakes of what it writes to, passed through its `deps`: the table check (`openTable`) and the
 * batch writer (tests/support/fake-batch-writer.ts, which keeps BatchWriter's contract). The ring,
 * the source, ingest, the uploader and the messages are the real ones; no DynamoDB.
 *
 * What the stage promises: every frame becomes its items, positions are acknowledged in order
 * (settledFrames counts the frames settled), loss markers and obcap's own records become gap items,
 * frames that cannot be stored are counted and reported (sampled), the end is orderly (finish) or
 * immediate (abort), and the table check decides before `ready` whether the capture may start.
 * Every wait is on a condition; timers only bound a hang.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { obcapError } from "../../../src/base/errors.ts";
import { createJournalSignal, type JournalSettings } from "../../../src/journal/journal-protocol.ts";
import { UploadStage, type UploadStageDeps } from "../../../src/pipeline/upload-stage.ts";
import type { UploaderMessage, UploaderStats, UploadSource } from "../../../src/pipeline/upload-protocol.ts";
import { encodeLoss, RECORD_KIND, type QueueRecord } from "../../../src/queue/frame-publisher.ts";
import { createRing, RingProducer } from "../../../src/queue/ring.ts";
import { gapRecord } from "../../../src/model/gap-record.ts";
import { decodeItem, decodeItemRx } from "../../../src/store/dynamodb/item-decoder.ts";
import { isCoverageItem } from "../../../src/store/dynamodb/coverage.ts";
import { isGapItem } from "../../../src/store/dynamodb/gap-item.ts";
import type { Item } from "../../../src/store/dynamodb/item.ts";
import { parsePartitionKey } from "../../../src/store/dynamodb/keys.ts";
import { FakeBatchWriter } from "../../support/fake-batch-writer.ts";
import { bookFrames } from "../../support/fixtures.ts";
import { generateFrames } from "../../support/frame-generator.ts";
import { testTempDir } from "../../support/temp-dirs.ts";
import { waitFor } from "../../support/wait.ts";

setDefaultTimeout(15_000);

const CHANNELS = ["live_orders_btcusd", "live_trades_btcusd"];
const RX0 = 1_788_600_000_000_000;
const rxOf = (i: number) => RX0 + 1000 * i;

interface Harness {
  producer: RingProducer;
  messages: UploaderMessage[];
  stage: UploadStage;
  /** The fake writer, once the stage built it (after the table check). */
  writer(): FakeBatchWriter | undefined;
  openTableCalls: string[];
  /** Starts `run()`; resolves when it returns. */
  start(): Promise<void>;
  run: Promise<void> | undefined;
  /** Re-checks `condition` after every message and every writer event. */
  until(condition: () => boolean, what: () => string): Promise<void>;
  /** The publisher's end: the ring closed, then the finish message with `leftovers`. */
  finish(leftovers?: QueueRecord[]): void;
  of<T extends UploaderMessage["type"]>(type: T): Extract<UploaderMessage, { type: T }>[];
  /** Stats of the last message that carries them. */
  lastStats(): UploaderStats | undefined;
}

interface HarnessOptions {
  openTable?: UploadStageDeps["openTable"];
  shards?: number;
  autoAck?: boolean;
  maxInFlight?: number;
  source?: "ring" | "journal";
}

function harness(opts: HarnessOptions = {}): Harness {
  const ring = createRing(1024 * 1024);
  const producer = new RingProducer(ring);
  const messages: UploaderMessage[] = [];
  const checks = new Set<() => void>();
  const changed = () => {
    for (const check of [...checks]) check();
  };
  let writer: FakeBatchWriter | undefined;
  const openTableCalls: string[] = [];
  const shards = opts.shards ?? 4;
  const deps: UploadStageDeps = {
    openTable: async (table) => {
      openTableCalls.push(table);
      changed();
      return opts.openTable ? opts.openTable(table) : { shards };
    },
    createBatchWriter: (options) => {
      writer = new FakeBatchWriter(options, { autoAck: opts.autoAck ?? true });
      writer.subscribe(changed);
      changed();
      return writer.asBatchWriter();
    },
  };
  const source: UploadSource = opts.source === "journal"
    ? { kind: "journal", signal: createJournalSignal(), journal: journalSettings(testTempDir("upload-stage")) }
    : { kind: "ring", ring, channels: CHANNELS };
  const stage = new UploadStage(
    { type: "init", source, target: { table: "capture", shards: undefined, inFlight: { initial: opts.maxInFlight ?? 4, max: opts.maxInFlight ?? 4, adaptive: false } }, lingerMs: 0, progressEveryMs: 10, checkpointEveryMs: 1000 },
    (message) => {
      messages.push(message);
      changed();
    },
    deps,
  );
  const h: Harness = {
    producer,
    messages,
    stage,
    writer: () => writer,
    openTableCalls,
    run: undefined,
    start() {
      h.run = stage.run();
      return h.run;
    },
    until: (condition, what) =>
      waitFor(condition, {
        timeoutMs: 10_000,
        intervalMs: 10,
        what: () => `${what()}; messages: ${messages.map((m) => m.type).join(", ")}`,
        subscribe: (recheck) => {
          checks.add(recheck);
          return () => checks.delete(recheck);
        },
      }).then(() => undefined),
    finish(leftovers = []) {
      producer.close();
      stage.control({ type: "finish", leftovers });
    },
    of: <T extends UploaderMessage["type"]>(type: T) => messages.filter((m): m is Extract<UploaderMessage, { type: T }> => m.type === type),
    lastStats() {
      for (let i = messages.length - 1; i >= 0; i--) {
        const m = messages[i]!;
        if ("stats" in m) return m.stats;
      }
      return undefined;
    },
  };
  return h;
}

function journalSettings(dir: string): JournalSettings {
  return { dir, fsyncMs: 0, segmentBytes: 1 << 20, segmentAgeMs: 3_600_000, keepMs: 0, disk: { policy: "drop-oldest", gzipLevel: 0 } };
}

function pushFrame(h: Harness, frame: string | Uint8Array, rx: number, kind: number = RECORD_KIND.frame): void {
  const ok = typeof frame === "string" ? h.producer.tryPushText(frame, rx, kind) : h.producer.tryPushBytes(frame, rx, kind);
  expect(ok).toBe(true);
}

/** The stage's `done`, once it came. */
async function done(h: Harness): Promise<Extract<UploaderMessage, { type: "done" }>> {
  await h.until(() => h.of("done").length > 0 || h.of("fatal").length > 0, () => "done");
  const fatal = h.of("fatal")[0];
  if (fatal) throw new Error(`the stage failed: ${fatal.code} ${fatal.message}`);
  return h.of("done")[0]!;
}

/** A gap item as its record: channel, interval, reason. */
function gapOf(item: Item): { channels: string[]; start: string; end: string; reason: string } {
  const record = JSON.parse(decodeItem(item)) as { channels: string[]; data: { start_us: string; end_us: string; reason: string } };
  return { channels: record.channels, start: record.data.start_us, end: record.data.end_us, reason: record.data.reason };
}

/** A progress report posted after `fromIndex` (housekeeping runs every 10 ms). */
async function nextProgress(h: Harness): Promise<UploaderStats> {
  const from = h.messages.length;
  await h.until(() => h.messages.slice(from).some((m) => m.type === "progress"), () => "the next progress report");
  return h.messages.slice(from).findLast((m) => m.type === "progress")!.stats;
}

describe("frames -> items", () => {
  test("every frame of the ring becomes its items, in order, with its receive time; all settled; done(complete)", async () => {
    const h = harness({ shards: 3 });
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 500, seed: 31 });
    frames.forEach((frame, i) => pushFrame(h, frame, rxOf(i)));
    const run = h.start();
    h.finish();
    const end = await done(h);
    await run;

    expect(h.openTableCalls).toEqual(["capture"]);
    expect(h.messages.slice(0, 2)).toEqual([
      { type: "table", table: "capture", shards: 3, layout: "event" },
      expect.objectContaining({ type: "ready", resumeAt: undefined }),
    ]);
    const items = h.writer()!.dataItems();
    const events = items.filter((item) => !isGapItem(item));
    // Decoded back, the items are the frames, byte for byte, at their receive times; no chain gaps.
    expect(events.map(decodeItem)).toEqual(frames);
    expect(events.map(decodeItemRx)).toEqual(frames.map((_, i) => rxOf(i)));
    expect(items.length).toBe(frames.length);
    for (const item of events) expect(parsePartitionKey(item.pk!.S!)!.shard).toBeLessThan(3);
    // One coverage item per (pair, stream, hour), in the order the hours first appear, each written
    // before the first event of its hour.
    const hourOf = (item: Item) => item.pk!.S!.replace(/#\d+$/, "");
    const coverage = h.writer()!.coverageItems().map((item) => item.sk!.S!);
    expect(coverage).toEqual([...new Set(events.map(hourOf))]);
    expect(coverage.length).toBeGreaterThanOrEqual(2);
    const all = h.writer()!.items();
    for (const key of coverage) {
      expect(all.findIndex((item) => item.sk!.S === key)).toBeLessThan(all.findIndex((item) => !isCoverageItem(item) && hourOf(item) === key));
    }
    expect(end.complete).toBe(true);
    expect(end.stats).toMatchObject({ frames: frames.length, events: frames.length, written: items.length, coverageWritten: coverage.length, settledFrames: frames.length, rejected: {}, unknown: {} });
    expect(end.stats.channels?.live_orders_btcusd?.frames! + end.stats.channels?.live_trades_btcusd?.frames!).toBe(frames.length);
    // Every batch went through the writer's contract (at most 25 items, distinct keys, in flight).
    expect(h.writer()!.batches.every((b) => b.acked && b.items.length <= 25)).toBe(true);
    expect(h.writer()!.options).toMatchObject({ table: "capture", concurrency: { initial: 4, max: 4, adaptive: false } });
  });

  test("positions are acknowledged in order: a later batch acknowledged first does not settle its frames", async () => {
    const h = harness({ autoAck: false, maxInFlight: 4 });
    // One item per frame (no chain gaps) and a few coverage items: 60-odd items, batches of 25, 25
    // and the rest (the last by linger).
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 60, seed: 32 });
    frames.forEach((frame, i) => pushFrame(h, frame, rxOf(i)));
    void h.start();
    await h.until(() => (h.writer()?.batches.length ?? 0) === 3, () => `3 batches in flight (${h.writer()?.batches.length ?? 0})`);
    const writer = h.writer()!;
    const extra = writer.coverageItems().length;
    expect(writer.batches.map((b) => b.items.length)).toEqual([25, 25, 10 + extra]);
    expect((await nextProgress(h)).settledFrames).toBe(0);

    writer.ack(1);
    writer.ack(2);
    const afterLater = await nextProgress(h);
    expect(afterLater.written).toBe(writer.batches.slice(1).flatMap((b) => b.items).filter((item) => !isCoverageItem(item)).length);
    expect(afterLater.settledFrames).toBe(0);

    writer.ack(0);
    expect((await nextProgress(h)).settledFrames).toBe(60);
    h.finish();
    const end = await done(h);
    expect(end.stats.settledFrames).toBe(60);
    // settledFrames never went back in any report.
    const settled = h.messages.flatMap((m) => ("stats" in m ? [m.stats.settledFrames ?? 0] : []));
    expect(settled).toEqual([...settled].sort((a, b) => a - b));
  });
});

describe("obcap's own records", () => {
  test("a loss marker becomes an overflow gap item of every channel; a gap record its items; neither is a frame", async () => {
    const h = harness();
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 4, seed: 33 });
    pushFrame(h, frames[0]!, rxOf(0));
    pushFrame(h, encodeLoss({ firstRxMicros: rxOf(1), lastRxMicros: rxOf(2), frames: 2, bytes: 700 }), rxOf(2), RECORD_KIND.loss);
    pushFrame(h, frames[1]!, rxOf(3));
    const stale = gapRecord({ channels: [CHANNELS[0]!], startMicros: rxOf(3), endMicros: rxOf(4), reason: "stale" });
    pushFrame(h, stale, rxOf(4), RECORD_KIND.own);
    pushFrame(h, frames[2]!, rxOf(5));
    void h.start();
    h.finish();
    const end = await done(h);

    const items = h.writer()!.dataItems();
    const gaps = items.filter(isGapItem).map(gapOf);
    expect(gaps).toEqual([
      ...CHANNELS.map((channel) => ({ channels: [channel], start: String(rxOf(1)), end: String(rxOf(2)), reason: "overflow" })),
      { channels: [CHANNELS[0]!], start: String(rxOf(3)), end: String(rxOf(4)), reason: "stale" },
    ]);
    // In ring order: frame, overflow gaps, frame, stale gap, frame.
    expect(items.map((item) => (isGapItem(item) ? gapOf(item).reason : "frame"))).toEqual(["frame", "overflow", "overflow", "frame", "stale", "frame"]);
    expect(end.stats).toMatchObject({ frames: 3, events: 3, settledFrames: 3, written: 6 });
    // The gap records' channels are in the coverage records too, once per (pair, stream), with the first gap item.
    const coverage = h.writer()!.coverageItems().map((item) => item.sk!.S!);
    expect(coverage.filter((key) => key.endsWith("#gaps"))).toEqual(["btcusd#orders#gaps", "btcusd#trades#gaps"]);
  });
});

describe("frames that are not stored", () => {
  test("an invalid frame is counted under its code and reported: the first five, then every 1000th; its position settles", async () => {
    const h = harness();
    const good = generateFrames({ pairs: ["btcusd"], countPerPair: 2, seed: 34 });
    pushFrame(h, good[0]!, rxOf(0));
    for (let i = 0; i < 1000; i++) pushFrame(h, `{not json ${i}`, rxOf(1 + i));
    pushFrame(h, '{"data":{},"channel":"live_trades_btcusd","event":"trade"}', rxOf(1001));
    pushFrame(h, good[1]!, rxOf(1002));
    void h.start();
    h.finish();
    const end = await done(h);

    expect(end.stats.rejected).toEqual({ E_FRAME_JSON: 1000, E_FRAME_INVALID: 1 });
    const reports = h.of("rejected");
    expect(reports.filter((r) => r.code === "E_FRAME_JSON").map((r) => r.count)).toEqual([1, 2, 3, 4, 5, 1000]);
    expect(reports.filter((r) => r.code === "E_FRAME_JSON")[0]!.message).toContain("{not json 0");
    expect(reports.filter((r) => r.code === "E_FRAME_INVALID").map((r) => r.count)).toEqual([1]);
    // The good frames are stored; every frame, rejected ones too, is settled.
    expect(h.writer()!.dataItems().map(decodeItem)).toEqual(good);
    expect(end.stats).toMatchObject({ frames: 1003, events: 2, settledFrames: 1003 });
    expect(end.complete).toBe(true);
  });

  test("a frame of a kind obcap does not store is counted under its kind and reported once", async () => {
    const h = harness();
    const book = bookFrames().slice(0, 3);
    const good = generateFrames({ pairs: ["btcusd"], countPerPair: 1, seed: 35 });
    book.forEach((frame, i) => pushFrame(h, frame, rxOf(i)));
    pushFrame(h, good[0]!, rxOf(3));
    void h.start();
    h.finish();
    const end = await done(h);

    expect(end.stats.unknown).toEqual({ "data@diff_order_book": 3 });
    expect(h.of("unknown-kind")).toEqual([{ type: "unknown-kind", kind: "data@diff_order_book", sample: book[0]!.slice(0, 200) }]);
    expect(h.of("rejected")).toEqual([]);
    expect(h.writer()!.dataItems().map(decodeItem)).toEqual(good);
    expect(end.stats).toMatchObject({ frames: 4, events: 1, settledFrames: 4 });
  });
});

describe("the end", () => {
  test("finish with leftovers: the records the ring could not take are stored after it", async () => {
    const h = harness();
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 3, seed: 36 });
    pushFrame(h, frames[0]!, rxOf(0));
    pushFrame(h, frames[1]!, rxOf(1));
    void h.start();
    await h.until(() => (h.lastStats()?.settledFrames ?? 0) === 2 && h.of("progress").length > 0, () => "the ring's frames settled");
    const closed = gapRecord({ channels: [CHANNELS[1]!], startMicros: rxOf(2), endMicros: rxOf(5), reason: "closed" });
    h.finish([
      { kind: RECORD_KIND.frame, rxMicros: rxOf(2), payload: frames[2]! },
      { kind: RECORD_KIND.own, rxMicros: rxOf(5), payload: closed },
      { kind: RECORD_KIND.loss, rxMicros: rxOf(7), payload: encodeLoss({ firstRxMicros: rxOf(6), lastRxMicros: rxOf(7), frames: 2, bytes: 500 }) },
    ]);
    const end = await done(h);

    const items = h.writer()!.dataItems();
    expect(items.filter((i) => !isGapItem(i)).map(decodeItem)).toEqual(frames);
    expect(items.filter(isGapItem).map(gapOf)).toEqual([
      { channels: [CHANNELS[1]!], start: String(rxOf(2)), end: String(rxOf(5)), reason: "closed" },
      ...CHANNELS.map((channel) => ({ channels: [channel], start: String(rxOf(6)), end: String(rxOf(7)), reason: "overflow" })),
    ]);
    expect(end.complete).toBe(true);
    expect(end.stats).toMatchObject({ frames: 3, settledFrames: 3 });
  });

  test("abort ends at once with done(complete=false), whatever DynamoDB has not acknowledged", async () => {
    const h = harness({ autoAck: false, maxInFlight: 1 });
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 60, seed: 37 });
    frames.forEach((frame, i) => pushFrame(h, frame, rxOf(i)));
    const run = h.start();
    await h.until(() => (h.writer()?.batches.length ?? 0) === 1, () => "a batch in flight");
    const writer = h.writer()!;
    writer.ack(0);
    await h.until(() => writer.batches.length === 2, () => "the second batch in flight");

    const before = h.messages.length;
    h.stage.control({ type: "abort" });
    // Posted within control(): nothing waits for DynamoDB.
    expect(h.messages.slice(before).map((m) => m.type)).toEqual(["done"]);
    const end = h.of("done")[0]!;
    expect(end.complete).toBe(false);
    // An event is the last item of its frame: the frames settled are the events of the first batch.
    const firstBatchEvents = writer.batches[0]!.items.filter((item) => !isCoverageItem(item)).length;
    expect(end.stats.settledFrames).toBe(firstBatchEvents);
    expect(end.stats.written).toBe(firstBatchEvents);

    // Once the writer lets go, the stage's loop returns, and says nothing more.
    writer.ackAll();
    await run;
    expect(h.of("done").length).toBe(1);
    expect(h.of("fatal")).toEqual([]);
  });

  test("a writer error that retrying cannot fix is fatal, with the figures so far", async () => {
    const h = harness({ autoAck: false, maxInFlight: 2 });
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 30, seed: 38 });
    frames.forEach((frame, i) => pushFrame(h, frame, rxOf(i)));
    const run = h.start();
    await h.until(() => (h.writer()?.batches.length ?? 0) === 2, () => "two batches in flight");
    h.writer()!.fail(obcapError("E_TABLE_NOT_FOUND", "table capture was deleted (test)"));
    // The idle stage learns of it at its next step: the next frame (else its 1 s wake-up).
    pushFrame(h, generateFrames({ pairs: ["btcusd"], countPerPair: 31, seed: 38 })[30]!, rxOf(30));
    await run;
    expect(h.of("done")).toEqual([]);
    expect(h.of("fatal")).toEqual([expect.objectContaining({ code: "E_TABLE_NOT_FOUND", message: "table capture was deleted (test)" })]);
    expect(h.of("fatal")[0]!.stats.settledFrames).toBe(0);
  });
});

describe("the table check at start-up", () => {
  test.each(["ring", "journal"] as const)("a check failing with another error than unreachable is fatal before ready (%s source)", async (source) => {
    const h = harness({ source, openTable: () => Promise.reject(obcapError("E_TABLE_NOT_FOUND", "table capture does not exist (test)")) });
    await h.start();
    expect(h.messages.map((m) => m.type)).toEqual(["fatal"]);
    expect(h.of("fatal")[0]).toMatchObject({ code: "E_TABLE_NOT_FOUND", message: "table capture does not exist (test)" });
    expect(h.writer()).toBeUndefined();
  });

  test("an unreachable DynamoDB with the ring as the source is fatal before ready: E_DDB_UNREACHABLE", async () => {
    const h = harness({ source: "ring", openTable: () => Promise.reject(obcapError("E_DDB_UNREACHABLE", "DynamoDB does not answer (test)")) });
    await h.start();
    expect(h.messages.map((m) => m.type)).toEqual(["fatal"]);
    expect(h.of("fatal")[0]).toMatchObject({ code: "E_DDB_UNREACHABLE" });
    expect(h.openTableCalls.length).toBe(1);
    expect(h.writer()).toBeUndefined();
  });

  test("an unreachable DynamoDB with a journal: ready at once (with a note), then the check is retried until it answers", async () => {
    let calls = 0;
    const h = harness({
      source: "journal",
      openTable: async () => {
        calls++;
        if (calls <= 2) throw obcapError("E_DDB_UNREACHABLE", `DynamoDB does not answer (test, call ${calls})`);
        return { shards: 2 };
      },
    });
    const run = h.start();
    await h.until(() => h.writer() !== undefined, () => `the writer, after the table answered (${h.openTableCalls.length} checks)`);
    expect(h.openTableCalls.length).toBe(3);
    const types = h.messages.map((m) => m.type);
    expect(types.slice(0, 3)).toEqual(["note", "ready", "retry"]);
    expect(h.of("note")[0]!.message).toContain("DynamoDB does not answer (test, call 1)");
    expect(h.of("note")[0]!.message).toContain("capturing into the journal");
    expect(h.of("retry")[0]!.message).toContain("call 2");
    expect(h.of("fatal")).toEqual([]);
    expect(h.of("table")).toEqual([]);

    // The journal (empty here) is uploaded to its end once the journal stage has closed it. (A finish
    // that comes before the read loop waits is seen at its 1 s wake-up: a progress report first keeps
    // the test short, the result is the same either way.)
    await nextProgress(h);
    h.stage.control({ type: "finish" });
    const end = await done(h);
    await run;
    expect(end.complete).toBe(true);
  });
});

describe("keeping up (pipeline-host.ts forces a garbage collection only then)", () => {
  test("not before the first read; caught up once everything is read and it waits; not while DynamoDB holds a backlog", async () => {
    const h = harness({ autoAck: false, maxInFlight: 1 });
    expect(h.stage.caughtUpWithin(250)).toBe(false);
    // 200 frames, one request in flight that is never answered: the loop stays in the uploader's pump.
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 200, seed: 33 });
    frames.forEach((frame, i) => pushFrame(h, frame, rxOf(i)));
    void h.start();
    await h.until(() => (h.writer()?.batches.length ?? 0) === 1, () => "the first batch in flight");
    expect(h.stage.caughtUpWithin(0)).toBe(false);
    // Answered, the rest goes out and the loop runs dry: it waits for data, caught up however long it waits.
    const writer = h.writer()!;
    await h.until(() => {
      writer.batches.forEach((b, i) => b.acked || writer.ack(i));
      return h.lastStats()?.settledFrames === frames.length;
    }, () => `all ${frames.length} settled (${h.lastStats()?.settledFrames})`);
    await waitFor(() => h.stage.caughtUpWithin(0), { what: "the loop waiting for data", timeoutMs: 5000 });
    expect(h.stage.caughtUpWithin(0)).toBe(true);
    h.finish();
    await done(h);
  });
});
