/**
 * Never lose a frame, liveness part: the compiled binary against the local exchange and DynamoDB
 * Local, with default --stale-ms (3 s) and --heartbeat-ms (1 s).
 *
 * 1. The exchange goes silent (no data, no heartbeat answers, TCP open): detected within 5 s,
 *    reconnected, a "stale" gap item per channel, every event sent stored exactly once.
 * 2. The exchange drops TCP without a close frame mid-stream: reconnected, a "dropped" gap item per
 *    channel, and every event delivered is stored exactly once; events the exchange wrote to the dead
 *    socket that never arrived form one contiguous run per channel, inside the recorded gap.
 * 3. The exchange closes cleanly (close frame): reconnected at once, a "closed" gap item per channel.
 * 4. bts:request_reconnect mid-stream: make-before-break, no gap item, every event exactly once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { dynamoEndpoint, uniqueTableName } from "../support/env.ts";
import { startFakeExchange, type FakeExchange } from "../support/fake-exchange.ts";
import { channelOf } from "../support/fake-exchange-protocol.ts";
import { generateFrames } from "../support/frame-generator.ts";
import { runObcap, scanEvents, startObcap, testClient, waitForItemCount, waitUntil, type RunningObcap } from "../support/capture-harness.ts";
import { decodeItem, isGapItem, type Item } from "../../src/store/dynamodb/item-codec.ts";
import { decodeFrame, type GapEvent } from "../../src/pipeline/decode.ts";

const PAIR = "btcusd";
const CHANNELS = [`live_orders_${PAIR}`, `live_trades_${PAIR}`];
/** The bound on detecting a silent connection with the default --stale-ms 3000. */
const DETECTION_BOUND_MS = 5_000;

let endpoint: string;
let client: DynamoDBClient;

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
});
afterAll(() => client.destroy());

async function createTable(prefix: string): Promise<string> {
  const table = uniqueTableName(prefix);
  expect((await runObcap("binary", ["table", "create", "--table", table, "--endpoint", endpoint])).code).toBe(0);
  return table;
}

function startCapture(table: string, fake: FakeExchange): RunningObcap {
  return startObcap("binary", [
    "--pair", PAIR, "--table", table, "--endpoint", endpoint, "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, "--progress-s", "1",
  ]);
}

/** Resolves once the capture has subscribed every channel; the error carries the capture's log. */
async function subscribed(obcap: RunningObcap, fake: FakeExchange): Promise<void> {
  const exited = obcap.exited.then((code) => {
    throw new Error(`obcap exited with ${code} before subscribing`);
  });
  try {
    await Promise.race([fake.whenSubscribed(CHANNELS, 30_000), exited]);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; log:\n${obcap.stderr()}`);
  }
}

/**
 * Waits for `expected` items (if given), stops the capture with SIGINT (it drains everything it
 * received, then exits 0), and splits the table into events and gaps.
 */
async function stopAndRead(obcap: RunningObcap, table: string, expected?: number): Promise<{ events: string[]; gaps: GapEvent[] }> {
  try {
    if (expected !== undefined) await waitForItemCount(client, table, expected, 60_000);
  } finally {
    obcap.child.kill("SIGINT");
  }
  expect(await obcap.exited).toBe(0);
  const items = await scanEvents(client, table);
  return {
    events: items.filter((item) => !isGapItem(item)).map(decodeItem),
    gaps: items.filter(isGapItem).map(gapOf),
  };
}

/** Resolves once two progress lines in a row report the same received count (the exchange has stopped sending). */
async function receivedSettles(obcap: RunningObcap): Promise<void> {
  const counts = () => [...obcap.stderr().matchAll(/received (\d+) frames, written/g)].map((m) => Number(m[1]));
  const from = counts().length;
  await waitUntil(() => {
    const later = counts().slice(from);
    return later.length >= 2 && later.at(-1) === later.at(-2);
  }, 30_000, () => `a settled received count; log:\n${obcap.stderr()}`);
}

function gapOf(item: Item): GapEvent {
  const result = decodeFrame(decodeItem(item), 0);
  if (result.kind !== "gap") throw new Error(`gap item does not decode to a gap: ${JSON.stringify(item)}`);
  return result.gap;
}

/** Data frames the exchange wrote to some connection (control replies left out), in order. */
function dataFramesSent(fake: FakeExchange): string[] {
  return fake.sentFrames().filter((f) => !f.includes('"bts:'));
}

function counts(frames: Iterable<string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of frames) out.set(f, (out.get(f) ?? 0) + 1);
  return out;
}

/** Every frame of `expected` stored exactly once, and nothing else. */
function expectExactlyOnce(stored: readonly string[], expected: readonly string[]): void {
  const want = counts(expected);
  const got = counts(stored);
  const missing = [...want.keys()].filter((f) => got.get(f) !== want.get(f));
  const extra = [...got.keys()].filter((f) => !want.has(f));
  expect({ missing: missing.length, extra: extra.length, first: missing[0] ?? extra[0] }).toEqual({ missing: 0, extra: 0, first: undefined });
  expect(stored.length).toBe(expected.length);
}

describe("liveness of the compiled binary", () => {
  test("a silent exchange (no data, no heartbeat answers, TCP open) is detected within 5 s, replaced, and recorded as a stale gap", async () => {
    const table = await createTable("live-stale");
    await using fake = await startFakeExchange();
    const frames = generateFrames({ pairs: [PAIR], countPerPair: 3_000, seed: 21 });
    const before = frames.slice(0, 1_500);
    const after = frames.slice(1_500);
    const obcap = startCapture(table, fake);
    await subscribed(obcap, fake);
    const [firstId] = fake.connectionIds();
    expect((await fake.play(before)).notSent).toBe(0);
    await obcap.waitForLog(`received ${before.length} frames`, 30_000);

    fake.configure({ ignoreHeartbeat: true });
    const silentAtMs = Date.now();
    await obcap.waitForLog(/lost \(stale: /, DETECTION_BOUND_MS + 5_000);
    const detectedAfterMs = Date.now() - silentAtMs;
    fake.configure({ ignoreHeartbeat: false });
    expect(detectedAfterMs).toBeLessThan(DETECTION_BOUND_MS);

    await obcap.waitForLog("reconnected: connection #2", 30_000);
    await fake.waitFor(() => !fake.connectionIds().includes(firstId!), 10_000, "the stale connection closed");
    await fake.whenSubscribed(CHANNELS, 10_000);
    expect((await fake.play(after)).notSent).toBe(0);

    const { events, gaps } = await stopAndRead(obcap, table, frames.length + CHANNELS.length);
    expectExactlyOnce(events, frames);
    expectExactlyOnce(dataFramesSent(fake), frames);
    expect(gaps.map((g) => [g.channel, g.reason]).sort()).toEqual(CHANNELS.map((c) => [c, "stale"]).sort());
    for (const gap of gaps) {
      expect(gap.startMicros).toBeLessThanOrEqual(silentAtMs * 1000);
      expect(gap.endMicros).toBeGreaterThan(gap.startMicros);
      expect(gap.endMicros).toBeLessThanOrEqual(Date.now() * 1000);
    }
    expect(obcap.stderr()).toMatch(/reconnecting to .*: attempt 1 in 0 ms \(stale: /);
    expect(obcap.stderr()).toMatch(/summary: .*reconnects 1, gaps 2,/);
  }, 120_000);

  test("a TCP drop without a close frame mid-stream is replaced and recorded as a dropped gap; nothing outside it is missing", async () => {
    const table = await createTable("live-drop");
    await using fake = await startFakeExchange();
    const frames = generateFrames({ pairs: [PAIR], countPerPair: 4_000, seed: 22 });
    const obcap = startCapture(table, fake);
    await subscribed(obcap, fake);
    const playing = fake.play(frames, { ratePerSec: 2_000 });
    await obcap.waitForLog(/received [1-9]\d{2,} frames/, 30_000);
    fake.dropConnections();
    await obcap.waitForLog("reconnected: connection #2", 30_000);
    const played = await playing;
    expect(played.sent + played.notSent).toBe(frames.length);

    await receivedSettles(obcap);
    const delivered = new Set(dataFramesSent(fake));
    const { events, gaps } = await stopAndRead(obcap, table);
    expect(gaps.filter((g) => g.reason === "dropped").map((g) => g.channel).sort()).toEqual([...CHANNELS].sort());
    // Frames lost with the dead socket also break the event_id chain of the orders channel: that exact
    // proof is stored too, as at most one "chain" gap there (trades carry no event_id).
    const chainGaps = gaps.filter((g) => g.reason !== "dropped");
    expect(chainGaps.every((g) => g.reason === "chain" && g.channel.startsWith("live_orders_"))).toBe(true);
    expect(chainGaps.length).toBeLessThanOrEqual(1);
    // Every stored event was delivered, and none is stored twice.
    const storedSet = new Set(events);
    expect(storedSet.size).toBe(events.length);
    expect(events.filter((e) => !delivered.has(e))).toEqual([]);
    // Per channel, what is not stored (never delivered, or written to the dead socket and lost with it)
    // is one contiguous run of the exchange's sequence: the interval the gap item covers.
    for (const channel of CHANNELS) {
      const sequence = frames.filter((f) => channelOf(f) === channel);
      const missingAt = sequence.flatMap((f, i) => (storedSet.has(f) ? [] : [i]));
      if (missingAt.length > 0) expect(missingAt.at(-1)! - missingAt[0]! + 1).toBe(missingAt.length);
      expect(storedSet.has(sequence[0]!)).toBe(true);
      expect(storedSet.has(sequence.at(-1)!)).toBe(true);
    }
  }, 120_000);

  test("a clean close by the exchange (close frame) is replaced at once and recorded as a closed gap; the capture goes on", async () => {
    const table = await createTable("live-close");
    await using fake = await startFakeExchange();
    const frames = generateFrames({ pairs: [PAIR], countPerPair: 2_000, seed: 24 });
    const before = frames.slice(0, 1_000);
    const after = frames.slice(1_000);
    const obcap = startCapture(table, fake);
    await subscribed(obcap, fake);
    expect((await fake.play(before)).notSent).toBe(0);
    await obcap.waitForLog(`received ${before.length} frames`, 30_000);
    fake.closeConnections(1001, "going away");
    await obcap.waitForLog("reconnected: connection #2", 30_000);
    await fake.whenSubscribed(CHANNELS, 10_000);
    expect((await fake.play(after)).notSent).toBe(0);

    const { events, gaps } = await stopAndRead(obcap, table, frames.length + CHANNELS.length);
    expectExactlyOnce(events, frames);
    expect(gaps.map((g) => [g.channel, g.reason]).sort()).toEqual(CHANNELS.map((c) => [c, "closed"]).sort());
    expect(obcap.stderr()).toContain('lost (closed: code 1001 "going away")');
    expect(obcap.stderr()).not.toContain("E_EXCHANGE_CLOSED");
  }, 120_000);

  test("bts:request_reconnect mid-stream switches connections with no gap and stores every event exactly once", async () => {
    const table = await createTable("live-mbb");
    await using fake = await startFakeExchange();
    const frames = generateFrames({ pairs: [PAIR], countPerPair: 4_000, seed: 23 });
    const obcap = startCapture(table, fake);
    await subscribed(obcap, fake);
    const playing = fake.play(frames, { ratePerSec: 2_000 });
    await obcap.waitForLog(/received [1-9]\d{2,} frames/, 30_000);
    fake.requestReconnect();
    await obcap.waitForLog("switched from connection #1 to #2", 30_000);
    const played = await playing;
    expect(played).toEqual({ sent: frames.length, notSent: 0 });

    const { events, gaps } = await stopAndRead(obcap, table, frames.length);
    expect(gaps).toEqual([]);
    expectExactlyOnce(events, frames);
    expect(obcap.stderr()).not.toContain("GAP on");
    expect(obcap.stderr()).toMatch(/summary: .*reconnects 0, gaps 0,/);
  }, 120_000);
});
