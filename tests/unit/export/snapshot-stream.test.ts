/**
 * Order book snapshots in `export --format journal` (src/export/snapshot-stream.ts, the hook in
 * export-run.ts), over an in-memory table answering Query like DynamoDB: each snapshot of the range
 * comes back as the journal line the capture wrote, byte for byte, placed after the events at or
 * before its microtimestamp and before the later ones; snapshots outside [from, to), of other pairs,
 * or cut short (a chunk missing) are not written, the last reported as a bad item.
 */
import { expect, test } from "bun:test";
import { decodeFrame } from "../../../src/exchange/bitstamp/decode.ts";
import { runExport } from "../../../src/export/export-run.ts";
import { bufferedOutput } from "../../../src/export/line-output.ts";
import type { QueryFn } from "../../../src/export/partition-query.ts";
import { SnapshotStream } from "../../../src/export/snapshot-stream.ts";
import { ownLine, parseRecordedLine } from "../../../src/journal/journal-line.ts";
import { buildSnapshotRecord, readSnapshotRecord } from "../../../src/model/order-book-snapshot.ts";
import { encodeItem } from "../../../src/store/dynamodb/event-item.ts";
import type { Item } from "../../../src/store/dynamodb/item.ts";
import { encodeSnapshotItems } from "../../../src/store/dynamodb/snapshot-item.ts";
import { FrameGenerator } from "../../support/frame-generator.ts";
import { orderBookBody, type BookRow } from "../../support/frame-text.ts";

const SHARDS = 4;

function memoryQuery(items: Item[], pageItems: number): QueryFn {
  return async (pk, lo, hi, startKey) => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    const rows = items
      .filter((it) => it.pk!.S === pk && it.sk!.S! >= lo && it.sk!.S! <= hi && (startKey === undefined || it.sk!.S! > startKey.sk!.S!))
      .sort((a, b) => (a.sk!.S! < b.sk!.S! ? -1 : 1));
    const page = rows.slice(0, pageItems);
    return { items: page, lastKey: rows.length > pageItems ? { pk: page.at(-1)!.pk!, sk: page.at(-1)!.sk! } : undefined };
  };
}

/** A snapshot journal line of `pair` whose book's last change is `micros`, and its chunk items. */
function snapshot(pair: string, micros: number, rows: number, rx: number): { line: string; items: Item[] } {
  const bookRows: BookRow[] = Array.from({ length: rows }, (_, i) => [`100.${String(i % 100).padStart(2, "0")}`, "0.50000000", String(2_046_839_968_690_178 + i)] as const);
  const body = orderBookBody(micros, bookRows, []);
  const record = buildSnapshotRecord({ pair, requestedMicros: rx - 300_000, receivedMicros: rx - 1000, body: new TextEncoder().encode(body) }).record;
  const read = readSnapshotRecord(record, rx);
  if (!read.ok) throw new Error(read.reason);
  return { line: ownLine(rx, record), items: encodeSnapshotItems(read.snapshot) };
}

test("each snapshot of the range is its journal line again, after the events up to its microtimestamp; a cut one is a bad item", async () => {
  const generator = new FrameGenerator({ pairs: ["btcusd"], countPerPair: 400, seed: 3, meanGapMs: 500, trades: false });
  const frames = generator.nextFrames(400);
  const eventItems = frames.map((frame, i) => {
    const decoded = decodeFrame(frame, 1_788_551_771_000_000 + i);
    if (decoded.kind !== "event") throw new Error("not an event");
    return encodeItem(decoded.event, SHARDS);
  });
  const micros = frames.map((f) => Number(/"microtimestamp":"(\d+)"/.exec(f)![1]));
  const from = micros[0]!;
  const to = micros.at(-1)! + 1;
  // A big one (3 chunks) at an event's own time, a small one between events, one of another pair,
  // one before `from` and one at `to` (both outside), and one with a chunk missing.
  const atEvent = snapshot("btcusd", micros[100]!, 12_000, micros[100]! + 500_000);
  const between = snapshot("btcusd", micros[250]! + 1, 3, micros[250]! + 400_000);
  const otherPair = snapshot("ethusd", micros[50]!, 3, micros[50]! + 1);
  const before = snapshot("btcusd", from - 1, 3, from);
  const atTo = snapshot("btcusd", to, 3, to + 1);
  const cut = snapshot("btcusd", micros[300]!, 12_000, micros[300]! + 1);
  expect(atEvent.items.length).toBe(3);
  const table = [...eventItems, ...atEvent.items, ...between.items, ...otherPair.items, ...before.items, ...atTo.items, ...cut.items.slice(0, 2)];
  const query = memoryQuery(table, 2);
  const bad: string[] = [];
  let text = "";
  const output = bufferedOutput(async (chunk) => void (text += chunk), async () => undefined, 1000);
  const snapshots = new SnapshotStream(query, ["btcusd"], { fromMicros: from, toMicros: to }, (key, reason) => bad.push(`${key}: ${reason}`));
  await runExport({
    query, shards: SHARDS, pairs: ["btcusd"], streams: ["orders"], range: { fromMicros: from, toMicros: to }, format: "journal", output, snapshots,
    onBadItem: (key, reason) => bad.push(`${key}: ${reason}`),
  });
  await output.close();
  const lines = text.split("\n").filter(Boolean);
  const ownAt = (line: string) => lines.indexOf(line.slice(0, -1));
  expect(lines).toHaveLength(frames.length + 2);
  expect(snapshots.written).toBe(2);
  // Byte for byte, and in place: after every event at or before S, before the first one after it.
  const lastAtOrBefore = (s: number) => micros.findLastIndex((m) => m <= s);
  const eventIndex = (i: number) => lines.findIndex((line) => {
    const parsed = parseRecordedLine(line);
    return parsed.kind === "journal" && parsed.frame === frames[i];
  });
  for (const [snap, s] of [[atEvent, micros[100]!], [between, micros[250]! + 1]] as const) {
    const at = ownAt(snap.line);
    expect(at).toBeGreaterThan(eventIndex(lastAtOrBefore(s)));
    expect(at).toBeLessThan(eventIndex(lastAtOrBefore(s) + 1));
  }
  expect(ownAt(otherPair.line)).toBe(-1);
  expect(ownAt(before.line)).toBe(-1);
  expect(ownAt(atTo.line)).toBe(-1);
  expect(bad).toHaveLength(1);
  expect(bad[0]).toContain("expected chunks 0..2");
});
