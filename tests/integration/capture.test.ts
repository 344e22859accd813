/**
 * End to end: local Bitstamp-protocol exchange -> obcap (compiled binary and source entry) ->
 * DynamoDB Local. Afterwards the table must hold every event sent exactly once, with the exact
 * values, and nothing else.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { dynamoEndpoint } from "../support/env.ts";
import { createTestTable } from "../support/test-table.ts";
import { startFakeExchange, type FakeExchange } from "../support/fake-exchange.ts";
import { generateFrames } from "../support/frame-generator.ts";
import { orderAndTradeFrames } from "../support/fixtures.ts";
import { canonicalJson } from "../support/exact-compare.ts";
import { scanEvents, startObcap, testClient, type Entry } from "../support/capture-harness.ts";
import { decodeItem, decodeItemRx } from "../../src/store/dynamodb/item-decoder.ts";
import { expectedChainGaps } from "../support/expected-gaps.ts";
import type { TableLayout } from "../../src/store/dynamodb/table-metadata.ts";

const PAIRS = ["btcusd", "ethusd"];
const CHANNELS = PAIRS.flatMap((p) => [`live_orders_${p}`, `live_trades_${p}`]);

let endpoint: string;
let client: DynamoDBClient;

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
});
afterAll(() => client.destroy());

/** Real recorded order and trade frames of the captured pairs, then generated ones (ids above 2^53 included). */
function framesFor(countPerPair: number, seed: number): string[] {
  const real = orderAndTradeFrames().filter((f) => CHANNELS.some((c) => f.includes(`"${c}"`)));
  expect(real.length).toBeGreaterThanOrEqual(7);
  return [...real, ...generateFrames({ pairs: PAIRS, countPerPair, seed, hugeIds: true })];
}

function captureArgs(table: string, fake: FakeExchange): string[] {
  return ["--pair", PAIRS.join(","), "--table", table, "--endpoint", endpoint, "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, "--progress-s", "1"];
}

/** Multiset of canonical frames. */
function tally(frames: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const f of frames) {
    const key = canonicalJson(f);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

function expectSameMultiset(stored: Map<string, number>, sent: Map<string, number>): void {
  const missing = [...sent].filter(([k, n]) => (stored.get(k) ?? 0) < n).map(([k]) => k);
  const extra = [...stored].filter(([k, n]) => n > (sent.get(k) ?? 0)).map(([k]) => k);
  expect({ missing: missing.slice(0, 3), missingCount: missing.length }).toEqual({ missing: [], missingCount: 0 });
  expect({ extra: extra.slice(0, 3), extraCount: extra.length }).toEqual({ extra: [], extraCount: 0 });
}

describe.each([
  ["binary", 25_000, "event"],
  ["source", 2_500, "event"],
  ["binary", 25_000, "packed"],
] as [Entry, number, TableLayout][])("capture through the %s (%d per pair, %s layout)", (entry, countPerPair, layout) => {
  test(`stores every event of ${countPerPair * 2}+ sent across 2 pairs exactly once with exact values`, async () => {
    // The user's path from the start: `obcap table create` of the same entry makes the table.
    const table = await createTestTable(endpoint, `cap-${entry}`, { cli: entry, layout });
    const frames = framesFor(countPerPair, entry === "binary" ? 11 : 12);
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const startedMicros = Date.now() * 1000;
    const obcap = startObcap(entry, captureArgs(table, fake));
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      const { sent, notSent } = await fake.play(frames);
      expect({ sent, notSent }).toEqual({ sent: frames.length, notSent: 0 });
      // The progress line says when everything is acknowledged (scanning the table meanwhile would
      // slow DynamoDB Local down).
      // The real fixture frames of different days break the event_id chain: each break is a gap item;
      // and a first run opens every channel with a `start` record.
      await obcap.waitForLog(`received ${frames.length} frames, written ${frames.length + expectedChainGaps(frames) + CHANNELS.length},`, 180_000);
    } finally {
      obcap.child.kill("SIGINT");
    }
    expect(await obcap.exited).toBe(0);
    const endedMicros = Date.now() * 1000;
    expect(obcap.stderr()).toContain(`received ${frames.length} frames`);

    const all = await scanEvents(client, table);
    const gaps = all.filter((item) => item.pk!.S!.endsWith("#gaps"));
    const items = all.filter((item) => !item.pk!.S!.endsWith("#gaps"));
    const reasons = gaps.map((gap) => JSON.parse(decodeItem(gap)) as { channels: string[]; data: { reason: string; start_us: string; end_us: string } });
    expect(reasons.filter((g) => g.data.reason === "chain").length).toBe(expectedChainGaps(frames));
    // The first run in a journal directory: a start record per channel, where its coverage begins.
    const starts = reasons.filter((g) => g.data.reason === "start");
    expect(starts.flatMap((g) => g.channels).sort()).toEqual([...CHANNELS].sort());
    for (const s of starts) expect(s.data.start_us).toBe(s.data.end_us);
    expect(reasons.length).toBe(expectedChainGaps(frames) + CHANNELS.length);
    expect(items.length).toBe(frames.length);
    expectSameMultiset(tally(items.map(decodeItem)), tally(frames));
    for (const item of items) {
      const rx = decodeItemRx(item);
      expect(rx).toBeGreaterThanOrEqual(startedMicros);
      expect(rx).toBeLessThanOrEqual(endedMicros);
    }
    // One connection carried every channel, each subscribed once.
    expect(fake.clientFrames().filter((f) => f.includes("bts:subscribe")).length).toBe(CHANNELS.length);
  }, 300_000);
});

test("SIGINT mid-stream stores exactly the frames received before it, then exits 0", async () => {
  const table = await createTestTable(client, "cap-sigint");
  const frames = generateFrames({ pairs: PAIRS, countPerPair: 20_000, seed: 13 });
  await using fake = await startFakeExchange({ recordSentFrames: false });
  const obcap = startObcap("binary", captureArgs(table, fake));
  await fake.whenSubscribed(CHANNELS, 30_000);
  const stop = new AbortController();
  const playing = fake.play(frames, { ratePerSec: 10_000, signal: stop.signal });
  // Stop once part of the stream is stored, while frames are still arriving.
  await obcap.waitForLog(/written [1-9]\d{3,},/, 60_000);
  obcap.child.kill("SIGINT");
  expect(await obcap.exited).toBe(0);
  stop.abort();
  expect(obcap.stderr()).toContain("SIGINT: stopping, draining the queue");
  await playing;

  const received = Number(/summary: received (\d+) frames/.exec(obcap.stderr())?.[1]);
  expect(received).toBeGreaterThan(2_000);
  expect(received).toBeLessThan(frames.length);
  // The summary's figures add up: everything received was journaled.
  expect(obcap.stderr()).toContain(`summary: received ${received} frames = journaled ${received} + oversize 0 + lost 0;`);
  const items = (await scanEvents(client, table)).filter((item) => !item.pk!.S!.endsWith("#gaps"));
  // One connection keeps order, so what was received is a prefix of what was played.
  expectSameMultiset(tally(items.map(decodeItem)), tally(frames.slice(0, received)));
}, 180_000);
