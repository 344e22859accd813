/**
 * `obcap export` end to end against DynamoDB Local: every real fixture goes frames -> replay -> table
 * -> export -> the same frames (deep equality with exact numbers and decimal strings; byte equality
 * for compact frames); exports are in exchange-time order over hours, shards, streams and pairs;
 * [from, to) is half-open in every time form; paging does not change the output; the journal format
 * carries rx through a second replay.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ScanCommand, type AttributeValue, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EXIT } from "../../src/base/errors.ts";
import { journalLine } from "../../src/journal/journal-line.ts";
import { dynamoEndpoint } from "../support/env.ts";
import { createTestTable, uniqueTableName } from "../support/test-table.ts";
import { runObcap, scanEvents, testClient, type Entry } from "../support/capture-harness.ts";
import { FIXTURES_DIR, fixtureLines } from "../support/fixtures.ts";
import { generateFrames } from "../support/frame-generator.ts";
import { parseJsonExactForCompare } from "../support/exact-compare.ts";
import { testTempDir } from "../support/temp-dirs.ts";

type Item = Record<string, AttributeValue>;

let endpoint: string;
let client: DynamoDBClient;
let dir: string;

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
  dir = testTempDir("export-it");
});
afterAll(() => {
  client.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function replay(paths: string[], table: string) {
  return runObcap("source", ["replay", ...paths, "--table", table, "--endpoint", endpoint, "--checkpoint", join(dir, `${table}.checkpoint`)]);
}

function exportFrames(args: string[], entry: Entry = "source") {
  return runObcap(entry, ["export", ...args, "--endpoint", endpoint]);
}

const linesOf = (stdout: string) => stdout.split("\n").filter((l) => l !== "");
const micros = (frame: string) => Number(/"microtimestamp": ?"(\d+)"/.exec(frame)![1]);
const channelOf = (frame: string) => /"channel": ?"([^"]+)"/.exec(frame)![1]!;
const STORED = /"channel": ?"live_(?:orders|trades)_/;

/** Items of the table by kind of partition key: `<pair>#<stream>#<hour>#<shard>` or the packed `...#p`. */
async function rawPartitionKinds(table: string): Promise<{ shard: number; packed: number }> {
  const counts = { shard: 0, packed: 0 };
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) {
      const pk = item.pk?.S ?? "";
      if (/#\d{10}#\d+$/.test(pk)) counts.shard++;
      else if (/#\d{10}#p$/.test(pk)) counts.packed++;
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return counts;
}

/** Frames compared as parsed JSON: numbers by exact decimal value, strings byte for byte, key order ignored. */
function sortedParsed(frames: string[]): unknown[] {
  return frames.map((f) => JSON.stringify(parseJsonExactForCompare(f), Object.keys(parseJsonExactForCompare(f) as object).sort())).sort();
}

const WS_FIXTURES = [
  "cryptofeed_2021-04-17_ws_server.ndjson",
  "crypto-msg-parser_ws_raw.ndjson",
  "crypto-msg-parser_ws_reserialized.ndjson",
  "live_orders_2026-08-09_te_recorder_test.ndjson",
  "live_orders_2026-09-04_lob_decoder_test_with_recv_ns.ndjson",
];

for (const layout of ["event", "packed"] as const) {
describe(`round trip of the real fixtures (${layout} layout)`, () => {
  test.each(WS_FIXTURES)("%s: replay then export gives back its order and trade frames exactly", async (name) => {
    const table = await createTestTable(client, "export-fixture", { layout });
    const run = await replay([join(FIXTURES_DIR, name)], table);
    expect({ code: run.code, stderr: run.code === 0 ? "" : run.stderr }).toEqual({ code: 0, stderr: "" });
    // As recorded, line for line (the 2026-09-04 recorder's `_recv_ns` is an extra field and comes back too).
    const stored = fixtureLines(name).filter((l) => STORED.test(l) && !l.includes('"bts:'));
    expect(stored.length).toBeGreaterThan(0);
    const pairs = [...new Set(stored.map((f) => channelOf(f).replace(/^live_(?:orders|trades)_/, "")))];
    const from = Math.min(...stored.map(micros));
    const to = Math.max(...stored.map(micros)) + 1;
    const out = await exportFrames(["--table", table, "--pair", pairs.join(","), "--from", String(from), "--to", String(to)]);
    expect(out.code).toBe(EXIT.ok);
    const exported = linesOf(out.stdout);
    expect(sortedParsed(exported)).toEqual(sortedParsed(stored));
    // Decimal strings exactly as sent (never re-formatted through a number).
    const decimals = (frames: string[]) => frames.flatMap((f) => [...f.matchAll(/"(\w+_str|amount_traded|amount_at_create)": ?"([^"]*)"/g)].map((m) => `${m[1]}=${m[2]}`)).sort();
    expect(decimals(exported)).toEqual(decimals(stored));
    // Compact frames (all but the re-serialized ones) come back byte for byte.
    const compact = stored.filter((f) => !f.includes('": '));
    for (const frame of compact) expect(exported).toContain(frame);
    const times = exported.map(micros);
    expect(times.every((t, i) => i === 0 || times[i - 1]! <= t)).toBe(true);
  }, 60_000);
});

describe(`export of generated frames over several hours (${layout} layout)`, () => {
  const pairs = ["btcusd", "ethusd"];
  // ~3.3 hours of two pairs, 19-digit ids and exponent numbers included.
  const frames = generateFrames({ pairs, countPerPair: 3_000, seed: 31, meanGapMs: 2_000, hugeIds: true, exponentNumbers: true });
  const first = micros(frames[0]!);
  const last = micros(frames.at(-1)!);
  let table: string;

  beforeAll(async () => {
    table = await createTestTable(client, "export-hours", { layout });
    const path = join(dir, "hours.ndjson");
    writeFileSync(path, frames.map((f, i) => journalLine(1_700_000_000_000_000 + i, f)).join(""));
    expect((await replay([path], table)).code).toBe(EXIT.ok);
    // The table holds the layout it was made with: windows, or one item per event.
    const partitions = await rawPartitionKinds(table);
    expect(partitions).toEqual(layout === "event" ? { shard: partitions.shard, packed: 0 } : { shard: 0, packed: partitions.packed });
    expect(layout === "event" ? partitions.shard : partitions.packed).toBeGreaterThan(0);
  }, 120_000);

  test("writes every frame byte for byte, ordered by exchange time, from the compiled binary", async () => {
    const out = await exportFrames(["--table", table, "--pair", "btcusd,ethusd", "--from", String(first), "--to", String(last + 1)], "binary");
    expect(out.code).toBe(EXIT.ok);
    const exported = linesOf(out.stdout);
    expect(exported.length).toBe(frames.length);
    expect([...exported].sort()).toEqual([...frames].sort());
    const times = exported.map(micros);
    expect(times.every((t, i) => i === 0 || times[i - 1]! <= t)).toBe(true);
    // Within one microsecond the generator's order and the sort-key order may differ; across, they agree.
    expect(exported.map(micros)).toEqual(frames.map(micros));
    // 4 hours x 2 pairs x 2 streams: 4 shards each, or one packed partition.
    expect(out.stderr).toMatch(new RegExp(`export summary: frames ${frames.length} \\(.*live_orders_btcusd \\d+.*\\), hours 4, partitions ${layout === "event" ? 64 : 16},`));
  }, 60_000);

  test("gives the same output for the same range in ISO 8601, epoch seconds, ms and µs", async () => {
    // A whole-second range inside the data: [from, to).
    const fromSec = Math.ceil(first / 1e6) + 600;
    const toSec = fromSec + 3_600;
    const expected = frames.filter((f) => micros(f) >= fromSec * 1e6 && micros(f) < toSec * 1e6);
    expect(expected.length).toBeGreaterThan(100);
    const forms: Array<[string, string]> = [
      [new Date(fromSec * 1000).toISOString(), new Date(toSec * 1000).toISOString()],
      [String(fromSec), String(toSec)],
      [String(fromSec * 1000), String(toSec * 1000)],
      [String(fromSec * 1_000_000), String(toSec * 1_000_000)],
    ];
    for (const [from, to] of forms) {
      const out = await exportFrames(["--table", table, "--pair", "btcusd,ethusd", "--from", from, "--to", to]);
      expect(out.code).toBe(EXIT.ok);
      expect([...linesOf(out.stdout)].sort()).toEqual([...expected].sort());
    }
  }, 60_000);

  test("includes an event at --from and excludes one at --to", async () => {
    const from = micros(frames[500]!);
    const to = micros(frames[900]!);
    const out = await exportFrames(["--table", table, "--pair", "btcusd,ethusd", "--from", String(from), "--to", String(to)]);
    const expected = frames.filter((f) => micros(f) >= from && micros(f) < to);
    expect(linesOf(out.stdout).some((f) => micros(f) === from)).toBe(true);
    expect(linesOf(out.stdout).some((f) => micros(f) === to)).toBe(false);
    expect([...linesOf(out.stdout)].sort()).toEqual([...expected].sort());
  }, 60_000);

  test("small pages and few parallel queries give the identical output; --stream and --pair select", async () => {
    const range = ["--from", String(first), "--to", String(last + 1)];
    const full = await exportFrames(["--table", table, "--pair", "btcusd", "--stream", "trades", ...range]);
    const paged = await exportFrames(["--table", table, "--pair", "btcusd", "--stream", "trades", "--page-items", "3", "--parallel", "2", ...range]);
    expect(paged.code).toBe(EXIT.ok);
    expect(paged.stdout).toBe(full.stdout);
    const expected = frames.filter((f) => channelOf(f) === "live_trades_btcusd");
    expect(expected.length).toBeGreaterThan(50);
    expect([...linesOf(full.stdout)].sort()).toEqual([...expected].sort());
  }, 60_000);

  test("--format journal carries rx, so a second replay gives an identical table", async () => {
    const out = join(dir, "journal-export.ndjson");
    const exported = await exportFrames(["--table", table, "--pair", "btcusd,ethusd", "--from", String(first), "--to", String(last + 1), "--format", "journal", "--out", out]);
    expect(exported.code).toBe(EXIT.ok);
    expect(exported.stdout).toBe("");
    const copy = await createTestTable(client, "export-journal-copy", { layout });
    expect((await replay([out], copy)).code).toBe(EXIT.ok);
    const key = (i: Item) => `${i.pk!.S}\u0000${i.sk!.S}`;
    const original = new Map((await scanEvents(client, table)).map((i) => [key(i), i]));
    const copied = new Map((await scanEvents(client, copy)).map((i) => [key(i), i]));
    expect(copied.size).toBe(frames.length);
    expect(copied).toEqual(original);
    expect(readFileSync(out, "utf8").startsWith('{"rx":1700000000000000,"m":{"data":')).toBe(true);
  }, 120_000);

  test("an empty range exports nothing (exit 0); bad flags exit 2; a missing table exits 3", async () => {
    const empty = await exportFrames(["--table", table, "--pair", "btcusd", "--from", "2020-01-01T00:00Z", "--to", "2020-01-01T02:00Z"]);
    expect(empty.code).toBe(EXIT.ok);
    expect(empty.stdout).toBe("");
    // The coverage records say no hour of the range holds data: no partition is queried.
    expect(empty.stderr).toContain("export summary: frames 0, hours 0, partitions 0, queries 2 (hours listed from coverage records),");

    const badTime = await exportFrames(["--table", table, "--pair", "btcusd", "--from", "yesterday", "--to", "now"]);
    expect(badTime.code).toBe(EXIT.usage);
    expect(badTime.stderr).toContain("--from 'yesterday' is not a time");
    const reversed = await exportFrames(["--table", table, "--pair", "btcusd", "--from", "2026-01-02", "--to", "2026-01-01"]);
    expect(reversed.code).toBe(EXIT.usage);
    const badStream = await exportFrames(["--table", table, "--pair", "btcusd", "--from", "2026-01-01", "--to", "2026-01-02", "--stream", "books"]);
    expect(badStream.code).toBe(EXIT.usage);
    expect(badStream.stderr).toContain("--stream 'books' is not a stream (allowed: orders, trades, all)");

    const missing = await exportFrames(["--table", uniqueTableName("export-missing"), "--pair", "btcusd", "--from", "2026-01-01", "--to", "2026-01-02"]);
    expect(missing.code).toBe(EXIT.config);
    expect(missing.stderr).toContain("[E_TABLE_NOT_FOUND]");
  }, 60_000);
});
}
