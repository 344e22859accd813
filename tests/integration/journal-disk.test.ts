/**
 * The journal never fills the box's disk (issue "The journal must never fill the box's disk"): the
 * compiled binary with a disk budget of a few MiB, DynamoDB Local behind the fault proxy (hold() is a
 * DynamoDB that stops answering writes), the local exchange.
 *
 * - with a table, acknowledged segments are deleted to keep the budget and nothing is lost;
 * - during an outage, --journal-full drop-oldest (the default) drops the oldest segments not yet in
 *   DynamoDB and records each as an `evicted` gap: every frame missing from the table lies in one;
 * - --journal-full stop stops the capture (exit 3, E_JOURNAL_FULL); a restart onto a full journal frees
 *   space first (drop-oldest) instead of dying on it;
 * - closed segments are compressed, and replaying them gives the same table as the plain lines.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { dynamoEndpoint } from "../support/env.ts";
import { startFakeExchange, type FakeExchange } from "../support/fake-exchange.ts";
import { startFaultProxy } from "../support/fault-proxy.ts";
import { generateFrames } from "../support/frame-generator.ts";
import { runObcap, scanEvents, startObcap, testClient, type RunningObcap } from "../support/capture-harness.ts";
import { waitFor } from "../support/wait.ts";
import { testTempDir } from "../support/temp-dirs.ts";
import { expectExactlyOnce, gapsOfTable, storedFrames } from "../support/journal-harness.ts";
import { createTestTable } from "../support/test-table.ts";
import { isGapItem } from "../../src/store/dynamodb/gap-item.ts";
import { decodeItem, decodeItemRx } from "../../src/store/dynamodb/item-decoder.ts";
import { listSegments } from "../../src/journal/segments.ts";
import { segmentDiskBytes } from "../../src/journal/segment-sizes.ts";
import { EXIT } from "../../src/base/errors.ts";

const PAIR = "btcusd";
const CHANNELS = [`live_orders_${PAIR}`, `live_trades_${PAIR}`];
const MB = 1_000_000;

let endpoint: string;
let client: DynamoDBClient;

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
});
afterAll(() => client.destroy());

function captureArgs(fake: FakeExchange, journal: string, extra: string[]): string[] {
  return ["--pair", PAIR, "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, "--journal", journal, "--progress-s", "1", "--segment-mb", "1", ...extra];
}

const journalBytes = (dir: string) => listSegments(dir).reduce((sum, name) => sum + segmentDiskBytes(dir, name), 0);
const channelOf = (frame: string) => /"channel":"([^"]+)"/.exec(frame)![1]!;

async function lastProgress(obcap: RunningObcap, test: (line: string) => boolean, what: string): Promise<void> {
  const last = () => obcap.stderr().split("\n").filter((l) => l.includes("received ")).at(-1) ?? "";
  await waitFor(() => test(last()), { timeoutMs: 120_000, what: () => `${what}; last progress: ${last()}` });
}

describe("the journal's disk budget", () => {
  test("with a table: acknowledged segments are deleted to keep a 4 MB budget, and nothing is lost", async () => {
    const table = await createTestTable(client, "disk-acked");
    const journal = testTempDir("journal");
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const obcap = startObcap("binary", captureArgs(fake, journal, ["--table", table, "--endpoint", endpoint, "--journal-max", "4MB", "--journal-min-free", "0B", "--journal-gzip", "0"]));
    // ~10 MB of journal lines at 2,000 frames/s (1 MB/s): the checkpoint trails the journal by about a
    // second (it is written once a second), well inside the 4 MB budget, so nothing unacknowledged is at risk.
    const frames = generateFrames({ pairs: [PAIR], countPerPair: 20_000, seed: 80 });
    let maxSeen = 0;
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      const watching = setInterval(() => (maxSeen = Math.max(maxSeen, journalBytes(journal))), 200);
      await fake.play(frames, { ratePerSec: 2_000 });
      await lastProgress(obcap, (l) => l.includes(`received ${frames.length} frames`) && /upload backlog 0\.0 MiB/.test(l), "everything uploaded");
      clearInterval(watching);
    } finally {
      obcap.child.kill("SIGINT");
    }
    expect(await obcap.exited).toBe(EXIT.ok);
    expect(obcap.stderr()).toContain("journal ");
    expect(obcap.stderr()).toMatch(/budget 3\.8 MiB, keeps 0 KiB free/);
    expectExactlyOnce(await storedFrames(client, table), frames);
    // The budget is checked every 2 s: the journal may pass it by a few seconds' lines.
    expect(maxSeen).toBeLessThan(4 * MB + 3 * MB);
    expect(journalBytes(journal)).toBeLessThanOrEqual(4 * MB + 1024 * 1024);
    expect(obcap.stderr()).toMatch(/summary: received \d+ frames = journaled \d+ \+ oversize 0 \+ lost 0;/);
    expect(obcap.stderr()).not.toContain("dropped the oldest segment");
    expect(Number(/deleted \(acknowledged\) (\d+)/.exec(obcap.stderr())?.[1])).toBeGreaterThan(5);
  }, 180_000);

  test("during a DynamoDB outage, drop-oldest drops the oldest segments with an evicted gap each; every frame missing from the table lies in one", async () => {
    const table = await createTestTable(client, "disk-evict");
    const journal = testTempDir("journal");
    await using proxy = startFaultProxy({ target: endpoint });
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const args = captureArgs(fake, journal, ["--table", table, "--endpoint", proxy.url, "--journal-max", "3MB", "--journal-min-free", "0B", "--journal-gzip", "1"]);
    const frames = generateFrames({ pairs: [PAIR], countPerPair: 60_000, seed: 81 }); // ~30 MB of lines, ~5 MB at gzip -1
    const first = startObcap("binary", args);
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      await fake.play(frames.slice(0, 500));
      await lastProgress(first, (l) => /upload backlog 0\.0 MiB/.test(l) && l.includes("received 500 frames"), "the first frames uploaded");
      proxy.hold();
      await fake.play(frames.slice(500, 40_000), { ratePerSec: 8_000 });
      await first.waitForLog("dropped the oldest segment not yet in DynamoDB", 60_000);
    } finally {
      first.child.kill("SIGKILL"); // a crash in the middle of the outage
    }
    await first.exited;
    // A restart onto the full journal frees space first and captures on (it does not die on the full disk).
    const second = startObcap("binary", args);
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      await fake.play(frames.slice(40_000), { ratePerSec: 8_000 });
      await second.waitForLog(`received ${frames.length - 40_000} frames`, 60_000);
      expect(second.child.exitCode).toBeNull();
      proxy.release();
      await lastProgress(second, (l) => /upload backlog 0\.0 MiB/.test(l), "the backlog uploaded");
    } finally {
      proxy.release();
      second.child.kill("SIGINT");
    }
    expect(await second.exited).toBe(EXIT.ok);
    expect(second.stderr()).not.toMatch(/E_JOURNAL_IO|E_JOURNAL_FULL/);

    const items = await scanEvents(client, table);
    const gaps = gapsOfTable(items);
    const evicted = gaps.filter((g) => g.reason === "evicted");
    expect(new Set(evicted.map((g) => g.channel))).toEqual(new Set(CHANNELS));
    // Frames sent in order on one connection: a missing frame was received between its stored
    // neighbours, so an evicted (or, across the crash, restart) gap must overlap that span.
    const events = items.filter((i) => !isGapItem(i));
    const rxOf = new Map(events.map((i) => [decodeItem(i), decodeItemRx(i)]));
    const missing: number[] = [];
    let prevRx = Number.NEGATIVE_INFINITY;
    const uncovered: string[] = [];
    for (let i = 0; i < frames.length; i++) {
      const rx = rxOf.get(frames[i]!);
      if (rx !== undefined) {
        prevRx = rx;
        continue;
      }
      missing.push(i);
      let nextRx = Number.POSITIVE_INFINITY;
      for (let k = i + 1; k < frames.length; k++) {
        const r = rxOf.get(frames[k]!);
        if (r !== undefined) {
          nextRx = r;
          break;
        }
      }
      const covered = gaps.some((g) => g.channel === channelOf(frames[i]!) && (g.reason === "evicted" || g.reason === "restart") && g.start <= nextRx && g.end >= prevRx);
      if (!covered) uncovered.push(`#${i}`);
    }
    expect(missing.length).toBeGreaterThan(1000);
    expect({ uncovered: uncovered.slice(0, 3), count: uncovered.length }).toEqual({ uncovered: [], count: 0 });
    expectExactlyOnce(events.map(decodeItem), frames.filter((f) => rxOf.has(f)));
  }, 240_000);

  test("--journal-full stop: the capture stops with E_JOURNAL_FULL (exit 3), and a restart onto the full journal refuses at once with the same words", async () => {
    const table = await createTestTable(client, "disk-stop");
    const journal = testTempDir("journal");
    await using proxy = startFaultProxy({ target: endpoint });
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const args = captureArgs(fake, journal, ["--table", table, "--endpoint", proxy.url, "--journal-max", "2MB", "--journal-min-free", "0B", "--journal-full", "stop", "--journal-gzip", "0"]);
    const first = startObcap("binary", args);
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      proxy.hold();
      await fake.play(generateFrames({ pairs: [PAIR], countPerPair: 20_000, seed: 82 }), { ratePerSec: 8_000 });
      expect(await first.exited).toBe(EXIT.config);
    } finally {
      first.child.kill("SIGKILL");
    }
    expect(first.stderr()).toMatch(/the journal .* is full: .*--journal-full stop keeps them.*\[E_JOURNAL_FULL\]/s);
    const again = await runObcap("binary", args, {}, 30_000);
    expect(again.code).toBe(EXIT.config);
    expect(again.stderr).toContain("E_JOURNAL_FULL");
  }, 120_000);
});

describe("compressed segments", () => {
  test("closed segments are compressed; replaying them gives the same table as replaying their plain lines", async () => {
    const journal = testTempDir("journal");
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const obcap = startObcap("binary", captureArgs(fake, journal, []));
    const frames = generateFrames({ pairs: [PAIR], countPerPair: 12_000, seed: 83 }); // ~6 MB: several 1 MiB segments
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      await fake.play(frames);
      await waitFor(() => readdirSync(join(journal, "segments")).filter((f) => f.endsWith(".gz")).length >= 3, { timeoutMs: 30_000, what: () => "three compressed segments" });
    } finally {
      obcap.child.kill("SIGINT");
    }
    expect(await obcap.exited).toBe(EXIT.ok);
    const files = readdirSync(join(journal, "segments"));
    const compressed = files.filter((f) => f.endsWith(".gz"));
    expect(compressed.length).toBeGreaterThanOrEqual(3);
    // The same lines, uncompressed by any gzip reader, into a directory of plain segments.
    const plain = testTempDir("plain");
    mkdirSync(join(plain, "segments"), { recursive: true });
    for (const file of files) {
      const bytes = readFileSync(join(journal, "segments", file));
      writeFileSync(join(plain, "segments", file.replace(/\.gz$/, "")), file.endsWith(".gz") ? gunzipSync(bytes) : bytes);
    }
    const tableA = await createTestTable(client, "disk-replay-gz");
    const tableB = await createTestTable(client, "disk-replay-plain");
    expect((await runObcap("binary", ["replay", journal, "--table", tableA, "--endpoint", endpoint, "--checkpoint", join(plain, "a.cp")])).code).toBe(EXIT.ok);
    expect((await runObcap("binary", ["replay", plain, "--table", tableB, "--endpoint", endpoint, "--checkpoint", join(plain, "b.cp")])).code).toBe(EXIT.ok);
    const key = (i: Record<string, unknown>) => JSON.stringify(i, Object.keys(i).sort());
    const a = (await scanEvents(client, tableA)).map(key).sort();
    const b = (await scanEvents(client, tableB)).map(key).sort();
    expect(a).toEqual(b);
    expectExactlyOnce(await storedFrames(client, tableA), frames);
  }, 120_000);
});
