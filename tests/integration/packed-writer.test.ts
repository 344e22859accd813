/**
 * PackedWriter on DynamoDB Local. Invariant attacked: whatever subsets of a window's events any
 * writers store, in any order and at the same time, the window ends holding exactly their union (no
 * event lost, none twice), its content is what one writer holding the union writes, no stale
 * overflow chunk stays behind, and the write units reported follow DynamoDB's billing rules.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DeleteTableCommand, QueryCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createDynamoClient } from "../../src/store/dynamodb/client.ts";
import { decodeFrame } from "../../src/exchange/bitstamp/decode.ts";
import { encodeItem } from "../../src/store/dynamodb/event-item.ts";
import type { Item } from "../../src/store/dynamodb/item.ts";
import { itemSizeBytes } from "../../src/store/dynamodb/item-limits.ts";
import { WriteMeter } from "../../src/store/dynamodb/write-meter.ts";
import { headKey, headOf, isHeadSortKey, overflowPrefix, packWindow, uniqueEvents, unpackWindow, windowKeyOfItem, type WindowKey } from "../../src/store/packed/packed-window.ts";
import { PackedWriter } from "../../src/store/packed/packed-writer.ts";
import { DEFAULT_START_MICROS, FrameGenerator } from "../support/frame-generator.ts";
import { dynamoEndpoint, TEST_AWS_ENV } from "../support/env.ts";
import { seededRandom } from "../support/seeded-random.ts";
import { createTestTable } from "../support/test-table.ts";

for (const [name, value] of Object.entries(TEST_AWS_ENV)) process.env[name] ??= value;

const PACK_MS = 60_000;
let endpoint: string;
let admin: DynamoDBClient;
const tables: string[] = [];

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  admin = createDynamoClient({ endpoint });
});

afterAll(async () => {
  for (const table of tables) await admin.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
  admin.destroy();
});

async function newTable(): Promise<string> {
  const table = await createTestTable(admin, "packed-writer", { schema: "keys-only" });
  tables.push(table);
  return table;
}

/** The event items of one window of one channel: `count` generated order events (many share a millisecond). */
function windowEvents(seed: number, count: number): { key: WindowKey; events: Item[] } {
  const byWindow = new Map<string, { key: WindowKey; events: Item[] }>();
  let rx = 1_788_551_771_000_000;
  // Each seed in an hour of its own: no two tests or rounds share a window.
  const startMicros = DEFAULT_START_MICROS + seed * 3_600_000_000;
  for (const frame of new FrameGenerator({ pairs: ["btcusd"], countPerPair: count * 3, seed, meanGapMs: 5, trades: false, startMicros })) {
    const decoded = decodeFrame(frame, (rx += 300));
    if (decoded.kind !== "event") continue;
    const item = encodeItem(decoded.event, 4);
    const key = windowKeyOfItem(item, PACK_MS);
    const id = `${key.pair}#${key.stream}#${key.startMicros}`;
    const entry = byWindow.get(id) ?? byWindow.set(id, { key, events: [] }).get(id)!;
    entry.events.push(item);
  }
  const biggest = [...byWindow.values()].sort((a, b) => b.events.length - a.events.length)[0]!;
  return { key: biggest.key, events: biggest.events.slice(0, count) };
}

/** Everything in the window's partition under its start: the head, the chunks it names, and any other chunk. */
async function readStored(table: string, key: WindowKey): Promise<{ events: Item[]; strayChunks: number; head: Item }> {
  const { pk, sk } = headKey(key);
  const items: Item[] = [];
  let startKey: Record<string, import("@aws-sdk/client-dynamodb").AttributeValue> | undefined;
  do {
    const page = await admin.send(new QueryCommand({
      TableName: table, KeyConditionExpression: "pk = :pk AND begins_with(sk, :sk)", ExpressionAttributeValues: { ":pk": { S: pk }, ":sk": { S: sk } }, ConsistentRead: true,
      ...(startKey ? { ExclusiveStartKey: startKey } : {}),
    }));
    items.push(...((page.Items ?? []) as Item[]));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  const head = items.find((i) => isHeadSortKey(i.sk!.S!))!;
  const { digest } = headOf(head);
  const prefix = overflowPrefix(key, digest);
  const chunks = items.filter((i) => i.sk!.S!.startsWith(prefix)).sort((a, b) => Number(a.sk!.S!.slice(prefix.length)) - Number(b.sk!.S!.slice(prefix.length)));
  return { events: unpackWindow(head, chunks), strayChunks: items.length - 1 - chunks.length, head };
}

function keysOf(items: readonly Item[]): string[] {
  return items.map((i) => `${i.pk!.S}|${i.sk!.S}`).sort();
}

function writer(table: string, client: DynamoDBClient, meter?: WriteMeter): PackedWriter {
  return new PackedWriter({ client, table, packMs: PACK_MS, backoffBaseMs: 5, backoffMaxMs: 50, ...(meter ? { meter } : {}) });
}

describe("PackedWriter on DynamoDB Local", () => {
  test("a window written once reads back exactly, and again changes nothing", async () => {
    const table = await newTable();
    const { key, events } = windowEvents(1, 300);
    const meter = new WriteMeter();
    const w = writer(table, admin, meter);
    expect(await w.write(key, events)).toEqual({ events: 300, merged: false, alreadyStored: false });
    const stored = await readStored(table, key);
    expect(stored.events).toEqual(uniqueEvents(events));
    const size = itemSizeBytes(stored.head);
    expect(meter.stats()).toEqual({ writeUnits: Math.ceil(size / 1024), itemWrites: 1, unknownItems: 0 });
    expect(await w.write(key, events)).toEqual({ events: 300, merged: false, alreadyStored: false });
    expect((await readStored(table, key)).events).toEqual(uniqueEvents(events));
    // The same head again: billed on the larger of before and after, the same size.
    expect(meter.stats().writeUnits).toBe(2 * Math.ceil(size / 1024));
  });

  test("late events merge into the stored window: the union, each event once, and what one writer of the union writes", async () => {
    const table = await newTable();
    const { key, events } = windowEvents(2, 400);
    const w = writer(table, admin);
    await w.write(key, events.slice(0, 250));
    const result = await w.write(key, events.slice(200)); // 50 already stored, 150 late
    expect(result).toEqual({ events: 400, merged: true, alreadyStored: false });
    const stored = await readStored(table, key);
    expect(keysOf(stored.events)).toEqual(keysOf(events));
    expect(stored.events).toEqual(uniqueEvents(events));
    expect(headOf(stored.head).digest).toBe(packWindow(key, events, PACK_MS).digest);
    // A subset of what is stored: nothing written but the failed condition.
    expect(await w.write(key, events.slice(10, 30))).toEqual({ events: 400, merged: false, alreadyStored: true });
    expect(w.stats()).toMatchObject({ windows: 3, merged: 1, alreadyStored: 1, conditionFailures: 2 });
  });

  test("the same event with another receive time (a second box) is kept once, with the earliest receive time", async () => {
    const table = await newTable();
    const { key, events } = windowEvents(3, 50);
    const later = events.map((e) => ({ ...e, rx: { N: String(BigInt(e.rx!.N!) + 5000n) } }));
    const w = writer(table, admin);
    await w.write(key, later);
    await w.write(key, events);
    const stored = await readStored(table, key);
    expect(stored.events).toEqual(uniqueEvents(events));
    expect(stored.events.map((e) => e.rx!.N)).toEqual(uniqueEvents(events).map((e) => e.rx!.N));
  });

  for (const [label, count] of [["one-chunk", 300], ["multi-chunk (3,000 events)", 3000]] as const) {
    test(`${label} windows: 4 writers with overlapping random subsets, racing, end with exactly the union and no stray chunk`, async () => {
      const table = await newTable();
      const rand = seededRandom(count);
      const rounds = count > 1000 ? 3 : 8;
      const clients = Array.from({ length: 4 }, () => createDynamoClient({ endpoint }));
      let merges = 0;
      let failures = 0;
      try {
        for (let round = 0; round < rounds; round++) {
          const { key, events } = windowEvents(100 + round + count, count);
          const subsets = clients.map(() => events.filter(() => rand() < 0.6));
          // Every event in at least one subset.
          events.forEach((e, i) => subsets[i % subsets.length]!.push(e));
          const writers = clients.map((c) => writer(table, c));
          const results = await Promise.all(writers.map((w, i) => w.write(key, subsets[i]!)));
          const stored = await readStored(table, key);
          expect(keysOf(stored.events)).toEqual(keysOf(events));
          expect(stored.events).toEqual(uniqueEvents(events));
          expect(stored.strayChunks).toBe(0);
          expect(headOf(stored.head).digest).toBe(packWindow(key, events, PACK_MS).digest);
          expect(Math.max(...results.map((r) => r.events))).toBe(events.length);
          if (count > 1000) expect(headOf(stored.head).chunks).toBeGreaterThan(1);
          for (const w of writers) {
            merges += w.stats().merged;
            failures += w.stats().conditionFailures;
          }
        }
        // The race happened: writers found other content and merged with it.
        expect(failures).toBeGreaterThan(0);
        expect(merges).toBeGreaterThan(0);
      } finally {
        for (const c of clients) c.destroy();
      }
    }, 120_000);
  }
});
