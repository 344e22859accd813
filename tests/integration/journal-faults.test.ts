/**
 * Never lose a frame: the compiled binary, the local exchange and real DynamoDB Local, with faults.
 * After each fault, every event the exchange sent (or every frame journaled, after a SIGKILL) must be
 * in the table exactly once. DynamoDB Local sits behind the fault proxy for throttling and
 * UnprocessedItems; for outages a persisted instance of its own (-dbPath) is killed and restarted on
 * the same port.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { dynamoEndpoint } from "../support/env.ts";
import { startDynamoDbLocal, type DynamoDbLocal } from "../support/dynamodb-local.ts";
import { startFakeExchange, type FakeExchange } from "../support/fake-exchange.ts";
import { startFaultProxy } from "../support/fault-proxy.ts";
import { generateFrames } from "../support/frame-generator.ts";
import { startObcap, testClient, waitForItemCount, type RunningObcap } from "../support/capture-harness.ts";
import { waitFor } from "../support/wait.ts";
import { testTempDir } from "../support/temp-dirs.ts";
import { expectExactlyOnce, journaledFrames, journalLines, journalRecords, quarantineRecords, storedFrames } from "../support/journal-harness.ts";
import { createTestTable } from "../support/test-table.ts";
import { EXIT } from "../../src/base/errors.ts";

const PAIRS = ["btcusd", "ethusd"];
const CHANNELS = PAIRS.flatMap((p) => [`live_orders_${p}`, `live_trades_${p}`]);

let endpoint: string;
let client: DynamoDBClient;

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
});
afterAll(() => client.destroy());

function captureArgs(fake: FakeExchange, table: string, ddbEndpoint: string, journal: string, extra: string[] = []): string[] {
  return [
    "--pair", PAIRS.join(","), "--table", table, "--endpoint", ddbEndpoint, "--journal", journal,
    "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, "--progress-s", "1", ...extra,
  ];
}

/** Frames received according to the final summary line. */
function receivedInSummary(obcap: RunningObcap): number {
  return Number(/summary: received (\d+) frames/.exec(obcap.stderr())?.[1]);
}

async function stopCleanly(obcap: RunningObcap, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  obcap.child.kill(signal);
  expect(await obcap.exited).toBe(EXIT.ok);
}

describe("DynamoDB goes away", () => {
  let ddb: DynamoDbLocal;
  let dbPath: string;
  let ddbClient: DynamoDBClient;
  let port: number;

  beforeAll(async () => {
    dbPath = testTempDir("ddb");
    ddb = await startDynamoDbLocal({ dbPath });
    port = ddb.port;
    ddbClient = testClient(ddb.endpoint);
  }, 60_000);
  afterAll(async () => {
    ddbClient?.destroy();
    await ddb?.stop();
  }, 30_000);

  const restartDynamoDb = async () => {
    ddb = await startDynamoDbLocal({ dbPath, port });
  };

  test("unreachable at start-up: the capture goes into the journal and uploads once DynamoDB answers", async () => {
    const table = await createTestTable(ddbClient, "fault-start");
    await ddb.stop();
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const journal = testTempDir("journal");
    const obcap = startObcap("binary", captureArgs(fake, table, ddb.endpoint, journal));
    try {
      await obcap.waitForLog("capturing into the journal", 30_000);
      await fake.whenSubscribed(CHANNELS, 30_000);
      const frames = generateFrames({ pairs: PAIRS, countPerPair: 1500, seed: 40 });
      await fake.play(frames);
      await waitFor(() => journaledFrames(journal).length === frames.length, { timeoutMs: 20_000, what: () => "every frame in the journal" });
      await restartDynamoDb();
      // Items: the frames, and the start record of every channel.
      expect(await waitForItemCount(ddbClient, table, frames.length + CHANNELS.length, 90_000)).toBe(frames.length + CHANNELS.length);
      await stopCleanly(obcap);
      expectExactlyOnce(await storedFrames(ddbClient, table), frames);
    } finally {
      obcap.child.kill("SIGKILL");
    }
  }, 150_000);

  test("killed for 20 s mid-capture and restarted on the same port: no loss, the backlog drains", async () => {
    if (ddb.process.exitCode !== null || ddb.process.signalCode !== null) await restartDynamoDb();
    const table = await createTestTable(ddbClient, "fault-kill");
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const journal = testTempDir("journal");
    const obcap = startObcap("binary", captureArgs(fake, table, ddb.endpoint, journal));
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      // DynamoDB Local on disk (-dbPath) takes a few hundred items/s here: a small stream.
      const frames = generateFrames({ pairs: PAIRS, countPerPair: 1000, seed: 41 });
      const before = 600;
      await fake.play(frames.slice(0, before), { ratePerSec: 600 });
      await obcap.waitForLog(`received ${before} frames, written ${before + CHANNELS.length},`, 60_000);

      ddb.process.kill("SIGKILL");
      await new Promise((resolve) => ddb.process.once("exit", resolve));
      const outageEndsAt = Date.now() + 20_000;
      // Capture goes on during the outage: the rest arrives while DynamoDB is gone.
      await fake.play(frames.slice(before), { ratePerSec: 700 });
      await waitFor(() => journaledFrames(journal).length === frames.length, { timeoutMs: 20_000, what: () => "every frame in the journal" });
      expect(obcap.child.exitCode).toBeNull();
      // The fault itself, not an ordering sleep: DynamoDB stays away for the full 20 s, and the
      // capture must keep journaling and retrying through all of it.
      await Bun.sleep(Math.max(0, outageEndsAt - Date.now()));
      await restartDynamoDb();

      await obcap.waitForLog(`received ${frames.length} frames, written ${frames.length + CHANNELS.length},`, 120_000);
      await stopCleanly(obcap);
      expect(obcap.stderr()).toMatch(/retried requests [1-9]/);
      expectExactlyOnce(await storedFrames(ddbClient, table), frames);
    } finally {
      obcap.child.kill("SIGKILL");
    }
  }, 240_000);
});

describe("DynamoDB throttles", () => {
  test("throttling errors and partial UnprocessedItems: no loss, no duplicate", async () => {
    const table = await createTestTable(client, "fault-throttle");
    await using proxy = startFaultProxy({ target: endpoint, seed: 5, throttleShare: 0.2, partialShare: 0.3, serverErrorShare: 0.05 });
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const obcap = startObcap("binary", captureArgs(fake, table, proxy.url, testTempDir("journal")));
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      const frames = generateFrames({ pairs: PAIRS, countPerPair: 2500, seed: 42 });
      await fake.play(frames);
      await obcap.waitForLog(`received ${frames.length} frames, written ${frames.length + CHANNELS.length},`, 120_000);
      await stopCleanly(obcap);
      expect(proxy.counts.throttled).toBeGreaterThan(0);
      expect(proxy.counts.partial).toBeGreaterThan(0);
      expect(proxy.counts.unprocessedItems).toBeGreaterThan(0);
      expect(obcap.stderr()).toMatch(/unprocessed items [1-9]/);
      expectExactlyOnce(await storedFrames(client, table), frames);
    } finally {
      obcap.child.kill("SIGKILL");
    }
  }, 180_000);
});

describe("the capture process dies or is stopped", () => {
  test("SIGKILL mid-stream, then restart: everything journaled before the kill reaches the table", async () => {
    const table = await createTestTable(client, "fault-sigkill");
    const journal = testTempDir("journal");
    const frames = generateFrames({ pairs: PAIRS, countPerPair: 6000, seed: 43 });
    await using fake = await startFakeExchange({ recordSentFrames: false });
    {
      // A slow, throttled DynamoDB, so the kill leaves a backlog in the journal.
      await using proxy = startFaultProxy({ target: endpoint, seed: 6, throttleShare: 0.7 });
      const first = startObcap("binary", captureArgs(fake, table, proxy.url, journal));
      try {
        await fake.whenSubscribed(CHANNELS, 30_000);
        await fake.play(frames);
        await waitFor(() => journaledFrames(journal).length === frames.length, { timeoutMs: 30_000, what: () => "every frame in the journal" });
      } finally {
        first.child.kill("SIGKILL");
      }
      expect(await first.exited).toBe(128 + 9);
    }
    const journaled = journaledFrames(journal);
    expect(journaled).toEqual(frames);
    const storedBeforeRestart = (await storedFrames(client, table)).length;
    expect(storedBeforeRestart).toBeLessThan(journaled.length);

    const second = startObcap("binary", captureArgs(fake, table, endpoint, journal));
    try {
      await second.waitForLog("not yet in DynamoDB; uploading them first", 30_000);
      // Items: the frames, the first run's start record and the second run's restart record of every channel.
      const expected = journaled.length + 2 * CHANNELS.length;
      expect(await waitForItemCount(client, table, expected, 90_000)).toBe(expected);
      await stopCleanly(second);
    } finally {
      second.child.kill("SIGKILL");
    }
    expectExactlyOnce(await storedFrames(client, table), journaled);
  }, 180_000);

  test("SIGTERM mid-batch: exit 0, and every frame received is in the table", async () => {
    const table = await createTestTable(client, "fault-sigterm");
    // Partial answers and throttling keep batches in the middle of their retries at any moment.
    await using proxy = startFaultProxy({ target: endpoint, seed: 7, throttleShare: 0.1, partialShare: 0.3 });
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const journal = testTempDir("journal");
    const obcap = startObcap("binary", captureArgs(fake, table, proxy.url, journal));
    const frames = generateFrames({ pairs: PAIRS, countPerPair: 10_000, seed: 44 });
    const stopPlaying = new AbortController();
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      const playing = fake.play(frames, { ratePerSec: 4000, signal: stopPlaying.signal });
      await obcap.waitForLog(/written [1-9]\d{3,},/, 60_000);
      await stopCleanly(obcap);
      stopPlaying.abort();
      await playing;
    } finally {
      stopPlaying.abort();
      obcap.child.kill("SIGKILL");
    }
    const log = obcap.stderr();
    expect(log).toContain("SIGTERM: stopping, draining the queue");
    expect(log).not.toContain("are not in DynamoDB yet");
    const received = receivedInSummary(obcap);
    expect(received).toBeGreaterThan(1000);
    expect(received).toBeLessThan(frames.length);
    // One connection keeps order: what was received is a prefix of what was played.
    expect(journaledFrames(journal)).toEqual(frames.slice(0, received));
    expectExactlyOnce(await storedFrames(client, table), frames.slice(0, received));
  }, 120_000);
});

describe("bad frames", () => {
  test("malformed frames, an oversize frame and invalid UTF-8 are counted and quarantined while the capture goes on", async () => {
    const table = await createTestTable(client, "fault-bad");
    await using fake = await startFakeExchange();
    const journal = testTempDir("journal");
    const obcap = startObcap("binary", captureArgs(fake, table, endpoint, journal, ["--queue-mb", "1"]));
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      const [good1, good2, good3, good4] = generateFrames({ pairs: ["btcusd"], countPerPair: 4, seed: 45, trades: false }) as [string, string, string, string];
      const withLineBreak = good2.replace('"channel":', '\n"channel":');
      const missingPrice = good3.replace(/"price_str":"[^"]*",/, "");
      const oversize = `{"event":"order_created","channel":"live_orders_btcusd","data":{"junk":"${"x".repeat(300_000)}"}}`;
      const notUtf8 = new Uint8Array([...new TextEncoder().encode('{"event":"trade","data":{"x":"'), 0xff, 0xfe, ...new TextEncoder().encode('"}}')]);
      fake.send(good1);
      fake.send("not json{");
      fake.send(missingPrice);
      fake.send(oversize);
      fake.sendBytes(notUtf8);
      fake.send(withLineBreak);
      fake.send(good4);
      // good3 was rejected, so good4 does not chain to what is stored: one "chain" gap item.
      await obcap.waitForLog(`received 7 frames, written ${4 + CHANNELS.length},`, 30_000);
      await stopCleanly(obcap);

      const log = obcap.stderr();
      // The oversize frame never entered the queue (quarantined); the six others were journaled.
      expect(log).toContain("summary: received 7 frames = journaled 6 + oversize 1 + lost 0; events 3, written 8, rejected 3,");
      expect(log).toContain("quarantined 4");
      expectExactlyOnce(await storedFrames(client, table), [good1, good2, good4]);
      const records = quarantineRecords(journal);
      expect(records.map((r) => r.code).sort()).toEqual(["E_FRAME_INVALID", "E_FRAME_JSON", "E_FRAME_OVERSIZE", "E_FRAME_UTF8"]);
      const byCode = Object.fromEntries(records.map((r) => [r.code, r]));
      expect(byCode.E_FRAME_OVERSIZE!.frame).toBe(oversize);
      expect(String(byCode.E_FRAME_JSON!.line)).toMatch(/^\{"rx":\d{16},"m":not json\{\}$/);
      expect(String(byCode.E_FRAME_INVALID!.reason)).toContain("price_str");
      const b64 = /"b64":"([^"]+)"/.exec(String(byCode.E_FRAME_UTF8!.line))?.[1];
      expect([...Buffer.from(b64!, "base64")]).toEqual([...notUtf8]);
      // The journal kept every frame that entered the queue, the line-break one as a single line, and
      // the start record of every channel (and the order book snapshot of each pair taken after subscribing).
      expect(journalRecords(journal).filter((r) => r.kind !== "own").length).toBe(6);
      const snapshotLines = journalLines(journal).filter((line) => line.includes(',"obcap":{"event":"obcap:snapshot",'));
      expect(snapshotLines.length).toBe(CHANNELS.length / 2);
      expect(journalLines(journal).length - snapshotLines.length).toBe(6 + CHANNELS.length);
    } finally {
      obcap.child.kill("SIGKILL");
    }
  }, 60_000);
});

describe("no AWS at all", () => {
  test("without --table the journal is the output, and --out - streams the same lines to stdout", async () => {
    await using fake = await startFakeExchange();
    const obcap = startObcap("binary", ["--pair", "btcusd", "--out", "-", "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, "--progress-s", "1"], {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_REGION: undefined,
    });
    try {
      await fake.whenSubscribed(["live_orders_btcusd", "live_trades_btcusd"], 30_000);
      const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 500, seed: 46 });
      await fake.play(frames);
      // Without a table, "written" counts journal lines: the frames and a start record per channel.
      await obcap.waitForLog(`received ${frames.length} frames, written ${frames.length + 2},`, 30_000);
      await stopCleanly(obcap, "SIGINT");
      const journal = join(obcap.cwd, "obcap-data");
      expect(journaledFrames(journal)).toEqual(frames);
      expect(obcap.stdout()).toBe(`${journalLines(journal).join("\n")}\n`);
    } finally {
      obcap.child.kill("SIGKILL");
    }
  }, 60_000);
});
