/**
 * Order book snapshots in the journal stage (src/journal/journal-stage.ts): they come in messages,
 * not through the ring, and are journaled as obcap's own records with the body byte for byte, but
 * never before the run's first ring record (its opening records), and with a line receive time no
 * later than the last ring record's, so "the last receive time journaled" (previous-run.ts) never
 * passes a frame still in the ring.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { JournalStage } from "../../../src/journal/journal-stage.ts";
import { createJournalSignal, journalCounters, type JournalStageMessage, type SnapshotDelivery } from "../../../src/journal/journal-protocol.ts";
import { listSegments, segmentPath } from "../../../src/journal/segments.ts";
import { parseRecordedLine } from "../../../src/journal/journal-line.ts";
import { buildSnapshotRecord } from "../../../src/model/order-book-snapshot.ts";
import { createRing, RingProducer } from "../../../src/queue/ring.ts";
import { RECORD_KIND } from "../../../src/queue/frame-publisher.ts";
import { RingSource } from "../../../src/pipeline/ring-source.ts";
import { testTempDir } from "../../support/temp-dirs.ts";
import { waitFor } from "../../support/wait.ts";

const NO_BUDGET_FLAGS = { policy: "drop-oldest" as const, gzipLevel: 0 };
const NO_BUDGET = { budgetBytes: 2 ** 50, minFreeBytes: 0, policy: "drop-oldest" as const, gzipLevel: 0 };
const BODY = '{"timestamp": "1788551766", "microtimestamp": "1788551766754717", "bids": [["79715.38", "0.06272315", "2046839968690178"]], "asks": []}\n';
const GAP = '{"event":"obcap:gap","channels":["live_orders_btcusd"],"data":{"start_us":"100","end_us":"100","reason":"start"}}';

function start() {
  const dir = testTempDir("journal-snapshots");
  const ring = createRing(1024 * 1024);
  const signal = createJournalSignal();
  const messages: JournalStageMessage[] = [];
  const stage = new JournalStage(
    { ring, signal, output: { kind: "segments", journal: { dir, fsyncMs: 50, segmentBytes: 64 << 20, segmentAgeMs: 3_600_000, keepMs: 0, disk: NO_BUDGET_FLAGS }, pid: 7, tee: undefined, budget: NO_BUDGET }, progressEveryMs: 100, channels: ["live_orders_btcusd"] },
    (m) => messages.push(m),
  );
  const done = stage.run();
  const producer = new RingProducer(ring);
  const lines = () => listSegments(dir).map((n) => readFileSync(segmentPath(dir, n), "utf8")).join("").split("\n").filter((l) => l !== "");
  const reports = () => messages.flatMap((m) => (m.type === "snapshot" ? [m.report] : []));
  const until = (what: string, condition: () => boolean) => waitFor(condition, { timeoutMs: 5_000, what: () => what });
  return { stage, producer, lines, reports, until, done, counters: journalCounters(signal), messages };
}

const delivery = (id: number, receivedMicros: number, body = BODY): SnapshotDelivery => ({
  id, pair: "btcusd", requestedMicros: receivedMicros - 50, receivedMicros, body: new TextEncoder().encode(body),
});

test("a snapshot waits for the run's first ring record, then goes into the journal with the body exactly and an rx no later than the ring's", async () => {
  const t = start();
  await t.until("ready", () => t.messages.some((m) => m.type === "ready"));
  t.stage.control({ type: "snapshot", snapshot: delivery(1, 500) });
  // The run's opening record (here a start gap) is the first ring record.
  t.producer.tryPushText(GAP, 100, RECORD_KIND.own);
  await t.until("the snapshot journaled", () => t.reports().length === 1);
  t.producer.tryPushText('{"data":{},"channel":"live_orders_btcusd","event":"order_created"}', 200);
  t.producer.close();
  t.stage.control({ type: "finish", leftovers: [] });
  await t.done;
  const lines = t.lines();
  expect(lines).toHaveLength(3);
  expect(lines[0]).toBe(`{"rx":100,"obcap":${GAP}}`);
  expect(lines[1]).toBe(`{"rx":100,"obcap":${buildSnapshotRecord(delivery(1, 500)).record}}`); // rx lowered to the ring's 100; the record keeps 500
  expect(lines[2]!.startsWith('{"rx":200,"m":')).toBe(true);
  const own = parseRecordedLine(lines[1]!);
  expect(own.kind === "own" && own.record.includes('"received_us":"500"')).toBe(true);
  expect(t.reports()).toEqual([{ id: 1, pair: "btcusd", outcome: "journaled", form: "text", bodyBytes: BODY.length }]);
  const done = t.messages.at(-1)!;
  expect(done.type === "done" && done.stats).toMatchObject({ ownLines: 2, snapshotLines: 1, frames: 1 });
});

test("a snapshot follows every ring record put there before it was handed over, even when the stage sees the message first", async () => {
  const t = start();
  t.producer.tryPushText(GAP, 100, RECORD_KIND.own);
  await t.until("the start record journaled", () => t.lines().length === 1);
  // The capture thread's order: a frame (or the trades channel's start record) into the ring, then the snapshot message.
  t.producer.tryPushText('{"data":{},"channel":"live_orders_btcusd","event":"order_created"}', 150);
  t.stage.control({ type: "snapshot", snapshot: delivery(5, 160) });
  await t.until("the snapshot journaled", () => t.reports().length === 1);
  t.producer.close();
  t.stage.control({ type: "finish", leftovers: [] });
  await t.done;
  const lines = t.lines();
  expect(lines).toHaveLength(3);
  expect(lines[1]!.startsWith('{"rx":150,"m":')).toBe(true);
  expect(lines[2]).toBe(`{"rx":150,"obcap":${buildSnapshotRecord(delivery(5, 160)).record}}`);
});

test("a snapshot that arrives after the journal closed is reported dropped, not lost silently", async () => {
  const t = start();
  t.producer.tryPushText(GAP, 100, RECORD_KIND.own);
  t.producer.close();
  t.stage.control({ type: "finish", leftovers: [] });
  await t.done;
  t.stage.control({ type: "snapshot", snapshot: delivery(2, 900) });
  expect(t.reports()).toEqual([{ id: 2, pair: "btcusd", outcome: "dropped", reason: "the journal was already closed", bodyBytes: BODY.length }]);
});

test("snapshots still waiting at the end are journaled before the journal closes", async () => {
  const t = start();
  t.producer.tryPushText(GAP, 100, RECORD_KIND.own);
  t.producer.close();
  t.stage.control({ type: "snapshot", snapshot: delivery(3, 900, BODY.trim()) });
  t.stage.control({ type: "finish", leftovers: [] });
  await t.done;
  expect(t.lines().filter((l) => l.includes('"obcap:snapshot"'))).toHaveLength(1);
  expect(t.reports()).toMatchObject([{ id: 3, outcome: "journaled", form: "json", bids: 1, asks: 0 }]);
});

test("without a journal (ring source), a snapshot is read as an own record before the next ring records, and the source is not done while one waits", async () => {
  const ring = createRing(65536);
  const producer = new RingProducer(ring);
  const source = new RingSource(ring, ["live_orders_btcusd"]);
  producer.tryPushText("frame-1", 10);
  const record = buildSnapshotRecord(delivery(4, 2_000)).record;
  source.addOwn(record, 20);
  const taken: Array<[string, number]> = [];
  const take = (entry: { recorded?: { kind: string } }, position: number) => void taken.push([entry.recorded!.kind, position]);
  source.read(100, false, take);
  source.read(100, false, take);
  expect(taken).toEqual([["own", 0], ["binary", 1]]);
  producer.close();
  source.finish([]);
  source.addOwn(record, 30);
  expect(source.waitForData()).toBeUndefined();
  expect(source.isDone()).toBe(false);
  while (source.read(100, true, take) > 0);
  expect(source.isDone()).toBe(true);
  expect(taken.at(-1)).toEqual(["own", 1]);
});
