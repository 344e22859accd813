/**
 * BatchWriter against real DynamoDB Local (tests/support/env.ts), with the real SDK. Throttling,
 * UnprocessedItems and 5xx come from the fault proxy (tests/support/fault-proxy.ts), since DynamoDB
 * Local produces none of them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DeleteTableCommand, ScanCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriter, type RetryInfo } from "../../src/store/dynamodb/batch-writer.ts";
import { createDynamoClient } from "../../src/store/dynamodb/client.ts";
import { Batcher } from "../../src/pipeline/batcher.ts";
import type { Item } from "../../src/store/dynamodb/item.ts";
import { ObcapError } from "../../src/base/errors.ts";
import { itemSizeBytes } from "../../src/store/dynamodb/item-limits.ts";
import { WriteMeter } from "../../src/store/dynamodb/write-meter.ts";
import { dynamoEndpoint, TEST_AWS_ENV } from "../support/env.ts";
import { createTestTable, uniqueTableName } from "../support/test-table.ts";
import { startFaultProxy } from "../support/fault-proxy.ts";
import { freePort } from "../support/dynamodb-local.ts";

// `make test` sets these; a file run alone with plain `bun test` gets the same values.
for (const [name, value] of Object.entries(TEST_AWS_ENV)) process.env[name] ??= value;

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

/**
 * A table with obcap's keys and no metadata item: the scans below find exactly the items written, and
 * a batch DynamoDB refuses whole is fatal (the writer finds the table is not obcap's).
 */
async function newTable(prefix: string): Promise<string> {
  const table = await createTestTable(admin, prefix, { schema: "keys-only" });
  tables.push(table);
  return table;
}

/**
 * Items shaped like obcap's: several partitions, decimal Numbers already in DynamoDB's canonical form
 * (so they read back identical), ids above 2^53, strings, and a binary attribute.
 */
function makeItems(count: number): Item[] {
  return Array.from({ length: count }, (_, i) => ({
    pk: { S: `btcusd#orders#2026112707#${i % 7}` },
    sk: { S: `${String(1764226800000000 + i).padStart(16, "0")}#${1900000000000000000n + BigInt(i)}` },
    id: { N: (18446744073709551615n - BigInt(i)).toString() },
    price: { N: `58356.${(i % 9) + 1}${(i % 7) + 1}` },
    amount: { N: `0.${String(i).padStart(8, "0")}1` },
    side: { S: i % 2 === 0 ? "buy" : "sell" },
    raw: { B: new TextEncoder().encode(`frame ${i}`) },
  }));
}

async function scanAll(table: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await admin.send(
      new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start as Item | undefined }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

function keyOf(item: Item): string {
  return `${item.pk?.S}\u0000${item.sk?.S}`;
}

/** Every expected item is in the table exactly once with equal attributes, and nothing else is. */
async function expectTableHolds(table: string, expected: Item[]): Promise<void> {
  const stored = await scanAll(table);
  expect(stored.length).toBe(expected.length);
  const byKey = new Map<string, Item>();
  for (const item of stored) {
    expect(byKey.has(keyOf(item))).toBe(false);
    byKey.set(keyOf(item), item);
  }
  for (const item of expected) expect(byKey.get(keyOf(item))).toEqual(item);
}

/** Feeds items through the Batcher into the writer, checking the in-flight bound after each submit. */
async function writeAll(writer: BatchWriter, items: Item[], maxInFlight: number): Promise<number> {
  const batcher = new Batcher();
  let batchesWritten = 0;
  const onWritten = () => batchesWritten++;
  for (const item of items) {
    const batch = batcher.add(item);
    if (batch) {
      await writer.submit(batch, onWritten);
      expect(writer.stats().inFlight).toBeLessThanOrEqual(maxInFlight);
    }
  }
  const rest = batcher.takeBatch();
  if (rest) await writer.submit(rest, onWritten);
  await writer.flush();
  return batchesWritten;
}

describe("BatchWriter on DynamoDB Local", () => {
  test("writes 5,000 items with 8 requests in flight, each exactly once with its exact attribute values", async () => {
    const table = await newTable("bw-plain");
    const client = createDynamoClient({ endpoint });
    const writer = new BatchWriter({ client, table, maxInFlight: 8 });
    const items = makeItems(5_000);
    const batches = await writeAll(writer, items, 8);
    client.destroy();

    expect(batches).toBe(200);
    const stats = writer.stats();
    expect(stats).toMatchObject({ requests: 200, written: 5_000, retryRequests: 0, retriedItems: 0, inFlight: 0, pendingItems: 0 });
    await expectTableHolds(table, items);
  });

  test("writes every item exactly once through ~30% throttling, ~30% partial answers and some 5xx", async () => {
    const table = await newTable("bw-faults");
    await using proxy = startFaultProxy({
      target: endpoint,
      seed: 20261127,
      throttleShare: 0.3,
      partialShare: 0.3,
      serverErrorShare: 0.05,
    });
    const client = createDynamoClient({ endpoint: proxy.url });
    const retries: RetryInfo[] = [];
    const meter = new WriteMeter();
    const writer = new BatchWriter({
      client,
      table,
      maxInFlight: 8,
      backoffBaseMs: 1,
      backoffMaxMs: 20,
      onRetry: (info) => retries.push(info),
      meter,
    });
    const items = makeItems(5_000);
    const batches = await writeAll(writer, items, 8);
    client.destroy();
    // Billed once per item DynamoDB wrote: UnprocessedItems, throttled and 5xx requests wrote nothing.
    const units = items.reduce((sum, item) => sum + Math.max(1, Math.ceil(itemSizeBytes(item) / 1024)), 0);
    expect(meter.stats()).toEqual({ writeUnits: units, itemWrites: 5_000, unknownItems: 0 });

    expect(batches).toBe(200);
    const stats = writer.stats();
    const counts = proxy.counts;
    console.error("[batch-writer faults] writer", JSON.stringify(stats), "proxy", JSON.stringify(counts));
    expect(stats.written).toBe(5_000);
    expect(stats.pendingItems).toBe(0);
    expect(stats.retryRequests).toBeGreaterThan(0);
    expect(stats.requests).toBe(counts.batchWrites);
    expect(stats.throttled).toBe(counts.throttled);
    expect(stats.unprocessedItems).toBe(counts.unprocessedItems);
    expect(stats.transientErrors).toBe(counts.serverErrors);
    expect(stats.retryRequests).toBe(counts.throttled + counts.partial + counts.serverErrors);
    expect(retries.length).toBe(stats.retryRequests);
    expect(counts.throttled).toBeGreaterThan(0);
    expect(counts.partial).toBeGreaterThan(0);
    expect(counts.serverErrors).toBeGreaterThan(0);
    for (const info of retries) {
      expect(info.attempt).toBeGreaterThanOrEqual(1);
      expect(info.delayMs).toBeLessThanOrEqual(20);
    }
    // Items the proxy trimmed out of the requests it forwarded were stored anyway: DynamoDB Local
    // accepts a rewritten body whose SigV4 signature no longer matches.
    await expectTableHolds(table, items);
  });

  test("keeps retrying while DynamoDB is unreachable and writes everything once it answers again", async () => {
    const table = await newTable("bw-outage");
    const port = await freePort();
    const client = createDynamoClient({ endpoint: `http://127.0.0.1:${port}` });
    const reasons: string[] = [];
    const threeRetries = Promise.withResolvers<void>();
    const writer = new BatchWriter({
      client,
      table,
      maxInFlight: 2,
      backoffBaseMs: 5,
      backoffMaxMs: 50,
      onRetry: (info) => {
        reasons.push(info.reason);
        if (reasons.length === 3) threeRetries.resolve();
      },
    });
    const items = makeItems(50);
    await writer.submit(items.slice(0, 25));
    await writer.submit(items.slice(25));
    await threeRetries.promise; // nothing listens on the port yet: every request is refused
    expect(writer.stats().written).toBe(0);
    await using proxy = startFaultProxy({ target: endpoint, port });
    await writer.flush();
    client.destroy();

    expect(reasons[0]).toContain("ECONNREFUSED");
    expect(writer.stats()).toMatchObject({ written: 50, pendingItems: 0 });
    expect(writer.stats().transientErrors).toBeGreaterThanOrEqual(3);
    expect(proxy.counts.batchWrites).toBeGreaterThanOrEqual(2);
    await expectTableHolds(table, items);
  });

  test("stops with E_TABLE_NOT_FOUND and the table create command when the table does not exist", async () => {
    const table = uniqueTableName("bw-missing");
    const client = createDynamoClient({ endpoint });
    const writer = new BatchWriter({ client, table });
    await writer.submit(makeItems(3));
    const error = await writer.flush().then(
      () => undefined,
      (err: unknown) => err,
    );
    client.destroy();

    expect(error).toBeInstanceOf(ObcapError);
    const obcap = error as ObcapError;
    expect(obcap.code).toBe("E_TABLE_NOT_FOUND");
    expect(obcap.message).toContain(table);
    expect(obcap.message).toContain(endpoint);
    expect(obcap.message).toContain(`obcap table create --table ${table}`);
    expect(writer.fatal()).toBe(obcap);
    expect(writer.stats()).toMatchObject({ requests: 1, written: 0, pendingItems: 3, inFlight: 0 });
    // After a fatal error nothing more is accepted.
    await expect(writer.submit(makeItems(1))).rejects.toBe(obcap);
  });

  test("stops with E_AWS_CREDENTIALS when DynamoDB answers UnrecognizedClientException", async () => {
    const table = await newTable("bw-creds");
    await using proxy = startFaultProxy({
      target: endpoint,
      failAllWith: { status: 400, type: "UnrecognizedClientException", message: "The security token included in the request is invalid." },
    });
    const client = createDynamoClient({ endpoint: proxy.url });
    const writer = new BatchWriter({ client, table, maxInFlight: 2 });
    const items = makeItems(75);
    // Three batches for two slots: the third waits for a slot and is refused when the first fails.
    const submitted = await Promise.allSettled([0, 25, 50].map((at) => writer.submit(items.slice(at, at + 25))));
    const error = await writer.flush().then(
      () => undefined,
      (err: unknown) => err,
    );
    client.destroy();

    expect((error as ObcapError).code).toBe("E_AWS_CREDENTIALS");
    expect((error as ObcapError).message).toContain("UnrecognizedClientException");
    expect((error as ObcapError).message).toContain("AWS_ACCESS_KEY_ID");
    expect(submitted.filter((s) => s.status === "fulfilled").length).toBe(2);
    expect(submitted[2]).toEqual({ status: "rejected", reason: error });
    expect(proxy.counts.failedAll).toBe(writer.stats().requests);
  });

  test("stops with E_AWS_VALIDATION naming the first key when DynamoDB rejects the items", async () => {
    const table = await newTable("bw-invalid");
    const client = createDynamoClient({ endpoint });
    const writer = new BatchWriter({ client, table });
    // An empty string set is invalid in DynamoDB.
    await writer.submit([{ pk: { S: "p" }, sk: { S: "s1" }, bad: { SS: [] } }]);
    const error = (await writer.flush().catch((err: unknown) => err)) as ObcapError;
    client.destroy();

    expect(error.code).toBe("E_AWS_VALIDATION");
    expect(error.message).toContain("pk=p sk=s1");
  });

  test("an item DynamoDB refuses in a batch of 25 is handed to onRefused; the 24 others are written and the writer goes on", async () => {
    const client = createDynamoClient({ endpoint });
    const table = await createTestTable(client, "bw-refused");
    tables.push(table);
    const refused: Array<{ key: string; reason: string }> = [];
    const writer = new BatchWriter({ client, table, onRefused: (item, reason) => refused.push({ key: item.sk!.S!, reason }) });
    const good = makeItems(24);
    // A sort key over DynamoDB's 1024 bytes: the whole batch fails validation.
    const bad: Item = { pk: { S: "btcusd#orders#2026112707#0" }, sk: { S: "9".repeat(2000) } };
    let written = false;
    await writer.submit([...good.slice(0, 12), bad, ...good.slice(12)], () => (written = true));
    await writer.flush();
    expect(written).toBe(true);
    expect(refused.map((r) => r.key)).toEqual([bad.sk!.S!]);
    expect(refused[0]!.reason).toMatch(/key/i);
    expect(writer.stats()).toMatchObject({ written: 24, refusedItems: 1, pendingItems: 0 });
    expect(writer.fatal()).toBeUndefined();
    const stored = await admin.send(new ScanCommand({ TableName: table, Select: "COUNT" }));
    expect(stored.Count).toBe(24 + 1); // and the metadata item
    // A later batch goes through as usual.
    await writer.submit(makeItems(30).slice(24));
    await writer.flush();
    expect(writer.stats().written).toBe(30);
    client.destroy();
  });

  test("a refused item at the very start (nothing written yet) is refused, not fatal, when the table is obcap's", async () => {
    const client = createDynamoClient({ endpoint });
    const table = await createTestTable(client, "bw-refused-first");
    tables.push(table);
    const refused: string[] = [];
    const writer = new BatchWriter({ client, table, onRefused: (item) => refused.push(item.sk!.S!) });
    await writer.submit([{ pk: { S: "btcusd#orders#2026112707#0" }, sk: { S: "8".repeat(1025) } }]);
    await writer.flush();
    expect(refused.length).toBe(1);
    expect(writer.fatal()).toBeUndefined();
    client.destroy();
  });

  test("refuses a batch holding one key twice before sending it", async () => {
    const client = createDynamoClient({ endpoint });
    const writer = new BatchWriter({ client, table: "unused" });
    const item: Item = { pk: { S: "p" }, sk: { S: "s" } };
    const error = (await writer.submit([item, { ...item }]).catch((err: unknown) => err)) as ObcapError;
    client.destroy();
    expect(error.code).toBe("E_INTERNAL");
    expect(writer.stats().requests).toBe(0);
  });
});
