/**
 * Order book snapshots end to end: local Bitstamp-protocol exchange that knows its true book (resting
 * orders never sent as events, then every order frame it sends) -> obcap (source entry) -> journal
 * -> DynamoDB Local -> export -> replay into a second table.
 *
 * - A snapshot after subscribing and after a forced reconnect; each is the exchange's true book at
 *   that instant (the second: the initial book plus every frame sent), journaled byte for byte;
 * - the table holds their chunks, which give the journal lines back exactly; `export --format
 *   journal` writes those lines; replaying the export writes identical snapshot items (and events);
 * - a REST that answers 500 and 429 before the book: the capture receives and journals every frame
 *   meanwhile, and the snapshot lands after them, with the retries in the log.
 * Ordered by conditions (logs, the fake's state), never by sleeps.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { dynamoEndpoint } from "../support/env.ts";
import { createTestTable } from "../support/test-table.ts";
import { startFakeExchange } from "../support/fake-exchange.ts";
import { FrameGenerator } from "../support/frame-generator.ts";
import { runObcap, scanEvents, scanSnapshotItems, startObcap, testClient } from "../support/capture-harness.ts";
import { journalLines, journalRecords } from "../support/journal-harness.ts";
import { testTempDir } from "../support/temp-dirs.ts";
import { ownLine, parseRecordedLine } from "../../src/journal/journal-line.ts";
import { readSnapshotRecord } from "../../src/model/order-book-snapshot.ts";
import { decodeSnapshotItems } from "../../src/store/dynamodb/snapshot-item.ts";
import type { Item } from "../../src/store/dynamodb/item.ts";

setDefaultTimeout(300_000);

const PAIR = "btcusd";
const CHANNELS = [`live_orders_${PAIR}`, `live_trades_${PAIR}`];

let endpoint: string;
let client: DynamoDBClient;

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
});
afterAll(() => client.destroy());

/** The snapshot lines of a journal directory, in journal order. */
function snapshotLines(dir: string): string[] {
  return journalLines(dir).filter((line) => line.includes(',"obcap":{"event":"obcap:snapshot",'));
}

/** The body a snapshot line holds. */
function bodyOf(line: string): string {
  const parsed = parseRecordedLine(line);
  if (parsed.kind !== "own") throw new Error(`not an own line: ${line.slice(0, 100)}`);
  const read = readSnapshotRecord(parsed.record, parsed.rxMicros);
  if (!read.ok) throw new Error(read.reason);
  return read.snapshot.bodyText;
}

/** Each snapshot of the table rebuilt into its journal line (chunks grouped by pk and sk prefix). */
function linesOfTable(items: Item[]): string[] {
  const groups = new Map<string, Item[]>();
  for (const item of items) {
    const key = `${item.pk!.S}/${item.sk!.S!.slice(0, 49)}`;
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return [...groups.values()].map((chunks) => {
    const rebuilt = decodeSnapshotItems(chunks);
    return ownLine(rebuilt.rxMicros, rebuilt.record).slice(0, -1);
  });
}

const countOf = (text: string, re: RegExp) => text.match(new RegExp(re, "g"))?.length ?? 0;
const microsOf = (frame: string) => Number(/"microtimestamp":"(\d+)"/.exec(frame)![1]);

test("snapshots after subscribing and after a reconnect are the true book, journaled, stored in chunks, exported and replayed byte for byte", async () => {
  const table = await createTestTable(endpoint, "snap");
  // A deep book (~12,000 resting orders, ~650 KB: three chunks) that the stream changes without ever creating it.
  const generator = new FrameGenerator({ pairs: [PAIR], countPerPair: 3_000, seed: 31, initialOrdersPerPair: 12_000 });
  const initial = generator.bookSnapshot(PAIR)!;
  await using fake = await startFakeExchange({ trueBook: { initial: { [PAIR]: initial } }, recordSentFrames: false });
  const obcap = startObcap("source", [
    "--pair", PAIR, "--table", table, "--endpoint", endpoint, "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl,
    "--progress-s", "1", "--snapshot-every", "0",
  ]);
  const journal = join(obcap.cwd, "obcap-data");
  let exitCode: number;
  try {
    await fake.whenSubscribed(CHANNELS, 60_000);
    await obcap.waitForLog(/order book snapshot of btcusd \(after subscribing\): \d+ orders[^\n]*journaled/, 60_000);
    const frames = generator.nextFrames(6_000);
    frames.push(...generator.restOfStep());
    const { notSent } = await fake.play(frames);
    expect(notSent).toBe(0);
    await obcap.waitForLog(`received ${frames.length} frames`, 120_000);
    // A forced reconnect: a fresh subscription, so a fresh snapshot (the book after every frame).
    fake.dropConnections();
    await obcap.waitForLog(/order book snapshot of btcusd \(after subscribing\)[\s\S]*order book snapshot of btcusd \(after subscribing\)[^\n]*journaled/, 120_000);
    obcap.child.kill("SIGINT");
    exitCode = await obcap.exited;
  } finally {
    obcap.child.kill("SIGKILL");
  }
  expect({ exitCode, log: exitCode === 0 ? "" : obcap.stderr() }).toEqual({ exitCode: 0, log: "" });
  expect(obcap.stderr()).toContain("snapshots: fetched 2, failed 0");

  // What the exchange served, and that it was its true book: the initial one, then initial + every frame.
  const served = fake.trueBook!.servedBooks();
  expect(served.map((s) => s.path.replace(/_=\d+$/, "_=<ms>"))).toEqual(["/api/v2/order_book/btcusd/?group=2&_=<ms>", "/api/v2/order_book/btcusd/?group=2&_=<ms>"]);
  expect(served[0]!.body).toBe(initial);
  expect(served[1]!.body).toBe(generator.bookSnapshot(PAIR)!);
  expect(served[1]!.body).not.toBe(initial);

  // The journal holds both, bodies byte for byte, after the run's opening records.
  const lines = snapshotLines(journal);
  expect(lines.map(bodyOf)).toEqual(served.map((s) => s.body));
  const records = journalRecords(journal);
  expect(records.slice(0, 2).every((r) => r.kind === "own" && r.record.includes('"obcap:gap"'))).toBe(true);

  // The table holds their chunks (several per snapshot, each well under 400 KB), which give the lines back.
  const chunks = await scanSnapshotItems(client, table);
  expect(chunks.length).toBeGreaterThan(2);
  expect(chunks.every((item) => item.pk!.S === `btcusd#snapshots#${new Date(Number(JSON.parse(served[0]!.body).microtimestamp) / 1000).toISOString().slice(0, 10).replaceAll("-", "")}`)).toBe(true);
  expect(linesOfTable(chunks).sort()).toEqual([...lines].sort());

  // Export (journal form) gives the same lines, byte for byte, among the events.
  const s1 = Number(JSON.parse(served[0]!.body).microtimestamp);
  const s2 = Number(JSON.parse(served[1]!.body).microtimestamp);
  const from = Math.min(s1, s2) - 1_000_000;
  const to = Math.max(s2, s1) + 10_000_000;
  const exported = await runObcap("source", ["export", "--table", table, "--endpoint", endpoint, "--pair", PAIR, "--from", String(from), "--to", String(to), "--format", "journal"]);
  expect({ code: exported.code, err: exported.code === 0 ? "" : exported.stderr }).toEqual({ code: 0, err: "" });
  expect(exported.stderr).toContain("order book snapshots 2");
  const exportedLines = exported.stdout.split("\n").filter((l) => l !== "");
  expect(exportedLines.filter((l) => l.includes('"obcap:snapshot"'))).toEqual([...lines].sort((a, b) => bodyMicros(a) - bodyMicros(b)));
  // In place: the first snapshot before every event (its S is the last change before the stream).
  const firstEvent = exportedLines.findIndex((l) => l.includes(',"m":'));
  expect(exportedLines.findIndex((l) => l === lines[0])).toBeLessThan(firstEvent);

  // Replaying the export into a second table writes identical snapshot items, and the same events.
  const exportFile = join(testTempDir("snap-export"), "export.ndjson");
  writeFileSync(exportFile, exported.stdout);
  const copy = await createTestTable(endpoint, "snap-copy");
  const replayed = await runObcap("source", ["replay", exportFile, "--table", copy, "--endpoint", endpoint, "--checkpoint", `${exportFile}.checkpoint`]);
  expect({ code: replayed.code, err: replayed.code === 0 ? "" : replayed.stderr }).toEqual({ code: 0, err: "" });
  expect(replayed.stderr).toContain("order book snapshots 2");
  expect(await scanSnapshotItems(client, copy)).toEqual(chunks);
  const events = (await scanEvents(client, table)).filter((i) => !i.pk!.S!.endsWith("#gaps")).map((i) => JSON.stringify(i)).sort();
  const copied = (await scanEvents(client, copy)).filter((i) => !i.pk!.S!.endsWith("#gaps")).map((i) => JSON.stringify(i)).sort();
  expect(copied.length).toBe(events.length);
  expect(copied).toEqual(events);
});

function bodyMicros(line: string): number {
  return Number(JSON.parse(bodyOf(line)).microtimestamp);
}

test("a REST that answers 500 and 429 first: capture goes on meanwhile, and the snapshot lands later, after the frames", async () => {
  const table = await createTestTable(endpoint, "snap-retry");
  const generator = new FrameGenerator({ pairs: [PAIR], countPerPair: 2_000, seed: 32, initialOrdersPerPair: 50 });
  const initial = generator.bookSnapshot(PAIR)!;
  // The first order book request is held until the test has played and the capture received every
  // frame; it then fails with 500, the second with 429; the third gets the book.
  const gate = Promise.withResolvers<void>();
  let bookRequests = 0;
  await using fake = await startFakeExchange({
    trueBook: { initial: { [PAIR]: initial } },
    recordSentFrames: false,
    rest: async (_request, url) => {
      if (!url.pathname.startsWith("/api/v2/order_book/")) return undefined;
      bookRequests++;
      if (bookRequests === 1) {
        await gate.promise;
        return new Response("<html><body>500 Internal Server Error</body></html>", { status: 500 });
      }
      if (bookRequests === 2) return new Response("rate limited", { status: 429, headers: { "retry-after": "1" } });
      return undefined; // the true book
    },
  });
  const obcap = startObcap("source", [
    "--pair", PAIR, "--table", table, "--endpoint", endpoint, "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl,
    "--progress-s", "1", "--snapshot-every", "0",
  ]);
  const journal = join(obcap.cwd, "obcap-data");
  let exitCode: number;
  let frames: string[];
  try {
    await fake.whenSubscribed(CHANNELS, 60_000);
    await fake.waitFor(() => bookRequests === 1, 60_000, "the first order book request");
    frames = generator.nextFrames(4_000);
    frames.push(...generator.restOfStep());
    await fake.play(frames);
    await obcap.waitForLog(`received ${frames.length} frames`, 120_000);
    gate.resolve();
    await obcap.waitForLog(/order book snapshot of btcusd \(after subscribing\)[^\n]*\(3 attempts\); journaled/, 120_000);
    obcap.child.kill("SIGINT");
    exitCode = await obcap.exited;
  } finally {
    gate.resolve();
    obcap.child.kill("SIGKILL");
  }
  const log = obcap.stderr();
  expect({ exitCode, log: exitCode === 0 ? "" : log }).toEqual({ exitCode: 0, log: "" });
  expect(countOf(log, /order book snapshot of btcusd: attempt 1 failed \(HTTP 500\); retry 2 of 6 in \d+ ms/)).toBe(1);
  expect(countOf(log, /order book snapshot of btcusd: attempt 2 failed \(HTTP 429 \(rate limited\)\); retry 3 of 6 in \d+ ms/)).toBe(1);
  expect(log).toContain("snapshots: fetched 1, failed 0, retried requests 2");
  // Every frame was journaled while the snapshot was failing; the snapshot comes after all of them,
  // and is the book after them (the true book when the third request was answered).
  const records = journalRecords(journal);
  const snapshotAt = records.findIndex((r) => r.kind === "own" && r.record.includes('"obcap:snapshot"'));
  const journaledFrames = records.filter((r) => r.kind === "journal");
  expect(journaledFrames.length).toBe(frames.length);
  expect(records.slice(0, snapshotAt).filter((r) => r.kind === "journal").length).toBe(frames.length);
  const lines = snapshotLines(journal);
  expect(lines.map(bodyOf)).toEqual([generator.bookSnapshot(PAIR)!]);
  expect(JSON.parse(bodyOf(lines[0]!)).microtimestamp).toBe(String(Math.max(...frames.filter((f) => f.includes("live_orders")).map(microsOf))));
  // And it is in the table.
  expect(linesOfTable(await scanSnapshotItems(client, table))).toEqual(lines);
});
