/**
 * `obcap book` against the truth (the test exchange's simulated book after each frame,
 * tests/support/book-journal.ts), read from a table of DynamoDB Local filled by `obcap replay` of the
 * journal (snapshots, gaps, coverage and events as the capture stores them) and from the journal
 * directory itself: identical orders, identical L2 levels, exact decimals. Also the series as CSV
 * (read back with an RFC 4180 reader written here) and the errors a user meets.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseCsv } from "../support/csv-reader.ts";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EXIT } from "../../src/base/errors.ts";
import { bookFromSnapshot } from "../../src/book/snapshot-book.ts";
import { bookAt } from "../../src/history/book-at.ts";
import { TableHistory } from "../../src/history/table-history.ts";
import { dynamoQueryFn } from "../../src/export/partition-query.ts";
import { layoutQueryFn } from "../../src/export/packed-query.ts";
import type { TableLayout } from "../../src/store/dynamodb/table-metadata.ts";
import { openCaptureTable } from "../../src/store/dynamodb/table.ts";
import { buildJournal, ordersOf, PAIR, truthAt, truthOrders, type Built, jsonOrders, type BookJson } from "../support/book-journal.ts";
import { runObcap, testClient } from "../support/capture-harness.ts";
import { dynamoEndpoint } from "../support/env.ts";
import { generateFrames } from "../support/frame-generator.ts";
import { seededRandom } from "../support/seeded-random.ts";
import { createTestTable } from "../support/test-table.ts";
import { testTempDir } from "../support/temp-dirs.ts";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

let endpoint: string;
let client: DynamoDBClient;
let table: string;
/** The same journal replayed into a table of each layout (`table` is the event layout's). */
const tables = {} as Record<TableLayout, string>;
let built: Built;

async function replayInto(dir: string, layout: TableLayout, prefix: string): Promise<string> {
  const name = await createTestTable(client, prefix, { layout });
  const checkpoint = join(testTempDir(prefix), "replay.checkpoint");
  const replayed = await runObcap("source", ["replay", dir, "--table", name, "--endpoint", endpoint, "--checkpoint", checkpoint], {}, 120_000);
  if (replayed.code !== 0) throw new Error(`replay into the ${layout} layout failed (${replayed.code}):\n${replayed.stderr}`);
  return name;
}

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
  built = buildJournal(72, 4000, 600);
  [tables.event, tables.packed] = await Promise.all([replayInto(built.dir, "event", "book"), replayInto(built.dir, "packed", "book-packed")]);
  table = tables.event;
}, 180_000);
afterAll(() => client.destroy());



function randomInstants(seed: number, n: number): number[] {
  const rand = seededRandom(seed);
  const last = built.truth.micros.at(-1)!;
  return Array.from({ length: n }, () => built.firstSnapshotMicros + Math.floor(rand() * (last - built.firstSnapshotMicros)));
}

for (const layout of ["event", "packed"] as const) describe(`the book read from the table (${layout} layout)`, () => {
  test("TableHistory: at random instants, the true orders and L2 levels; the gap reported where it is", async () => {
    const table = tables[layout];
    const { shards, metadata } = await openCaptureTable({ client, table });
    expect(metadata.coverage).toBe("complete");
    expect(metadata.layout).toBe(layout);
    let queries = 0;
    const query = layoutQueryFn(dynamoQueryFn({ client, table, pageItems: 500, parallel: 8, onQuery: () => queries++ }), { shards, packMs: metadata.packMs });
    const source = new TableHistory({ client, table, shards, packMs: metadata.packMs, coverageComplete: true, query });
    for (const at of randomInstants(3, 8)) {
      const result = await bookAt(source, PAIR, at);
      const truth = truthAt(built.truth, at);
      expect(ordersOf(result.book)).toEqual(truthOrders(truth));
      expect(result.book.depth(1000)).toEqual(bookFromSnapshot(truth).depth(1000));
    }
    const inside = await bookAt(source, PAIR, built.gap.endMicros + 1000);
    expect(inside.gaps.map((g) => [g.startMicros, g.endMicros, g.reason])).toEqual([[built.gap.startMicros, built.gap.endMicros, "dropped"]]);
    expect(queries).toBeGreaterThan(0);
  });

  for (const where of layout === "event" ? (["table", "journal"] as const) : (["table"] as const)) {
    test(`obcap book --${where} --at T --l3 --json: the exchange's true book at T, order by order`, async () => {
      for (const at of randomInstants(where === "table" ? 11 : 12, 3)) {
        const target = where === "table" ? ["--table", tables[layout], "--endpoint", endpoint] : ["--journal", built.dir];
        const run = await runObcap("source", ["book", ...target, "--pair", PAIR, "--at", String(at), "--l3", "--json", "--depth", "100000"]);
        expect(run.code).toBe(0);
        const doc = JSON.parse(run.stdout) as BookJson;
        const truth = truthAt(built.truth, at);
        expect(jsonOrders(doc)).toEqual(truthOrders(truth));
        const levels = bookFromSnapshot(truth).depth(100_000);
        expect(doc.bids.map(({ price, amount, orders }) => ({ price, amount, orders }))).toEqual([...levels.bids]);
        expect(doc.asks.map(({ price, amount, orders }) => ({ price, amount, orders }))).toEqual([...levels.asks]);
        expect(doc.crossed).toBe(false);
        expect(doc.snapshot.microtimestamp).toBeLessThanOrEqual(at);
      }
    }, 60_000);
  }

  test("the compiled binary answers the same as the source (table)", async () => {
    const [at] = randomInstants(13, 1);
    const args = ["book", "--table", tables[layout], "--endpoint", endpoint, "--pair", PAIR, "--at", String(at), "--json", "--depth", "5"];
    const fromBinary = await runObcap("binary", args);
    const fromSource = await runObcap("source", args);
    expect(fromBinary.code).toBe(0);
    expect(fromBinary.stdout).toBe(fromSource.stdout);
    expect((JSON.parse(fromBinary.stdout) as BookJson).bids.length).toBe(5);
  }, 60_000);
});


describe("a series of the book", () => {
  test("--format csv: one row per step, each the true book's best levels at that step, every decimal digit kept", async () => {
    const from = built.firstSnapshotMicros + 5_000;
    const to = from + 3_000_000;
    const run = await runObcap("source", ["book", "--table", table, "--endpoint", endpoint, "--pair", PAIR, "--from", String(from), "--to", String(to), "--every", "250ms", "--depth", "3"]);
    expect(run.code).toBe(0);
    const [header, ...rows] = parseCsv(run.stdout);
    expect(header).toEqual(["time_us", "bid_price_1", "bid_amount_1", "bid_price_2", "bid_amount_2", "bid_price_3", "bid_amount_3", "ask_price_1", "ask_amount_1", "ask_price_2", "ask_amount_2", "ask_price_3", "ask_amount_3"]);
    expect(rows.length).toBe(13);
    for (const row of rows) {
      const truth = bookFromSnapshot(truthAt(built.truth, Number(row[0]))).depth(3);
      const cells = (levels: readonly { price: string; amount: string }[]) => [0, 1, 2].flatMap((i) => [levels[i]?.price ?? "", levels[i]?.amount ?? ""]);
      expect(row.slice(1)).toEqual([...cells(truth.bids), ...cells(truth.asks)]);
      // The generator's amounts have 8 decimals: trailing zeros kept, never a float's digits.
      expect(row[2]).toMatch(/^\d+\.\d{8}$/);
    }
  }, 60_000);

  test("--format ndjson equals the csv rows", async () => {
    const from = built.firstSnapshotMicros + 5_000;
    const base = ["book", "--journal", built.dir, "--pair", PAIR, "--from", String(from), "--to", String(from + 1_000_000), "--every", "500ms", "--depth", "2"];
    const csv = await runObcap("source", base);
    const ndjson = await runObcap("source", [...base, "--format", "ndjson"]);
    expect(csv.code).toBe(0);
    expect(ndjson.code).toBe(0);
    const fromJson = ndjson.stdout.trim().split("\n").map((l) => {
      const row = JSON.parse(l) as { time_us: number; bids: { price: string; amount: string }[]; asks: { price: string; amount: string }[] };
      const cells = (levels: { price: string; amount: string }[]) => [0, 1].flatMap((i) => [levels[i]?.price ?? "", levels[i]?.amount ?? ""]);
      return [String(row.time_us), ...cells(row.bids), ...cells(row.asks)];
    });
    expect(fromJson).toEqual(parseCsv(csv.stdout).slice(1));
  }, 60_000);
});

describe("what a user can get wrong", () => {
  test("a time before the first snapshot: exit 2, E_NO_SNAPSHOT, and why", async () => {
    const run = await runObcap("source", ["book", "--table", table, "--endpoint", endpoint, "--pair", PAIR, "--at", String(built.firstSnapshotMicros - 1)]);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain("E_NO_SNAPSHOT");
    expect(run.stderr).toContain("no order book snapshot of btcusd");
  });

  test("bad flags: each named with what to do, exit 2", async () => {
    const cases: [string[], string][] = [
      [["--pair", PAIR, "--at", "2026-09-04"], "give one of --table"],
      [["--journal", built.dir, "--table", table, "--pair", PAIR, "--at", "2026-09-04"], "give one of --table"],
      [["--journal", built.dir, "--pair", PAIR], "give --at TIME"],
      [["--journal", built.dir, "--pair", PAIR, "--at", "yesterday"], "--at 'yesterday' is not a time"],
      [["--journal", built.dir, "--pair", "BTC/USD", "--at", "2026-09-04"], "not a Bitstamp pair name"],
      [["--journal", built.dir, "--pair", PAIR, "--from", "2026-09-04T01:00Z", "--to", "2026-09-04T00:00Z"], "is after --to"],
      [["--journal", built.dir, "--pair", PAIR, "--from", "2026-09-04", "--to", "2026-09-05", "--every", "1ms"], "more than 10,000,000 rows"],
      [["--journal", built.dir, "--pair", PAIR, "--from", "2026-09-04", "--to", "2026-09-05", "--format", "xlsx"], "--format 'xlsx'"],
    ];
    for (const [args, message] of cases) {
      const run = await runObcap("source", ["book", ...args]);
      expect({ args, code: run.code }).toEqual({ args, code: EXIT.usage });
      expect(run.stderr).toContain(message);
    }
  }, 60_000);
});

describe("book --check", () => {
  test("a clean table: every snapshot rebuilt from the one before and the events between, 0 differ, exit 0", async () => {
    const run = await runObcap("source", ["book", "--check", "--table", table, "--endpoint", endpoint, "--pair", PAIR, "--from", "2026-01-01", "--to", "2027-01-01"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/book check of btcusd: [4-9] snapshots compared \(table .*\), 0 differ/);
  }, 60_000);

  test("a journal missing one order_created: exit 6, E_BOOK_MISMATCH, the order named", async () => {
    const frames = generateFrames({ pairs: [PAIR], countPerPair: 2000, seed: 75, initialOrdersPerPair: 40 });
    const idOf = (frame: string) => /"id_str":"(\d+)"/.exec(frame)?.[1];
    const index = frames.findIndex((f, i) => i > 1000 && f.includes('"order_created"') && !frames.slice(i + 1).some((g) => g.includes(`"${idOf(f)}"`)));
    const withheld = buildJournal(75, 2000, 300, { withhold: (f) => f === frames[index] });
    const run = await runObcap("binary", ["book", "--check", "--journal", withheld.dir, "--pair", PAIR, "--from", "2026-01-01", "--to", "2027-01-01"]);
    expect(run.code).toBe(EXIT.badInput);
    expect(run.stderr).toContain("E_BOOK_MISMATCH");
    expect(run.stderr).toContain(`missing from the book 1 (${idOf(frames[index]!)})`);
    expect(run.stderr).toMatch(/gaps in between: .*chain 2026-/);
  }, 60_000);
});

describe("export --format csv", () => {
  test("one row per trade and order event of the range, under one header; every id and decimal string as the exchange sent it", async () => {
    const run = await runObcap("source", ["export", "--table", table, "--endpoint", endpoint, "--pair", PAIR, "--from", "2026-01-01", "--to", "2027-01-01", "--format", "csv"]);
    expect(run.code).toBe(0);
    const [header, ...rows] = parseCsv(run.stdout);
    expect(header!.slice(0, 9)).toEqual(["exchange_time_us", "receive_time_us", "pair", "stream", "event", "id", "side", "price", "amount"]);
    const col = (name: string) => header!.indexOf(name);
    // The journal's frames, read with JSON.parse (ids below 2^53 here), not with obcap's decoder.
    const frames = readdirSync(join(built.dir, "segments")).sort().flatMap((name) =>
      readFileSync(join(built.dir, "segments", name), "utf8").split("\n").filter((l) => l.includes('"m":{')).map((l) => JSON.parse(l) as { rx: number; m: { event: string; data: Record<string, unknown> } }),
    );
    const fromFrames = frames.map(({ rx, m }) => [String(m.data.microtimestamp), String(rx), m.event, String(m.data.id_str ?? m.data.id), String(m.data.price_str), String(m.data.amount_str)].join("|")).sort();
    const fromCsv = rows.map((r) => [r[col("exchange_time_us")], r[col("receive_time_us")], r[col("event")], r[col("id")], r[col("price")], r[col("amount")]].join("|")).sort();
    expect(fromCsv.length).toBeGreaterThan(3000);
    expect(fromCsv).toEqual(fromFrames);
    expect(run.stderr).toContain(`frames ${rows.length}`);
  }, 60_000);
});

for (const layout of ["event", "packed"] as const) describe(`a recording stamped per millisecond (one receive time for each exchange microtimestamp; ${layout} layout)`, () => {
  for (const format of ["2026", "2023"] as const) test(`${format} form: the table's book equals the truth (sort keys alone do not order one order's events within a microtimestamp)`, async () => {
    const stamped = buildJournal(83, 3000, 500, { orderFormat: format, sameRxPerMicros: true });
    // The adversity is there: one order with several events in one microtimestamp.
    const perOrderMicros = new Map<string, number>();
    for (const e of stamped.truth.events) {
      const key = `${e.data.microtimestamp}/${e.data.id_str ?? String(e.data.id)}`;
      perOrderMicros.set(key, (perOrderMicros.get(key) ?? 0) + 1);
    }
    expect([...perOrderMicros.values()].filter((n) => n > 1).length).toBeGreaterThan(10);
    const stampedTable = await replayInto(stamped.dir, layout, "book-stamped");
    const rand = seededRandom(9);
    const last = stamped.truth.micros.at(-1)!;
    for (let k = 0; k < 3; k++) {
      const at = stamped.firstSnapshotMicros + Math.floor(rand() * (last - stamped.firstSnapshotMicros));
      for (const source of [["--table", stampedTable, "--endpoint", endpoint], ["--journal", stamped.dir]]) {
        const run = await runObcap("source", ["book", ...source, "--pair", PAIR, "--at", String(at), "--l3", "--json", "--depth", "100000"]);
        expect(run.code).toBe(0);
        const book = JSON.parse(run.stdout) as BookJson;
        expect({ source: source[0], orders: jsonOrders(book), warnings: book.warnings.filter((w) => !w.includes("gap")) })
          .toEqual({ source: source[0], orders: truthOrders(truthAt(stamped.truth, at)), warnings: [] });
      }
    }
  }, 120_000);
});

for (const layout of ["event", "packed"] as const) describe(`the 2022 and 2023 frame formats through the table (${layout} layout)`, () => {
  for (const [format, seed] of [["2022", 77], ["2023", 79]] as const) test(`${format}: replayed and read back, the book at random instants equals the truth`, async () => {
    const old = buildJournal(seed, 2000, 400, { orderFormat: format });
    const oldTable = await replayInto(old.dir, layout, "book-2022");
    const rand = seededRandom(8);
    const last = old.truth.micros.at(-1)!;
    for (let k = 0; k < 3; k++) {
      const at = old.firstSnapshotMicros + Math.floor(rand() * (last - old.firstSnapshotMicros));
      const run = await runObcap("source", ["book", "--table", oldTable, "--endpoint", endpoint, "--pair", PAIR, "--at", String(at), "--l3", "--json", "--depth", "100000"]);
      expect(run.code).toBe(0);
      expect(jsonOrders(JSON.parse(run.stdout) as BookJson)).toEqual(truthOrders(truthAt(old.truth, at)));
    }
  }, 120_000);
});
