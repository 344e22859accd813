/**
 * Coverage records (src/store/dynamodb/coverage.ts): the item and its keys, the key of the partition
 * an item covers, and the two listings readers use (hours of a range, pairs) over an in-memory
 * partition that answers Query like DynamoDB (key condition, sort-key order, Limit pages). DynamoDB
 * Local itself is covered in tests/integration/coverage.test.ts.
 */
import { describe, expect, test } from "bun:test";
import type { DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import { decodeFrame, decodeOwnRecord } from "../../../../src/exchange/bitstamp/decode.ts";
import { gapFrame } from "../../../../src/model/gap-record.ts";
import {
  COVERAGE_PK,
  coverageSortKey,
  coverageSortKeyOfPartition,
  encodeCoverageItem,
  gapsCoverageSortKey,
  isCoverageItem,
  listCoverage,
  listPairs,
  parseCoverageSortKey,
} from "../../../../src/store/dynamodb/coverage.ts";
import { encodeItem } from "../../../../src/store/dynamodb/event-item.ts";
import { encodeGapItem } from "../../../../src/store/dynamodb/gap-item.ts";
import type { Item } from "../../../../src/store/dynamodb/item.ts";
import { META_KEY, hourBucketsBetween } from "../../../../src/store/dynamodb/keys.ts";
import { orderAndTradeFrames } from "../../../support/fixtures.ts";

const HOUR_MICROS = 3_600_000_000;
/** 2026-08-09T10:00:00Z. */
const T0 = 1_786_269_600_000_000;

describe("the coverage item", () => {
  test("is a pure function of the partition it covers: pk obcap#coverage, sk pair#stream#hour, ev", () => {
    expect(encodeCoverageItem(coverageSortKey("btcusd", "orders", "2026080910"))).toEqual({
      pk: { S: "obcap#coverage" },
      sk: { S: "btcusd#orders#2026080910" },
      ev: { S: "obcap:coverage" },
    });
    expect(encodeCoverageItem(gapsCoverageSortKey("btcusd", "trades"))).toEqual({
      pk: { S: COVERAGE_PK },
      sk: { S: "btcusd#trades#gaps" },
      ev: { S: "obcap:coverage" },
    });
    expect(isCoverageItem(encodeCoverageItem("btcusd#orders#2026080910"))).toBe(true);
  });

  test("the covered partition comes from the item's pk: events (every shard), gap records, later streams", () => {
    const frames = orderAndTradeFrames().slice(0, 40);
    for (const frame of frames) {
      const decoded = decodeFrame(frame, 1);
      if (decoded.kind !== "event") continue;
      const item = encodeItem(decoded.event, 7);
      const [pair, stream, hour] = item.pk!.S!.split("#");
      expect(coverageSortKeyOfPartition(item.pk!.S!)).toBe(`${pair}#${stream}#${hour}`);
      expect(isCoverageItem(item)).toBe(false);
    }
    const gap = decodeOwnRecord(gapFrame({ channel: "live_trades_ethusd", startMicros: T0, endMicros: T0 + 1, reason: "stale" }), T0);
    if (gap.kind !== "gap") throw new Error("not a gap record");
    expect(coverageSortKeyOfPartition(encodeGapItem(gap.gaps[0]!).pk!.S!)).toBe("ethusd#trades#gaps");
    expect(coverageSortKeyOfPartition("btcusd-perp#orders#2026080910#3")).toBe("btcusd-perp#orders#2026080910");
    // A stream added later with hour partitions, with or without shards, and its gap partition.
    expect(coverageSortKeyOfPartition("btcusd#fundings#2026080910")).toBe("btcusd#fundings#2026080910");
    expect(coverageSortKeyOfPartition("btcusd#fundings#2026080910#0")).toBe("btcusd#fundings#2026080910");
    expect(coverageSortKeyOfPartition("btcusd#snapshots#gaps")).toBe("btcusd#snapshots#gaps");
    // Snapshot chunks live in day partitions (8 digits): not hours, no coverage item.
    expect(coverageSortKeyOfPartition("btcusd#snapshots#20260904")).toBeUndefined();
  });

  test("items that are not data cover nothing", () => {
    for (const pk of [META_KEY.pk, COVERAGE_PK, "", "btcusd", "btcusd#orders", "btcusd#orders#202608091#0", "btcusd#orders#20260809100#0",
      "BTCUSD#orders#2026080910#0", "btcusd#orders#2026080910#x", "btcusd#orders#2026080910#0#1", "btcusd#orders#gaps#0", "btc usd#orders#gaps"]) {
      expect({ pk, key: coverageSortKeyOfPartition(pk) }).toEqual({ pk, key: undefined });
    }
  });

  test("its sort key parses back; a key with a shard or other junk does not", () => {
    expect(parseCoverageSortKey("btcusd#orders#2026080910")).toEqual({ pair: "btcusd", stream: "orders", kind: "hour", hourBucket: "2026080910" });
    expect(parseCoverageSortKey("eurusd-perp#trades#gaps")).toEqual({ pair: "eurusd-perp", stream: "trades", kind: "gaps" });
    for (const sk of ["btcusd#orders#2026080910#0", "btcusd#orders", "btcusd#orders#gap", "#orders#2026080910"]) expect(parseCoverageSortKey(sk)).toBeUndefined();
  });

  test("sort-key order is pair, then stream, then time; the gaps key after every hour of its stream", () => {
    const hours = hourBucketsBetween(Date.UTC(2019, 11, 31, 22) * 1000, Date.UTC(2020, 0, 1, 2) * 1000);
    const keys = ["btc", "btcusd", "btcusd-perp", "btcusdc"].flatMap((pair) =>
      ["orders", "snapshots", "trades"].flatMap((stream) => [...hours.map((h) => coverageSortKey(pair, stream, h)), gapsCoverageSortKey(pair, stream)]),
    );
    expect([...keys].sort()).toEqual(keys);
  });
});

/** A coverage partition in memory that answers the Queries coverage.ts sends, as DynamoDB would. */
function memoryCoverage(keys: string[]) {
  const sorted = [...keys].sort();
  const calls: Array<Record<string, unknown>> = [];
  const client = {
    async send(command: QueryCommand) {
      const input = command.input;
      calls.push(input as unknown as Record<string, unknown>);
      const values = input.ExpressionAttributeValues!;
      if (values[":pk"]?.S !== COVERAGE_PK) throw new Error(`unexpected pk ${JSON.stringify(values[":pk"])}`);
      let rows: string[];
      switch (input.KeyConditionExpression) {
        case "pk = :pk":
          rows = sorted;
          break;
        case "pk = :pk AND sk BETWEEN :lo AND :hi":
          rows = sorted.filter((k) => k >= values[":lo"]!.S! && k <= values[":hi"]!.S!);
          break;
        case "pk = :pk AND sk > :after":
          rows = sorted.filter((k) => k > values[":after"]!.S!);
          break;
        default:
          throw new Error(`unexpected key condition ${input.KeyConditionExpression}`);
      }
      const start = input.ExclusiveStartKey?.sk?.S;
      if (start !== undefined) rows = rows.filter((k) => k > start);
      const limit = input.Limit ?? Number.POSITIVE_INFINITY;
      const page = rows.slice(0, limit);
      const Items: Item[] = page.map((sk) => ({ sk: { S: sk } }));
      return { Items, LastEvaluatedKey: rows.length > limit ? { pk: { S: COVERAGE_PK }, sk: { S: page.at(-1)! } } : undefined };
    },
  };
  return { client: client as unknown as DynamoDBClient, calls };
}

describe("listCoverage", () => {
  const hoursOf = (from: number, count: number) => hourBucketsBetween(from, from + (count - 1) * HOUR_MICROS);
  const btcOrders = hoursOf(T0, 5); // 10:00 .. 14:00
  const keys = [
    ...btcOrders.map((h) => coverageSortKey("btcusd", "orders", h)),
    gapsCoverageSortKey("btcusd", "orders"),
    ...hoursOf(T0 - 3 * HOUR_MICROS, 9).map((h) => coverageSortKey("btcusd", "trades", h)),
    ...hoursOf(T0, 5).map((h) => coverageSortKey("btc", "orders", h)),
    ...hoursOf(T0, 5).map((h) => coverageSortKey("btcusd-perp", "orders", h)),
  ];

  test("gives the hours of one pair and stream that meet [from, to), in one Query", async () => {
    const { client, calls } = memoryCoverage(keys);
    const counted: string[] = [];
    const hours = await listCoverage(client, "Orders", "btcusd", "orders", Date.UTC(2020, 0, 1) * 1000, Date.UTC(2027, 0, 1) * 1000, { onCall: () => counted.push("q") });
    expect(hours).toEqual(btcOrders);
    expect(calls.length).toBe(1);
    expect(counted.length).toBe(1);
    expect(calls[0]).toMatchObject({ TableName: "Orders", ConsistentRead: true });
  });

  test("the hour of from and the hour of to - 1 are in, the hour starting at to is out", async () => {
    const { client } = memoryCoverage(keys);
    // [10:59:59.999999, 12:00:00): hours 10 and 11.
    expect(await listCoverage(client, "Orders", "btcusd", "orders", T0 + HOUR_MICROS - 1, T0 + 2 * HOUR_MICROS)).toEqual(btcOrders.slice(0, 2));
    // [12:00:00, 12:00:00.000001): hour 12 only.
    expect(await listCoverage(client, "Orders", "btcusd", "orders", T0 + 2 * HOUR_MICROS, T0 + 2 * HOUR_MICROS + 1)).toEqual([btcOrders[2]!]);
    expect(await listCoverage(client, "Orders", "btcusd", "orders", T0, T0)).toEqual([]);
    expect(await listCoverage(client, "Orders", "ethusd", "orders", T0, T0 + 10 * HOUR_MICROS)).toEqual([]);
  });

  test("follows pages", async () => {
    const { client, calls } = memoryCoverage(keys);
    expect(await listCoverage(client, "Orders", "btcusd", "trades", 0, T0 * 2, { pageItems: 2 })).toEqual(hoursOf(T0 - 3 * HOUR_MICROS, 9));
    expect(calls.length).toBe(5);
  });
});

describe("listPairs", () => {
  test("gives every pair once, in order, in pairs + 1 one-item Queries, however many hours each has", async () => {
    const pairs = ["btc", "btcusd", "btcusd-perp", "btcusdc", "ethusd", "zz9"];
    const hours = hourBucketsBetween(T0, T0 + 199 * HOUR_MICROS);
    const keys = pairs.flatMap((pair) => ["orders", "trades"].flatMap((stream) => hours.map((h) => coverageSortKey(pair, stream, h))));
    // A pair with only gap records is a pair of the table too.
    keys.push(gapsCoverageSortKey("gaponly", "trades"));
    const { client, calls } = memoryCoverage(keys);
    expect(await listPairs(client, "Orders")).toEqual([...pairs.slice(0, 5), "gaponly", "zz9"].sort());
    expect(calls.length).toBe(pairs.length + 2);
    expect(calls.every((c) => c.Limit === 1)).toBe(true);
  });

  test("an empty table has no pairs (one Query)", async () => {
    const { client, calls } = memoryCoverage([]);
    expect(await listPairs(client, "Orders")).toEqual([]);
    expect(calls.length).toBe(1);
  });
});
