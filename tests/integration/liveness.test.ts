/**
 * Never lose a frame, liveness part: the compiled binary against the local exchange and DynamoDB
 * Local, with default --stale-ms (3 s) and --heartbeat-ms (1 s).
 *
 * 1. The exchange goes silent (no data, no heartbeat answers, TCP open): detected within 5 s,
 *    reconnected, a "stale" gap item per channel from the last event delivered to the new
 *    subscription, every event sent stored exactly once.
 * 2. The exchange drops TCP without a close frame mid-stream: reconnected, a "dropped" gap item per
 *    channel, bounded by the outage; every frame the exchange produced is stored exactly once unless
 *    its exchange time lies inside a gap of its channel (written to the dead socket and lost with it,
 *    or produced while no connection was subscribed).
 * 3. The exchange closes cleanly (close frame): reconnected at once, a "closed" gap item per channel
 *    covering only the switch, the capture goes on.
 * 4. bts:request_reconnect mid-stream: make-before-break, no gap item, every event exactly once.
 *
 * Scenarios 1-3 play frames on the wall clock (paced-play.ts): each goes out LATENCY_MS after its own
 * exchange time, as the real feed does, so the exchange times of missing frames can be compared with
 * the gap records (which mix exchange and receive times: docs/data-model.md "Gap items").
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { dynamoEndpoint } from "../support/env.ts";
import { createTestTable } from "../support/test-table.ts";
import { startFakeExchange, type FakeExchange } from "../support/fake-exchange.ts";
import { channelOf } from "../support/fake-exchange-protocol.ts";
import { FrameGenerator, generateFrames } from "../support/frame-generator.ts";
import { exchangeMicros, playPaced } from "../support/paced-play.ts";
import { scanEvents, startObcap, testClient, waitForItemCount, type RunningObcap } from "../support/capture-harness.ts";
import { waitFor } from "../support/wait.ts";
import { channelName } from "../../src/model/channels.ts";
import { isGapItem } from "../../src/store/dynamodb/gap-item.ts";
import { decodeItem } from "../../src/store/dynamodb/item-decoder.ts";
import { GAP_ATTRIBUTES } from "../../src/store/dynamodb/item-fields.ts";
import type { Item } from "../../src/store/dynamodb/item.ts";
import { parseGapPartitionKey } from "../../src/store/dynamodb/keys.ts";

const PAIR = "btcusd";
const CHANNELS = [`live_orders_${PAIR}`, `live_trades_${PAIR}`];
/** The bound on detecting a silent connection with the default --stale-ms 3000. */
const DETECTION_BOUND_MS = 5_000;
/**
 * Paced frames go out this long after their exchange time. It must exceed the difference between this
 * process's Date.now() and obcap's receive clock (performance.timeOrigin + now(), same host: measured
 * 0.2-0.9 ms), so no frame is received before its exchange time; the real feed's latency is larger.
 */
const LATENCY_MS = 20;
/** Exchange time between generator steps in paced runs: about 2,000 frames/s, a busy btcusd, with bursts. */
const PACED_STEP_MS = 0.75;
/**
 * How long before the drop the dead connection's last delivered event may lie. A gap starts at that
 * event's exchange time; it is older than the drop by LATENCY_MS plus what obcap had not read yet
 * (docs/data-model.md measured up to 160 ms of frames in the socket at 2,000 frames/s). 1 s leaves room
 * for a slow shared box running DynamoDB Local; a gap starting earlier is not "the outage" any more.
 */
const READ_BEHIND_MS = 1_000;
/** Between Date.now() here and obcap's clock (see LATENCY_MS), and Date.now()'s truncation to ms. */
const CLOCK_SLACK_MS = 5;
/** "Replaced at once": from a clean close to the new subscription on loopback takes milliseconds; 2 s allows a loaded box. */
const IMMEDIATE_RECONNECT_MS = 2_000;

let endpoint: string;
let client: DynamoDBClient;

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
});
afterAll(() => client.destroy());

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
async function stopAndRead(obcap: RunningObcap, table: string, expected?: number): Promise<{ events: string[]; gaps: StoredGap[] }> {
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
  await waitFor(() => {
    const later = counts().slice(from);
    return later.length >= 2 && later.at(-1) === later.at(-2);
  }, { timeoutMs: 30_000, what: () => `a settled received count; log:\n${obcap.stderr()}` });
}

/** A gap record as stored: pk `<pair>#<stream>#gaps`, start `gs`, end `ge` (µs), reason `gr`. */
interface StoredGap {
  channel: string;
  startMicros: number;
  endMicros: number;
  reason: string;
}

function gapOf(item: Item): StoredGap {
  const parts = parseGapPartitionKey(item.pk?.S ?? "");
  const start = item[GAP_ATTRIBUTES.start]?.N;
  const end = item[GAP_ATTRIBUTES.end]?.N;
  const reason = item[GAP_ATTRIBUTES.reason]?.S;
  if (parts === undefined || start === undefined || end === undefined || reason === undefined) {
    throw new Error(`not a gap item: ${JSON.stringify(item)}`);
  }
  return { channel: channelName(parts.stream, parts.pair), startMicros: Number(start), endMicros: Number(end), reason };
}

/**
 * The gap records that say events may be missing. A record of reason "start" (a capture's first
 * subscription, start == end, if the capture writes one) marks where coverage begins, not a hole.
 */
function holesOf(gaps: readonly StoredGap[]): StoredGap[] {
  return gaps.filter((g) => g.reason !== "start");
}

/** Frames of one pair produced from now on, for playPaced: exchange times track the wall clock. */
function pacedGenerator(countPerPair: number, seed: number): FrameGenerator {
  return new FrameGenerator({ pairs: [PAIR], countPerPair, seed, startMicros: Date.now() * 1000, meanGapMs: PACED_STEP_MS });
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

/**
 * What a gap record promises a reader: of the frames the exchange produced (`produced`, also those it
 * never sent because no connection was subscribed), each one whose exchange time lies outside every
 * gap [start, end] of its channel is stored exactly once; a frame missing from the table has its
 * exchange time inside a gap of its channel. Nothing is stored twice, nothing that was not produced is
 * stored. Exchange time (`microtimestamp`) is what a reader compares with a gap (data-model.md).
 * Returns the missing frames.
 */
function expectMissingOnlyInsideGaps(stored: readonly string[], produced: readonly string[], gaps: readonly StoredGap[]): string[] {
  const storedCounts = counts(stored);
  const producedSet = new Set(produced);
  const insideGap = (frame: string) => {
    const channel = channelOf(frame);
    const micros = exchangeMicros(frame);
    return gaps.some((g) => g.channel === channel && g.startMicros <= micros && micros <= g.endMicros);
  };
  const missing = produced.filter((f) => !storedCounts.has(f));
  const missingOutside = missing.filter((f) => !insideGap(f));
  const twice = [...storedCounts].filter(([, n]) => n > 1).map(([f]) => f);
  const unknown = stored.filter((f) => !producedSet.has(f));
  expect({ missingOutsideGaps: missingOutside.length, storedTwice: twice.length, notProduced: unknown.length, first: missingOutside[0] ?? twice[0] ?? unknown[0] })
    .toEqual({ missingOutsideGaps: 0, storedTwice: 0, notProduced: 0, first: undefined });
  return missing;
}

describe("liveness of the compiled binary", () => {
  test("a silent exchange (no data, no heartbeat answers, TCP open) is detected within 5 s, replaced, and recorded as a stale gap", async () => {
    const table = await createTestTable(client, "live-stale");
    await using fake = await startFakeExchange();
    const obcap = startCapture(table, fake);
    await subscribed(obcap, fake);
    const [firstId] = fake.connectionIds();
    const generator = pacedGenerator(3_000, 21);
    const before = [...generator.nextFrames(1_500), ...generator.restOfStep()];
    expect((await playPaced(fake, before, { latencyMs: LATENCY_MS })).notSent).toBe(0);
    await obcap.waitForLog(`received ${before.length} frames`, 30_000);

    fake.configure({ ignoreHeartbeat: true });
    const silentAtMs = Date.now();
    await obcap.waitForLog(/lost \(stale: /, DETECTION_BOUND_MS + 5_000);
    const detectedAfterMs = Date.now() - silentAtMs;
    fake.configure({ ignoreHeartbeat: false });
    expect(detectedAfterMs).toBeLessThan(DETECTION_BOUND_MS);

    await obcap.waitForLog("reconnected: connection #2", 30_000);
    const reconnectedAtMs = Date.now();
    await fake.waitFor(() => !fake.connectionIds().includes(firstId!), 10_000, "the stale connection closed");
    await fake.whenSubscribed(CHANNELS, 10_000);
    // The market goes on after the outage: the rest of the stream is timed from now.
    generator.advanceTo((Date.now() + CLOCK_SLACK_MS) * 1000);
    const after = [...generator];
    expect((await playPaced(fake, after, { latencyMs: LATENCY_MS })).notSent).toBe(0);
    const frames = [...before, ...after];

    const { events, gaps } = await stopAndRead(obcap, table, frames.length + CHANNELS.length);
    expectExactlyOnce(events, frames);
    expectExactlyOnce(dataFramesSent(fake), frames);
    const holes = holesOf(gaps);
    expect(holes.map((g) => [g.channel, g.reason]).sort()).toEqual(CHANNELS.map((c) => [c, "stale"]).sort());
    for (const gap of holes) {
      // From the last event the silent connection delivered: its exchange time, which is earlier than
      // the receive time of the connection's last frame (a heartbeat answer)...
      expect(gap.startMicros).toBe(exchangeMicros(before.at(-1)!));
      // ...over the silence, to the new subscription's acknowledgement, logged before we saw it.
      expect(gap.endMicros).toBeGreaterThan(silentAtMs * 1000);
      expect(gap.endMicros).toBeLessThanOrEqual((reconnectedAtMs + CLOCK_SLACK_MS) * 1000);
    }
    // Events after the outage lie after the gap: a reader finds them trusted.
    expect(after.every((f) => holes.every((g) => exchangeMicros(f) > g.endMicros))).toBe(true);
    expectMissingOnlyInsideGaps(events, frames, holes);
    expect(obcap.stderr()).toMatch(/reconnecting to .*: attempt 1 in 0 ms \(stale: /);
    expect(obcap.stderr()).toMatch(/summary: .*reconnects 1, gaps 2,/);
  }, 120_000);

  test("a TCP drop without a close frame mid-stream is replaced and recorded as a dropped gap; nothing outside it is missing", async () => {
    const table = await createTestTable(client, "live-drop");
    await using fake = await startFakeExchange();
    const obcap = startCapture(table, fake);
    await subscribed(obcap, fake);
    const frames = pacedGenerator(4_000, 22).nextFrames(4_000);
    const playing = playPaced(fake, frames, { latencyMs: LATENCY_MS });
    await obcap.waitForLog(/received [1-9]\d{2,} frames/, 30_000);
    // The new subscriptions take 50 ms to be acknowledged (the real server answered 29 within 147 ms):
    // some 80 frames are produced while no connection is subscribed, and must fall inside the gap.
    fake.configure({ ackDelayMs: 50 });
    const droppedAtMs = Date.now();
    fake.dropConnections();
    await obcap.waitForLog("reconnected: connection #2", 30_000);
    const reconnectedAtMs = Date.now();
    const played = await playing;
    expect(played.sent + played.notSent).toBe(frames.length);

    await receivedSettles(obcap);
    const delivered = new Set(dataFramesSent(fake));
    const { events, gaps } = await stopAndRead(obcap, table);
    const holes = holesOf(gaps);
    // One "dropped" gap per channel. Frames lost with the dead socket also break the event_id chain of
    // the orders channel: that exact proof is stored too, as at most one "chain" gap there (trades
    // carry no event_id).
    const dropped = holes.filter((g) => g.reason === "dropped");
    expect(dropped.map((g) => g.channel).sort()).toEqual([...CHANNELS].sort());
    const chainGaps = holes.filter((g) => g.reason !== "dropped");
    expect(chainGaps.every((g) => g.reason === "chain" && g.channel.startsWith("live_orders_"))).toBe(true);
    expect(chainGaps.length).toBeLessThanOrEqual(1);
    for (const gap of dropped) {
      // It covers the drop: from the exchange time of the last event the dead connection delivered
      // (stored), to the new subscription's acknowledgement (logged before we saw it).
      expect(gap.startMicros).toBeLessThanOrEqual(droppedAtMs * 1000);
      expect(gap.endMicros).toBeGreaterThanOrEqual(droppedAtMs * 1000);
      expect(events.some((e) => exchangeMicros(e) === gap.startMicros)).toBe(true);
    }
    for (const gap of holes) {
      // And no more than the outage: not absurdly wide.
      expect(gap.startMicros).toBeGreaterThanOrEqual((droppedAtMs - READ_BEHIND_MS) * 1000);
      expect(gap.endMicros).toBeLessThanOrEqual((reconnectedAtMs + CLOCK_SLACK_MS) * 1000);
    }
    // Every stored event was delivered. Every frame the exchange produced (sent to a connection that
    // died, or not sent at all while nothing was subscribed) is stored exactly once, unless its
    // exchange time lies inside a gap of its channel.
    expect(events.filter((e) => !delivered.has(e))).toEqual([]);
    const missing = new Set(expectMissingOnlyInsideGaps(events, frames, holes));
    expect(missing.size).toBeGreaterThanOrEqual(10);
    // What is missing is, per channel, one contiguous run of the exchange's sequence, and the stream
    // goes on after it.
    for (const channel of CHANNELS) {
      const sequence = frames.filter((f) => channelOf(f) === channel);
      const missingAt = sequence.flatMap((f, i) => (missing.has(f) ? [i] : []));
      if (missingAt.length > 0) expect(missingAt.at(-1)! - missingAt[0]! + 1).toBe(missingAt.length);
      expect(missing.has(sequence[0]!)).toBe(false);
      expect(missing.has(sequence.at(-1)!)).toBe(false);
    }
  }, 120_000);

  test("a clean close by the exchange (close frame) is replaced at once and recorded as a closed gap; the capture goes on", async () => {
    const table = await createTestTable(client, "live-close");
    await using fake = await startFakeExchange();
    const obcap = startCapture(table, fake);
    await subscribed(obcap, fake);
    const generator = pacedGenerator(2_000, 24);
    const before = [...generator.nextFrames(1_000), ...generator.restOfStep()];
    expect((await playPaced(fake, before, { latencyMs: LATENCY_MS })).notSent).toBe(0);
    await obcap.waitForLog(`received ${before.length} frames`, 30_000);
    const closedAtMs = Date.now();
    fake.closeConnections(1001, "going away");
    await obcap.waitForLog("reconnected: connection #2", 30_000);
    const reconnectedAtMs = Date.now();
    await fake.whenSubscribed(CHANNELS, 10_000);
    generator.advanceTo((Date.now() + CLOCK_SLACK_MS) * 1000);
    const after = [...generator];
    expect((await playPaced(fake, after, { latencyMs: LATENCY_MS })).notSent).toBe(0);
    const frames = [...before, ...after];

    const { events, gaps } = await stopAndRead(obcap, table, frames.length + CHANNELS.length);
    expectExactlyOnce(events, frames);
    const holes = holesOf(gaps);
    expect(holes.map((g) => [g.channel, g.reason]).sort()).toEqual(CHANNELS.map((c) => [c, "closed"]).sort());
    for (const gap of holes) {
      // From the last event the closed connection delivered to the new subscription, which came at once.
      expect(gap.startMicros).toBe(exchangeMicros(before.at(-1)!));
      expect(gap.endMicros).toBeGreaterThanOrEqual(closedAtMs * 1000);
      expect(gap.endMicros).toBeLessThanOrEqual((reconnectedAtMs + CLOCK_SLACK_MS) * 1000);
      expect(gap.endMicros - closedAtMs * 1000).toBeLessThan(IMMEDIATE_RECONNECT_MS * 1000);
    }
    // The capture goes on: everything after the switch is stored, outside the gap.
    expect(after.every((f) => holes.every((g) => exchangeMicros(f) > g.endMicros))).toBe(true);
    expectMissingOnlyInsideGaps(events, frames, holes);
    expect(obcap.stderr()).toMatch(/reconnecting to .*: attempt 1 in 0 ms \(closed: /);
    expect(obcap.stderr()).toContain('lost (closed: code 1001 "going away")');
    expect(obcap.stderr()).not.toContain("E_EXCHANGE_CLOSED");
  }, 120_000);

  test("bts:request_reconnect mid-stream switches connections with no gap and stores every event exactly once", async () => {
    const table = await createTestTable(client, "live-mbb");
    await using fake = await startFakeExchange();
    const frames = generateFrames({ pairs: [PAIR], countPerPair: 4_000, seed: 23 });
    const obcap = startCapture(table, fake);
    await subscribed(obcap, fake);
    const [firstId] = fake.connectionIds();
    const playing = fake.play(frames, { ratePerSec: 2_000 });
    await obcap.waitForLog(/received [1-9]\d{2,} frames/, 30_000);
    fake.requestReconnect();
    await obcap.waitForLog("switched from connection #1 to #2", 30_000);
    // Mid-stream: part of the stream was still to come when the switch was done.
    const sentBySwitch = new Set(dataFramesSent(fake)).size;
    expect(sentBySwitch).toBeLessThan(frames.length);
    await fake.waitFor(() => !fake.connectionIds().includes(firstId!), 10_000, "the old connection closed");
    const played = await playing;
    expect(played).toEqual({ sent: frames.length, notSent: 0 });

    const { events, gaps } = await stopAndRead(obcap, table, frames.length);
    expect(holesOf(gaps)).toEqual([]);
    expectExactlyOnce(events, frames);
    expect(obcap.stderr()).not.toContain("GAP on");
    expect(obcap.stderr()).toMatch(/summary: .*reconnects 0, gaps 0,/);
  }, 120_000);
});
