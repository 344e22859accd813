/**
 * The item codec through real DynamoDB Local (tests/support/env.ts): frames -> items ->
 * BatchWriteItem / PutItem -> Query / GetItem -> frame text, compared with the original frames
 * (strings byte for byte, numbers by exact value; compact frames byte for byte). This is the
 * check that DynamoDB's own Number canonicalization is what the codec expects.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  BatchWriteItemCommand,
  DeleteTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import { decodeFrame } from "../../src/exchange/bitstamp/decode.ts";
import type { MarketEvent } from "../../src/model/events.ts";
import { encodeItem } from "../../src/store/dynamodb/event-item.ts";
import { decodeItem, decodeItemRx } from "../../src/store/dynamodb/item-decoder.ts";
import type { Item } from "../../src/store/dynamodb/item.ts";
import { itemKey } from "../../src/store/dynamodb/item-identity.ts";
import { EDGE_BASE_ORDER_2026, EDGE_CASES } from "../support/edge-frames.ts";
import { dynamoEndpoint, TEST_AWS_ENV } from "../support/env.ts";
import { createTestTable } from "../support/test-table.ts";
import { parseJsonExactForCompare } from "../support/exact-compare.ts";
import { orderAndTradeFrames } from "../support/fixtures.ts";
import { generateFrames } from "../support/frame-generator.ts";

const SHARDS = 4;
const RX = 1_788_551_766_927_713;

let client: DynamoDBClient;
let table: string;

beforeAll(async () => {
  client = new DynamoDBClient({
    endpoint: await dynamoEndpoint(),
    region: TEST_AWS_ENV.AWS_REGION,
    credentials: { accessKeyId: TEST_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: TEST_AWS_ENV.AWS_SECRET_ACCESS_KEY },
  });
  table = await createTestTable(client, "obcap-item-codec", { schema: "keys-only" });
});

afterAll(async () => {
  await client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
  client.destroy();
});

function eventOf(text: string, rxMicros = RX): MarketEvent {
  const result = decodeFrame(text, rxMicros);
  if (result.kind !== "event") throw new Error(`not an event: ${JSON.stringify(result)}`);
  return result.event;
}

function expectSameFrame(back: string, original: string): void {
  expect(parseJsonExactForCompare(back)).toEqual(parseJsonExactForCompare(original));
  if (!/": |", /.test(original)) expect(back).toBe(original);
}

async function batchWrite(items: Item[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    let requests: WriteRequest[] = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    // DynamoDB Local never leaves UnprocessedItems, but stay correct if it does; bounded.
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt === 5) throw new Error("UnprocessedItems after 5 attempts");
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
      requests = out.UnprocessedItems?.[table] ?? [];
    }
  }
}

async function queryAll(pk: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const out = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: pk } },
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

describe("item codec through DynamoDB Local", () => {
  test("every real order and trade frame and 600 generated ones survive BatchWriteItem and Query exactly", async () => {
    const frames = [
      ...orderAndTradeFrames(),
      ...generateFrames({ pairs: ["btcusd", "usdteur"], countPerPair: 300, hugeIds: true, exponentNumbers: true }),
    ];
    const byKey = new Map<string, string>();
    const items: Item[] = [];
    for (const text of frames) {
      const item = encodeItem(eventOf(text), SHARDS);
      const key = itemKey(item);
      if (byKey.has(key)) throw new Error(`two frames share a key: ${key}`);
      byKey.set(key, text);
      items.push(item);
    }
    await batchWrite(items);

    const pks = new Set(items.map((item) => item.pk?.S ?? ""));
    let read = 0;
    for (const pk of pks) {
      const stored = await queryAll(pk);
      for (const item of stored) {
        const original = byKey.get(itemKey(item));
        if (original === undefined) throw new Error(`unexpected item ${itemKey(item)}`);
        expectSameFrame(decodeItem(item), original);
        expect(decodeItemRx(item)).toBe(RX);
        read++;
      }
    }
    expect(read).toBe(frames.length);
  });

  test.each(Object.entries(EDGE_CASES))("%s survives PutItem and GetItem", async (_name, text) => {
    const item = encodeItem(eventOf(text), SHARDS);
    await client.send(new PutItemCommand({ TableName: table, Item: item }));
    const out = await client.send(new GetItemCommand({ TableName: table, Key: { pk: item.pk!, sk: item.sk! }, ConsistentRead: true }));
    if (out.Item === undefined) throw new Error("item not found");
    expectSameFrame(decodeItem(out.Item), text);
  });

  test("DynamoDB canonicalizes Numbers as the codec expects, and the scale puts the zeros back", async () => {
    const text = EDGE_CASES["filled order with amount 0 and amount_str 0.00000000"] ?? "";
    const item = encodeItem(eventOf(text), SHARDS);
    await client.send(new PutItemCommand({ TableName: table, Item: item }));
    const out = await client.send(new GetItemCommand({ TableName: table, Key: { pk: item.pk!, sk: item.sk! }, ConsistentRead: true }));
    expect(item.a).toEqual({ N: "0.00000000" });
    expect(out.Item?.a).toEqual({ N: "0" });
    expect(out.Item?.p).toEqual({ N: "58356.1" });
    expect(decodeItem(out.Item ?? {})).toBe(text);
  });

  test("the same frame written twice, received at different times, is one item", async () => {
    const first = encodeItem(eventOf(EDGE_BASE_ORDER_2026, 1), SHARDS);
    const second = encodeItem(eventOf(EDGE_BASE_ORDER_2026, 2), SHARDS);
    await batchWrite([first]);
    await batchWrite([second]);
    const stored = (await queryAll(first.pk?.S ?? "")).filter((item) => item.sk?.S === first.sk?.S);
    expect(stored.length).toBe(1);
    expect(decodeItemRx(stored[0] ?? {})).toBe(2);
    expect(decodeItem(stored[0] ?? {})).toBe(EDGE_BASE_ORDER_2026);
  });
});
