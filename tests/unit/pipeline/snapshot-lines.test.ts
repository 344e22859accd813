/**
 * Snapshot records are MiBs: the readers of journal lines give obcap's own lines their own length
 * bound (MAX_OWN_LINE_BYTES) while frames keep theirs, since no network frame is ever written in the
 * own form: the upload stage's journal source (350 KiB for frames) and replay's line splitter
 * (--max-line-kb). And the uploader counts snapshot chunks apart from "written".
 */
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { JournalSource, MAX_STORED_LINE_BYTES } from "../../../src/pipeline/journal-source.ts";
import { createJournalSignal, type JournalSettings } from "../../../src/journal/journal-protocol.ts";
import { ensureJournalDirs, segmentName, segmentPath } from "../../../src/journal/segments.ts";
import { journalLine, MAX_OWN_LINE_BYTES, ownLine, startsLikeOwnLine } from "../../../src/journal/journal-line.ts";
import { buildSnapshotRecord } from "../../../src/model/order-book-snapshot.ts";
import { LineSplitter } from "../../../src/replay/line-splitter.ts";
import type { SourceEntry } from "../../../src/pipeline/upload-source.ts";
import { ItemUploader } from "../../../src/pipeline/uploader.ts";
import { encodeSnapshotItems } from "../../../src/store/dynamodb/snapshot-item.ts";
import { readSnapshotRecord } from "../../../src/model/order-book-snapshot.ts";
import type { BatchWriter } from "../../../src/store/dynamodb/batch-writer.ts";
import type { Item } from "../../../src/store/dynamodb/item.ts";
import { orderBookBody, type BookRow } from "../../support/frame-text.ts";
import { testTempDir } from "../../support/temp-dirs.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** A group=2 body of about `bytes` bytes. */
function bigBook(bytes: number): string {
  const rows: BookRow[] = Array.from({ length: Math.ceil(bytes / 50) }, (_, i) => [`79715.${String(i % 100).padStart(2, "0")}`, "0.06272315", String(2_046_839_968_690_178 + i)] as const);
  return orderBookBody(1_788_551_766_754_717, rows, []);
}

const snapshotLine = (body: string) => ownLine(1_788_551_767_000_000, buildSnapshotRecord({ pair: "btcusd", requestedMicros: 1, receivedMicros: 2, body: enc(body) }).record);

test("startsLikeOwnLine tells the own line form by its first bytes only", () => {
  expect(startsLikeOwnLine(enc('{"rx":1788551767000000,"obcap":{"event":"obcap:gap"}}'))).toBe(true);
  expect(startsLikeOwnLine(enc('{"rx":1788551767000000,"m":{"event":"obcap:snapshot"}}'))).toBe(false);
  expect(startsLikeOwnLine(enc('{"rx":,"obcap":{}}'))).toBe(false);
  expect(startsLikeOwnLine(enc('{"event":"obcap:snapshot"}'))).toBe(false);
  expect(startsLikeOwnLine(enc('{"rx":1'))).toBe(false);
});

test("the journal source reads a snapshot line of MiBs, and still refuses a frame line over 350 KiB as E_FRAME_OVERSIZE", () => {
  const dir = testTempDir("snapshot-lines");
  ensureJournalDirs(dir);
  const big = snapshotLine(bigBook(2 * 1024 * 1024));
  const frame = journalLine(1_788_551_767_000_001, `{"event":"trade","channel":"live_trades_btcusd","data":{"x":"${"9".repeat(MAX_STORED_LINE_BYTES)}"}}`);
  writeFileSync(segmentPath(dir, segmentName(1_788_551_767_000_000, 3)), big + frame);
  const settings: JournalSettings = { dir, fsyncMs: 0, segmentBytes: 64 << 20, segmentAgeMs: 3_600_000, keepMs: 3_600_000, disk: { policy: "drop-oldest", gzipLevel: 0 } };
  const source = new JournalSource(createJournalSignal(), settings, "T", 1000, () => {});
  const entries: SourceEntry[] = [];
  while (source.read(10, true, (entry) => entries.push(entry)) > 0);
  source.end(undefined, true);
  expect(entries).toHaveLength(2);
  expect(entries[0]!.recorded?.kind).toBe("own");
  expect(entries[0]!.raw.length).toBe(big.length - 1);
  expect(entries[1]!.bad?.code).toBe("E_FRAME_OVERSIZE");
});

test("replay's splitter carries an own line past --max-line-kb up to its own bound, across chunks; a frame line past it stays a bad line", () => {
  const big = snapshotLine(bigBook(300 * 1024));
  const frame = `${journalLine(5, `{"data":"${"x".repeat(2048)}"}`)}`;
  const input = enc(big + frame + big);
  for (const chunkBytes of [1 << 20, 65_536, 7_000, 17]) {
    const splitter = new LineSplitter(0, 1, 1024, MAX_OWN_LINE_BYTES);
    const texts: string[] = [];
    const bad: string[] = [];
    for (let at = 0; at < input.length; at += chunkBytes) {
      const batch = splitter.push(input.subarray(at, at + chunkBytes));
      batch.texts.forEach((text, i) => (batch.bad?.has(i) ? bad.push(batch.bad.get(i)!) : texts.push(text)));
    }
    expect({ chunkBytes, texts: texts.map((t) => t.length), bad: bad.length }).toEqual({ chunkBytes, texts: [big.length - 1, big.length - 1], bad: 1 });
    expect(texts[0]).toBe(big.slice(0, -1));
    expect(bad[0]).toContain("longer than the 1.0 KiB limit");
  }
  // Without the own bound (the default), the snapshot line is a bad line like any other.
  const plain = new LineSplitter(0, 1, 1024);
  const batch = plain.push(input);
  expect(batch.bad?.size).toBe(3);
});

test("the uploader counts the snapshot chunks DynamoDB acknowledged, apart from the other items", async () => {
  const submitted: Item[][] = [];
  const writer = { submit: async (items: Item[], onWritten?: () => void) => { submitted.push(items); onWritten?.(); }, fatal: () => undefined, flush: async () => {} } as unknown as BatchWriter;
  const uploader = new ItemUploader<number>(writer);
  const read = readSnapshotRecord(buildSnapshotRecord({ pair: "btcusd", requestedMicros: 1, receivedMicros: 2, body: enc(bigBook(600 * 1024)) }).record, 3);
  if (!read.ok) throw new Error(read.reason);
  const chunks = encodeSnapshotItems(read.snapshot);
  expect(chunks.length).toBe(3);
  uploader.take([{ pk: { S: "btcusd#orders#2026090419#0" }, sk: { S: "a" } }], 1);
  uploader.take(chunks, 2);
  await uploader.finish();
  expect(uploader.snapshotItemsWritten).toBe(3);
  expect(uploader.acknowledged()).toBe(2);
});
