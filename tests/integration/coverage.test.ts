/**
 * Coverage records end to end against DynamoDB Local (docs/data-model.md "Coverage items"):
 * - every writer writes them: a capture, a replay of its journal (the identical items), two replays
 *   at once;
 * - export lists the hours from them: over 2020-01-01..2027-01-01 a table holding two hours costs a
 *   handful of Queries (counted by the export summary), and gives exactly the frames;
 * - a table written before they existed: export probes every hour and says how to fix it;
 *   `obcap table coverage` rebuilds the identical items, marks the table, and a second run writes
 *   nothing; then export lists again, and `listPairs` / `listCoverage` answer from them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BatchWriteItemCommand, GetItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EXIT } from "../../src/base/errors.ts";
import { journalLine } from "../../src/journal/journal-line.ts";
import { COVERAGE_PK, listCoverage, listPairs } from "../../src/store/dynamodb/coverage.ts";
import { META_KEY } from "../../src/store/dynamodb/keys.ts";
import { dynamoEndpoint } from "../support/env.ts";
import { createTestTable } from "../support/test-table.ts";
import { startFakeExchange } from "../support/fake-exchange.ts";
import { generateFrames } from "../support/frame-generator.ts";
import { expectedChainGaps } from "../support/expected-gaps.ts";
import { runObcap, scanCoverage, scanEvents, startObcap, testClient } from "../support/capture-harness.ts";
import { testTempDir } from "../support/temp-dirs.ts";

type Item = Record<string, AttributeValue>;

let endpoint: string;
let client: DynamoDBClient;
let dir: string;

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
  dir = testTempDir("coverage-it");
});
afterAll(() => {
  client.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const linesOf = (stdout: string) => stdout.split("\n").filter((l) => l !== "");
const micros = (frame: string) => Number(/"microtimestamp":"(\d+)"/.exec(frame)![1]);
const channelOf = (frame: string) => /"channel":"live_(orders|trades)_([^"]+)"/.exec(frame)!;

/** `YYYYMMDDHH` of a µs time, computed here (not with obcap's keys.ts) so a wrong bucket fails. */
function hourOf(us: number): string {
  const iso = new Date(Math.floor(us / 1000)).toISOString();
  return iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13);
}

/** The coverage keys the frames must produce: one per (pair, stream, hour). */
function hourKeysOf(frames: readonly string[]): string[] {
  return [...new Set(frames.map((f) => {
    const [, stream, pair] = channelOf(f);
    return `${pair}#${stream}#${hourOf(micros(f))}`;
  }))].sort();
}

/** The item every writer must write for `sk`, attribute for attribute. */
const coverageItem = (sk: string): Item => ({ pk: { S: COVERAGE_PK }, sk: { S: sk }, ev: { S: "obcap:coverage" } });

function replay(args: string[]) {
  return runObcap("source", ["replay", ...args, "--endpoint", endpoint, "--checkpoint", join(dir, `${Math.random().toString(36).slice(2)}.checkpoint`)], {}, 120_000);
}

function exportRange(table: string, pairs: string, from: string, to: string) {
  return runObcap("source", ["export", "--table", table, "--pair", pairs, "--from", from, "--to", to, "--endpoint", endpoint], {}, 120_000);
}

/** The figures of an export's summary line. */
function exportSummary(stderr: string): { frames: number; hours: number; partitions: number; queries: number; seconds: number } {
  const m = /export summary: frames (\d+).*?, hours (\d+), partitions (\d+), queries (\d+).*elapsed ([\d.]+) s/.exec(stderr);
  if (!m) throw new Error(`no export summary in:\n${stderr}`);
  return { frames: Number(m[1]), hours: Number(m[2]), partitions: Number(m[3]), queries: Number(m[4]), seconds: Number(m[5]) };
}

/**
 * Frames of `pairs` within the hour starting at `startMicros`, in the 2022 layout (no event_id chain,
 * so frames of several calls put together break no chain: no chain gap records beside them).
 */
function hourOfFrames(pairs: string[], startMicros: number, seed: number): string[] {
  const frames = generateFrames({ pairs, countPerPair: 150, seed, meanGapMs: 1_000, startMicros, orderFormat: "2022" });
  expect(new Set(frames.map((f) => hourOf(micros(f)))).size).toBe(1);
  return frames;
}

function writeJournal(name: string, frames: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, frames.map((f, i) => journalLine(1_700_000_000_000_000 + i, f)).join(""));
  return path;
}

describe("every writer writes coverage records", () => {
  test("a capture writes one per (pair, stream, hour) and per channel with gap records; a replay of its journal writes the identical items", async () => {
    const pairs = ["btcusd", "ethusd"];
    const channels = pairs.flatMap((p) => [`live_orders_${p}`, `live_trades_${p}`]);
    // About three hours of exchange time.
    const frames = generateFrames({ pairs, countPerPair: 400, seed: 41, meanGapMs: 15_000 });
    const expected = [...hourKeysOf(frames), ...pairs.flatMap((p) => [`${p}#orders#gaps`, `${p}#trades#gaps`])].sort();
    expect(expected.length).toBeGreaterThanOrEqual(4 * 3 + 4);

    const tableA = await createTestTable(client, "cov-capture");
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const obcap = startObcap("source", ["--pair", pairs.join(","), "--table", tableA, "--endpoint", endpoint, "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, "--progress-s", "1"]);
    try {
      await fake.whenSubscribed(channels, 30_000);
      expect(await fake.play(frames)).toEqual({ sent: frames.length, notSent: 0 });
      // "written" counts events and gap records only, as before coverage records existed.
      await obcap.waitForLog(`received ${frames.length} frames, written ${frames.length + expectedChainGaps(frames) + channels.length},`, 120_000);
    } finally {
      obcap.child.kill("SIGINT");
    }
    expect(await obcap.exited).toBe(0);
    const coverageA = await scanCoverage(client, tableA);
    expect(coverageA.map((item) => item.sk!.S!)).toEqual(expected);
    expect(coverageA).toEqual(expected.map(coverageItem));
    // One process, each written once, and counted apart from "written".
    expect(obcap.stderr()).toContain(`coverage items ${expected.length},`);
    // Every hour partition holding an event has its coverage item (no more, no fewer).
    const held = new Set((await scanEvents(client, tableA)).map((item) => item.pk!.S!.replace(/#\d+$/, "")));
    expect([...held].sort()).toEqual(expected);

    const tableB = await createTestTable(client, "cov-replay");
    const replayed = await replay([join(obcap.cwd, "obcap-data"), "--table", tableB]);
    expect({ code: replayed.code, stderr: replayed.code === 0 ? "" : replayed.stderr }).toEqual({ code: 0, stderr: "" });
    expect(replayed.stderr).toContain(`written ${frames.length + expectedChainGaps(frames) + channels.length}, coverage items ${expected.length},`);
    expect(await scanCoverage(client, tableB)).toEqual(coverageA);
  }, 300_000);

  test("two replays writing the same hours at once leave one identical item per hour", async () => {
    const frames = [...hourOfFrames(["btcusd"], Date.UTC(2023, 2, 1, 8) * 1000, 42), ...hourOfFrames(["btcusd"], Date.UTC(2023, 2, 1, 9) * 1000, 43)];
    const path = writeJournal("two-writers.ndjson", frames);
    const table = await createTestTable(client, "cov-two");
    const runs = await Promise.all([replay([path, "--table", table]), replay([path, "--table", table])]);
    const expected = hourKeysOf(frames);
    for (const run of runs) {
      expect(run.code).toBe(EXIT.ok);
      expect(run.stderr).toContain(`written ${frames.length}, coverage items ${expected.length},`);
    }
    expect(await scanCoverage(client, table)).toEqual(expected.map(coverageItem));
  }, 120_000);
});

describe("export reads the hours the coverage records list", () => {
  test("over 2020-01-01..2027-01-01, a table holding two hours costs a handful of Queries and gives exactly its frames", async () => {
    const frames = [
      ...hourOfFrames(["btcusd"], Date.UTC(2021, 5, 1, 12) * 1000, 44),
      ...hourOfFrames(["btcusd"], Date.UTC(2024, 2, 1, 8) * 1000, 45),
    ];
    const table = await createTestTable(client, "cov-export");
    expect((await replay([writeJournal("two-hours.ndjson", frames), "--table", table])).code).toBe(EXIT.ok);

    const out = await exportRange(table, "btcusd", "2020-01-01", "2027-01-01");
    expect({ code: out.code, stderr: out.code === 0 ? "" : out.stderr }).toEqual({ code: 0, stderr: "" });
    const lines = linesOf(out.stdout);
    expect([...lines].sort()).toEqual([...frames].sort());
    expect(lines.map(micros)).toEqual(frames.map(micros));
    expect(out.stderr).not.toContain("no complete coverage records");
    expect(out.stderr).toContain("(hours listed from coverage records)");
    const summary = exportSummary(out.stderr);
    console.error(`[coverage] export 2020-01-01..2027-01-01 of two hours: ${summary.queries} Queries, ${summary.seconds} s`);
    // Two coverage Queries (one per stream) and one per partition of the two hours (2 streams x 4
    // shards each): probing would be 61,368 hours x 2 streams x 4 shards = 490,944.
    expect(summary).toMatchObject({ frames: frames.length, hours: 2, partitions: 16 });
    expect(summary.queries).toBe(2 + 16);

    // A pair with no data costs its coverage Queries and nothing else.
    const two = await exportRange(table, "btcusd,ethusd", "2020-01-01", "2027-01-01");
    expect(linesOf(two.stdout).length).toBe(frames.length);
    expect(exportSummary(two.stderr)).toMatchObject({ hours: 2, partitions: 16, queries: 4 + 16 });
  }, 120_000);

  test("a table written before coverage records: export probes with a warning; table coverage rebuilds the identical items, once", async () => {
    const day = Date.UTC(2024, 2, 1) * 1000;
    const frames = [...hourOfFrames(["btcusd", "ethusd"], day + 8 * 3_600_000_000, 46), ...hourOfFrames(["btcusd"], day + 15 * 3_600_000_000, 47)];
    const table = await createTestTable(client, "cov-old");
    expect((await replay([writeJournal("old-table.ndjson", frames), "--table", table])).code).toBe(EXIT.ok);
    const original = await scanCoverage(client, table);
    expect(original).toEqual(hourKeysOf(frames).map(coverageItem));

    // As a schema-1 obcap left it: no coverage items, no coverage attribute.
    for (let i = 0; i < original.length; i += 25) {
      const requests = original.slice(i, i + 25).map((item) => ({ DeleteRequest: { Key: { pk: item.pk!, sk: item.sk! } } }));
      await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
    }
    await client.send(new UpdateItemCommand({
      TableName: table,
      Key: { pk: { S: META_KEY.pk }, sk: { S: META_KEY.sk } },
      UpdateExpression: "REMOVE coverage SET schemaVersion = :one",
      ExpressionAttributeValues: { ":one": { N: "1" } },
    }));
    expect(await scanCoverage(client, table)).toEqual([]);

    const probed = await exportRange(table, "btcusd,ethusd", "2024-03-01", "2024-03-02");
    expect(probed.code).toBe(EXIT.ok);
    expect([...linesOf(probed.stdout)].sort()).toEqual([...frames].sort());
    expect(probed.stderr).toContain(`table ${table} has no complete coverage records`);
    expect(probed.stderr).toContain(`obcap table coverage --table ${table}`);
    expect(exportSummary(probed.stderr)).toMatchObject({ hours: 24, partitions: 24 * 2 * 2 * 4 });

    const rebuilt = await runObcap("source", ["table", "coverage", "--table", table, "--segments", "3", "--endpoint", endpoint]);
    expect({ code: rebuilt.code, stderr: rebuilt.code === 0 ? "" : rebuilt.stderr }).toEqual({ code: 0, stderr: "" });
    expect(rebuilt.stderr).toMatch(new RegExp(`scanned \\d+ items .*coverage items found 0, written ${original.length},`));
    expect(await scanCoverage(client, table)).toEqual(original);
    const meta = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: META_KEY.pk }, sk: { S: META_KEY.sk } }, ConsistentRead: true }));
    expect({ coverage: meta.Item?.coverage, schemaVersion: meta.Item?.schemaVersion }).toEqual({ coverage: { S: "complete" }, schemaVersion: { N: "2" } });

    const again = await runObcap("source", ["table", "coverage", "--table", table, "--endpoint", endpoint]);
    expect(again.code).toBe(EXIT.ok);
    expect(again.stderr).toContain(`coverage items found ${original.length}, written 0,`);

    const listed = await exportRange(table, "btcusd,ethusd", "2024-03-01", "2024-03-02");
    expect([...linesOf(listed.stdout)].sort()).toEqual([...frames].sort());
    expect(listed.stderr).not.toContain("has no complete coverage records");
    const hourKeys = hourKeysOf(frames);
    expect(exportSummary(listed.stderr)).toMatchObject({ hours: 2, partitions: hourKeys.length * 4, queries: 4 + hourKeys.length * 4 });

    // The listing functions the book reader and the API will use.
    expect(await listPairs(client, table)).toEqual(["btcusd", "ethusd"]);
    expect(await listCoverage(client, table, "btcusd", "orders", day, day + 86_400_000_000)).toEqual(["2024030108", "2024030115"]);
    expect(await listCoverage(client, table, "ethusd", "trades", day, day + 86_400_000_000)).toEqual(["2024030108"]);
    expect(await listCoverage(client, table, "btcusd", "orders", day + 9 * 3_600_000_000, day + 15 * 3_600_000_000)).toEqual([]);
  }, 180_000);
});
