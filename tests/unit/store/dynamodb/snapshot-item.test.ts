/**
 * Snapshot chunk items (src/store/dynamodb/snapshot-item.ts): keys from the content only, chunks cut
 * after whole rows and under DynamoDB's item limit (a book just over a chunk, a row longer than a
 * chunk, multi-byte text), and the way back: every chunk -> the record byte for byte, or a clear error.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ingestRecorded } from "../../../../src/pipeline/ingest.ts";
import { StoredItems } from "../../../../src/pipeline/stored-item.ts";
import { parseRecordedLine, ownLine } from "../../../../src/journal/journal-line.ts";
import { buildSnapshotRecord, readSnapshotRecord, type OrderBookSnapshotRecord } from "../../../../src/model/order-book-snapshot.ts";
import type { Item } from "../../../../src/store/dynamodb/item.ts";
import { itemProblem, itemSizeBytes } from "../../../../src/store/dynamodb/item-limits.ts";
import {
  dayBucketOf, decodeSnapshotItems, encodeSnapshotItems, isSnapshotItem, parseSnapshotSortKey, SNAPSHOT_CHUNK_BYTES,
  SnapshotAssembler, snapshotChunks, snapshotDigest,
} from "../../../../src/store/dynamodb/snapshot-item.ts";
import { decodeItem } from "../../../../src/store/dynamodb/item-decoder.ts";
import { orderBookBody, type BookRow } from "../../../support/frame-text.ts";
import { FIXTURES_DIR } from "../../../support/fixtures.ts";

const FIXTURE_BODY = readFileSync(join(FIXTURES_DIR, "rest_order_book_group2_2026-09-04_lob_decoder_test_TRIMMED.json"), "utf8").replace(/\n$/, "");
const MICROS = 1_788_551_766_754_717;

/** A group=2 body with `rows` orders per side, Python spacing like the real one. */
function book(rows: number, micros = MICROS): string {
  const side = (base: number, step: number): BookRow[] =>
    Array.from({ length: rows }, (_, i) => [`${base + step * i}.${String(i % 100).padStart(2, "0")}`, `0.${String(10_000_000 + i).slice(-8)}`, String(2_046_839_968_690_178 + i)] as const);
  return orderBookBody(micros, side(79_715, -1), side(79_716, 1));
}

/** The checked record of a body, as the decoder gives it (through the journal line). */
function snapshotOf(body: string, rx = 1_788_551_767_000_000, requested = 1_788_551_766_900_000, received = 1_788_551_766_990_000): OrderBookSnapshotRecord {
  const built = buildSnapshotRecord({ pair: "btcusd", requestedMicros: requested, receivedMicros: received, body: new TextEncoder().encode(body) });
  const read = readSnapshotRecord(built.record, rx);
  if (!read.ok) throw new Error(read.reason);
  return read.snapshot;
}

function shuffled<T>(items: readonly T[]): T[] {
  return items.map((item, i) => [(i * 7919) % 101, item] as const).sort((a, b) => a[0] - b[0]).map(([, item]) => item);
}

describe("keys", () => {
  test("pk is the pair and the UTC day of the body's microtimestamp; sk the µs, the body's digest, index/count", () => {
    const items = encodeSnapshotItems(snapshotOf(FIXTURE_BODY));
    expect(items).toHaveLength(1);
    expect(items[0]!.pk).toEqual({ S: "btcusd#snapshots#20260904" });
    expect(items[0]!.sk).toEqual({ S: `1788551766754717#${snapshotDigest(FIXTURE_BODY)}#0000/0001` });
    expect(parseSnapshotSortKey(items[0]!.sk!.S!)).toEqual({ micros: "1788551766754717", digest: snapshotDigest(FIXTURE_BODY), index: 0, count: 1 });
    expect(dayBucketOf("1788566399999999")).toBe("20260904"); // 23:59:59.999999 UTC
    expect(dayBucketOf("1788566400000000")).toBe("20260905");
  });

  test("come from the body only: two capture boxes (other receive and fetch times) write the same keys", () => {
    const body = book(2_000);
    const a = encodeSnapshotItems(snapshotOf(body, 1_788_551_767_000_000, 1_788_551_766_900_000, 1_788_551_766_950_000));
    const b = encodeSnapshotItems(snapshotOf(body, 1_788_551_769_000_000, 1_788_551_768_900_000, 1_788_551_768_980_000));
    expect(a.map((i) => [i.pk, i.sk])).toEqual(b.map((i) => [i.pk, i.sk]));
    expect(a.map((i) => i.b)).toEqual(b.map((i) => i.b));
    expect(a[0]!.rx).not.toEqual(b[0]!.rx);
  });

  test("two different books with the same microtimestamp never share a key", () => {
    const one = encodeSnapshotItems(snapshotOf(book(10)));
    const other = encodeSnapshotItems(snapshotOf(book(11)));
    expect(one[0]!.sk!.S!.slice(0, 16)).toBe(other[0]!.sk!.S!.slice(0, 16));
    expect(one[0]!.sk!.S).not.toBe(other[0]!.sk!.S);
  });

  test("a descending read of the partition meets a snapshot's last chunk first, and its key gives the count", () => {
    const items = encodeSnapshotItems(snapshotOf(book(12_000)));
    expect(items.length).toBeGreaterThan(1);
    const newestFirst = [...items].sort((a, b) => (a.sk!.S! < b.sk!.S! ? 1 : -1));
    expect(parseSnapshotSortKey(newestFirst[0]!.sk!.S!)).toMatchObject({ index: items.length - 1, count: items.length });
  });
});

describe("chunks", () => {
  test("a book under a chunk is one chunk", () => {
    expect(snapshotChunks(FIXTURE_BODY)).toEqual([FIXTURE_BODY]);
    expect(snapshotChunks(FIXTURE_BODY, FIXTURE_BODY.length)).toEqual([FIXTURE_BODY]);
  });

  test("a book just over a chunk is two, cut after the last whole row that fits", () => {
    // One byte over: every row fits in the first chunk, the closing "]}" is the second.
    expect(snapshotChunks(FIXTURE_BODY, FIXTURE_BODY.length - 1)).toEqual([FIXTURE_BODY.slice(0, -2), "]}"]);
    // Three bytes over: the last row does not fit, and is not split: it starts the second chunk.
    const lastRow = ', ["79730.00", "0.50000000", "2046839978831999"]]}';
    expect(snapshotChunks(FIXTURE_BODY, FIXTURE_BODY.length - 3)).toEqual([FIXTURE_BODY.slice(0, -lastRow.length), lastRow]);
  });

  test("every chunk but the last ends after a whole [price, amount, order_id] row, and none passes the bound", () => {
    const body = book(3_000);
    for (const maxBytes of [64, 200, 1_000, 4_096, 65_536]) {
      const chunks = snapshotChunks(body, maxBytes);
      expect(chunks.join("")).toBe(body);
      for (const [i, chunk] of chunks.entries()) {
        expect(chunk.length).toBeLessThanOrEqual(maxBytes);
        // 64 bytes is less than the head before the first row: that stretch is cut by bytes.
        if (i < chunks.length - 1 && maxBytes >= 200) expect(chunk).toMatch(/"\d+"\]$/);
      }
    }
  });

  test("at the real size: a book of about 5 MiB is ~20 items, each well under DynamoDB's 400 KB", () => {
    const body = book(55_000);
    expect(body.length).toBeGreaterThan(5_000_000);
    const items = encodeSnapshotItems(snapshotOf(body));
    expect(items.length).toBe(Math.ceil(body.length / SNAPSHOT_CHUNK_BYTES));
    for (const item of items) {
      expect(itemProblem(item)).toBeUndefined();
      expect(itemSizeBytes(item)).toBeLessThanOrEqual(SNAPSHOT_CHUNK_BYTES + 400);
    }
    expect(items.map((i) => i.b!.S).join("")).toBe(body);
  });

  test("a stretch with no row end longer than a chunk is cut by bytes, never inside a UTF-8 character", () => {
    const long = `${"ä€😀x".repeat(200)}`;
    const body = FIXTURE_BODY.replace(/\}$/, `, "note": "${long}"}`);
    for (const maxBytes of [4, 5, 7, 64, 101]) {
      const chunks = snapshotChunks(body, maxBytes);
      expect(chunks.join("")).toBe(body);
      for (const chunk of chunks) {
        expect(new TextEncoder().encode(chunk).length).toBeLessThanOrEqual(maxBytes);
        expect(chunk.isWellFormed()).toBe(true);
      }
    }
  });

  test("decimal strings stay the exchange's text, inside the body slices", () => {
    const items = encodeSnapshotItems(snapshotOf(FIXTURE_BODY));
    expect(items[0]!.b).toEqual({ S: FIXTURE_BODY });
    expect(items[0]).toMatchObject({ mt: { S: "1788551766754717" }, ts: { S: "1788551766" }, nb: { N: "4" }, na: { N: "2" }, ev: { S: "obcap:snapshot" } });
  });
});

describe("back to the record", () => {
  test("all chunks, in any order, give the record byte for byte, with the journal line's receive time", () => {
    for (const body of [FIXTURE_BODY, `${FIXTURE_BODY}\n`, book(9_000)]) {
      const rx = 1_788_551_767_123_456;
      const snapshot = snapshotOf(body, rx);
      const record = buildSnapshotRecord({ pair: "btcusd", requestedMicros: snapshot.requestedMicros, receivedMicros: snapshot.receivedMicros, body: new TextEncoder().encode(body) }).record;
      const rebuilt = decodeSnapshotItems(shuffled(encodeSnapshotItems(snapshot)));
      expect(rebuilt.record).toBe(record);
      expect(rebuilt.rxMicros).toBe(rx);
      expect(ownLine(rebuilt.rxMicros, rebuilt.record)).toBe(ownLine(rx, record));
    }
  });

  test("chunks that are not exactly one snapshot are refused, naming the keys", () => {
    const items = encodeSnapshotItems(snapshotOf(book(9_000)));
    const other = encodeSnapshotItems(snapshotOf(book(9_001)));
    expect(() => decodeSnapshotItems(items.slice(1))).toThrow(/expected chunks 0\.\./);
    expect(() => decodeSnapshotItems([...items, items[0]!])).toThrow(/expected chunks/);
    expect(() => decodeSnapshotItems([other[0]!, ...items.slice(1)])).toThrow(/expected chunks/);
    const tampered = items.map((item, i) => (i === 1 ? { ...item, b: { S: item.b!.S!.replace("0.1", "0.2") } } : item));
    expect(() => decodeSnapshotItems(tampered)).toThrow(/does not match the digest/);
    const noRx = items.map((item) => ({ ...item, rx: undefined }) as unknown as Item);
    expect(() => decodeSnapshotItems(noRx)).toThrow(/rx/);
    expect(() => decodeSnapshotItems([{ pk: { S: "btcusd#orders#2026090419#0" }, sk: { S: "x" } }])).toThrow(/not a snapshot chunk/);
    // One chunk alone is no frame: decodeItem says where to go instead.
    expect(() => decodeItem(items[0]!)).toThrow(/decodeSnapshotItems/);
    expect(isSnapshotItem(items[0]!)).toBe(true);
  });

  test("the assembler gives each snapshot of a Query page stream once complete, and an error for one cut short", () => {
    const a = encodeSnapshotItems(snapshotOf(book(9_000, MICROS)));
    const b = encodeSnapshotItems(snapshotOf(book(9_000, MICROS + 1)));
    const c = encodeSnapshotItems(snapshotOf(FIXTURE_BODY));
    const assembler = new SnapshotAssembler();
    const out = [...a, ...b.slice(0, -1), ...c].flatMap((item) => assembler.add(item)).concat(assembler.finish());
    expect(out.map((x) => (x instanceof Error ? "error" : x.bodyText.length))).toEqual([book(9_000).length, "error", FIXTURE_BODY.length]);
  });
});

describe("from the journal line (ingest, as capture and replay store it)", () => {
  test("a snapshot line becomes its chunk items and nothing else (no coverage item: day partitions are not hours)", () => {
    const body = book(9_000);
    const built = buildSnapshotRecord({ pair: "btcusd", requestedMicros: 1, receivedMicros: 2, body: new TextEncoder().encode(body) });
    const line = ownLine(1_788_551_767_000_000, built.record).slice(0, -1);
    const ingested = ingestRecorded(parseRecordedLine(line), new StoredItems(4));
    if (ingested.kind !== "items") throw new Error(JSON.stringify(ingested).slice(0, 300));
    expect(ingested.decoded.kind).toBe("snapshot");
    expect(ingested.items.every(isSnapshotItem)).toBe(true);
    expect(ingested.items).toEqual(encodeSnapshotItems(snapshotOf(body, 1_788_551_767_000_000, 1, 2)));
    // The same line again (a retry, a replay): the same items.
    expect(ingestRecorded(parseRecordedLine(line), new StoredItems(4))).toEqual(ingested);
  });

  test("a snapshot line with a bad body is a bad line with the decoder's code, like a bad frame", () => {
    const built = buildSnapshotRecord({ pair: "btcusd", requestedMicros: 1, receivedMicros: 2, body: new TextEncoder().encode(FIXTURE_BODY.replace('"0.18816587"', "0.18816587")) });
    const ingested = ingestRecorded(parseRecordedLine(ownLine(5, built.record).slice(0, -1)), new StoredItems(4));
    expect(ingested).toMatchObject({ kind: "bad", code: "E_FRAME_INVALID", rxMicros: 5 });
  });
});
