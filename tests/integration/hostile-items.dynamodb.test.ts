/**
 * Which items real DynamoDB Local refuses, and whether `itemProblem` (src/store/dynamodb/item-limits.ts)
 * says so first. Every item the hostile-frame corpus (tests/support/hostile-frames.ts) makes, plus
 * items built at each documented limit and one past it, is sent alone in a BatchWriteItem (one
 * PutRequest: a refusal is that item's), with obcap's own client (createDynamoClient: one attempt,
 * no SDK retry). The test asserts the agreement both ways: every item DynamoDB Local refuses is
 * flagged by itemProblem, and every flagged item is refused, except where DynamoDB Local is more
 * lenient than the documented limit (LOCAL_IS_LENIENT below): itemProblem keeps the documented limit,
 * because real DynamoDB enforces it.
 *
 * Run: node_modules/.bin/bun tests/support/run-with-services.ts tests/integration/hostile-items.dynamodb.test.ts
 * (OBCAP_PRINT_HOSTILE_TABLE=1 prints what each item did.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BatchWriteItemCommand, DeleteTableCommand, GetItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { decodeFrame } from "../../src/exchange/bitstamp/decode.ts";
import { StoredItems } from "../../src/pipeline/stored-item.ts";
import { createDynamoClient } from "../../src/store/dynamodb/client.ts";
import type { Item } from "../../src/store/dynamodb/item.ts";
import { ITEM_MAX_BYTES, itemProblem, itemSizeBytes } from "../../src/store/dynamodb/item-limits.ts";
import { dynamoEndpoint, TEST_AWS_ENV } from "../support/env.ts";
import { createTestTable } from "../support/test-table.ts";
import { hostileFrames } from "../support/hostile-frames.ts";

const RX = 1_788_551_766_927_713;

interface Case {
  name: string;
  item: Item;
}

/** What DynamoDB Local did with one item. */
interface Verdict {
  name: string;
  flagged: string | undefined;
  refused: string | undefined;
  /** For an accepted item: whether GetItem with the same key finds it, and the attribute that differs, if any. */
  readBack?: string;
}

/**
 * Items DynamoDB Local takes although a documented limit forbids them. itemProblem keeps flagging
 * them: the Developer Guide is what real DynamoDB enforces, and an item that only a local emulator
 * takes must not reach the real table and stop the capture there. Measured on the DynamoDB Local
 * jar of amplify-dynamodb-simulator: every other limit (keys, 400 KB, Numbers, nesting, NULL, sets,
 * names) it enforces at exactly the documented boundary.
 *
 * Lone surrogates: the SDK serializes the request with JSON.stringify, which writes a lone surrogate
 * as the escape `\ud800` (checked on the request body), so the body is valid UTF-8; DynamoDB Local
 * (Java, UTF-16 strings) stores the lone surrogate and GetItem returns it unchanged, in a sort key
 * too. The Developer Guide says strings are "Unicode with UTF-8 binary encoding", which a lone
 * surrogate cannot be; what real DynamoDB does is not documented, so the documented rule stands.
 */
const LONE_SURROGATE = "a lone UTF-16 surrogate (no UTF-8 form): DynamoDB Local stores and returns it; real DynamoDB's strings are documented as UTF-8";
const LOCAL_IS_LENIENT: Record<string, string> = {
  "escaped lone high surrogate in event_id": LONE_SURROGATE,
  "escaped lone low surrogate in order_source": LONE_SURROGATE,
  "escaped lone surrogate in pre_event_id": LONE_SURROGATE,
  "raw lone surrogate in event_id (string frame)": LONE_SURROGATE,
  "limit: lone surrogate in S": LONE_SURROGATE,
  "limit: lone surrogate in sk": LONE_SURROGATE,
};

/** An item of the capture table's shape: pk, sk and the given attributes. */
function item(attributes: Item, pk = "btcusd#orders#2026080910#0", sk = "1786269861947000#limit"): Item {
  return { pk: { S: pk }, sk: { S: sk }, ...attributes };
}

/** `levels` lists (or maps) around a scalar: the scalar sits at level `levels + 1`. */
function nestedValue(kind: "L" | "M", levels: number): Item[string] {
  let value: Item[string] = { S: "leaf" };
  for (let i = 0; i < levels; i++) value = kind === "L" ? { L: [value] } : { M: { a: value } };
  return value;
}

/** An item whose size by DynamoDB's rules is exactly `bytes` (padding in one String attribute). */
function itemOfSize(bytes: number, sk: string): Item {
  const base = item({ x: { S: "" } }, undefined, sk);
  return item({ x: { S: "x".repeat(bytes - itemSizeBytes(base)) } }, undefined, sk);
}

/** Items at each documented limit (accepted) and one past it (refused), each with its own key. */
function limitCases(): Case[] {
  const pkBase = "btcusd#orders#2026080910#";
  const cases: Case[] = [
    { name: "limit: pk 2048 bytes", item: item({}, pkBase + "0".repeat(2048 - pkBase.length)) },
    { name: "limit: pk 2049 bytes", item: item({}, pkBase + "0".repeat(2049 - pkBase.length)) },
    { name: "limit: sk 1024 bytes", item: item({}, undefined, "s".repeat(1024)) },
    { name: "limit: sk 1025 bytes", item: item({}, undefined, "s".repeat(1025)) },
    { name: "limit: sk 1024 bytes of UTF-8 (341 euro signs + 1)", item: item({}, undefined, `${"€".repeat(341)}x`) },
    { name: "limit: sk 1026 bytes of UTF-8 (342 euro signs)", item: item({}, undefined, "€".repeat(342)) },
    { name: "limit: empty sk", item: item({}, undefined, "") },
    { name: "limit: empty pk", item: item({}, "") },
    { name: "limit: item 400 KB exactly", item: itemOfSize(ITEM_MAX_BYTES, "size-exact") },
    { name: "limit: item 400 KB + 1 byte", item: itemOfSize(ITEM_MAX_BYTES + 1, "size-over") },
    { name: "limit: N 38 significant digits", item: item({ n: { N: "1234567890123456789012345678901234567.8" } }, undefined, "n38") },
    { name: "limit: N 39 significant digits", item: item({ n: { N: "123456789012345678901234567890123456789" } }, undefined, "n39") },
    { name: "limit: N 1 followed by 40 zeros (1 significant digit)", item: item({ n: { N: `1${"0".repeat(40)}` } }, undefined, "n1e40") },
    { name: "limit: N 38 digits and trailing zeros", item: item({ n: { N: `${"9".repeat(38)}000.000` } }, undefined, "n38z") },
    { name: "limit: N 1E-130", item: item({ n: { N: "1E-130" } }, undefined, "nmin") },
    { name: "limit: N 1E-131", item: item({ n: { N: "1E-131" } }, undefined, "nmin-") },
    { name: "limit: N -1E-130", item: item({ n: { N: "-1E-130" } }, undefined, "nnegmin") },
    { name: "limit: N 9.99…E+125 (38 nines)", item: item({ n: { N: `9.${"9".repeat(37)}E+125` } }, undefined, "nmax") },
    { name: "limit: N 1E+126", item: item({ n: { N: "1E+126" } }, undefined, "nmax+") },
    { name: "limit: N 0.(129 zeros)1 = 1E-130", item: item({ n: { N: `0.${"0".repeat(129)}1` } }, undefined, "nminplain") },
    { name: "limit: N 0E+999 (zero)", item: item({ n: { N: "0E+999" } }, undefined, "nzero") },
    { name: "limit: N not a number", item: item({ n: { N: "12abc" } }, undefined, "nbad") },
    { name: "limit: N NaN", item: item({ n: { N: "NaN" } }, undefined, "nnan") },
    { name: "limit: N Infinity", item: item({ n: { N: "Infinity" } }, undefined, "ninf") },
    { name: "limit: L nesting 31 lists (scalar at level 32)", item: item({ l: nestedValue("L", 31) }, undefined, "l31") },
    { name: "limit: L nesting 32 lists (scalar at level 33)", item: item({ l: nestedValue("L", 32) }, undefined, "l32") },
    { name: "limit: M nesting 31 maps (scalar at level 32)", item: item({ m: nestedValue("M", 31) }, undefined, "m31") },
    { name: "limit: M nesting 32 maps (scalar at level 33)", item: item({ m: nestedValue("M", 32) }, undefined, "m32") },
    { name: "limit: empty S outside the key", item: item({ s: { S: "" } }, undefined, "emptys") },
    { name: "limit: NUL in S and in sk", item: item({ s: { S: "a\u0000b" } }, undefined, "nul\u0000sk") },
    { name: "limit: lone surrogate in S", item: item({ s: { S: "a\ud800b" } }, undefined, "lone-s") },
    { name: "limit: lone surrogate in sk", item: item({}, undefined, "lone\udc00sk") },
    { name: "limit: NULL false", item: item({ z: { NULL: false } }, undefined, "nullfalse") },
    { name: "limit: empty SS", item: item({ ss: { SS: [] } }, undefined, "ssempty") },
    { name: "limit: SS with a duplicate", item: item({ ss: { SS: ["a", "a"] } }, undefined, "ssdup") },
    { name: "limit: empty attribute name", item: item({ "": { S: "x" } }, undefined, "noname") },
  ];
  return cases;
}

/** Every item the corpus makes (events that StoredItems.of turns into items). */
function corpusCases(): Case[] {
  const cases: Case[] = [];
  for (const { name, frame } of hostileFrames()) {
    const result = decodeFrame(frame, RX);
    if (result.kind !== "event" && result.kind !== "gap") continue;
    let items: Item[];
    try {
      items = new StoredItems(4).of(result);
    } catch {
      continue; // hostile-frames.test.ts reports these; none reach DynamoDB
    }
    items.forEach((it, i) => cases.push({ name: items.length > 1 ? `${name} #${i + 1}` : name, item: it }));
  }
  return cases;
}

let client: DynamoDBClient;
let table: string;
const verdicts: Verdict[] = [];

async function put(it: Item): Promise<string | undefined> {
  try {
    const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: [{ PutRequest: { Item: it } }] } }));
    const left = out.UnprocessedItems?.[table]?.length ?? 0;
    return left > 0 ? `left unprocessed (${left})` : undefined;
  } catch (err) {
    const e = err as Error;
    return `${e.name}: ${e.message}`;
  }
}

/** For an accepted item: GetItem by its key, and what differs from what was sent. */
async function readBack(it: Item): Promise<string> {
  const key = { pk: it.pk!, sk: it.sk! };
  const out = await client.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }));
  if (out.Item === undefined) return "not found by its key";
  for (const [name, sent] of Object.entries(it)) {
    const back = out.Item[name];
    if (sent.S !== undefined && back?.S !== sent.S) return `${name} came back as ${JSON.stringify(back?.S)}`;
  }
  return "same strings";
}

beforeAll(async () => {
  for (const [name, value] of Object.entries(TEST_AWS_ENV)) process.env[name] ??= value;
  client = createDynamoClient({ endpoint: await dynamoEndpoint(), region: TEST_AWS_ENV.AWS_REGION });
  table = await createTestTable(client, "obcap-hostile", { schema: "keys-only" });
  for (const { name, item: it } of [...corpusCases(), ...limitCases()]) {
    const flagged = itemProblem(it);
    const refused = await put(it);
    verdicts.push({ name, flagged, refused, ...(refused === undefined ? { readBack: await readBack(it) } : {}) });
  }
  if (process.env.OBCAP_PRINT_HOSTILE_TABLE === "1") {
    const cell = (s: string | undefined) => (s ?? "—").replace(/\|/g, "/").replace(/\s+/g, " ").slice(0, 160);
    console.log(
      ["| item | itemProblem | DynamoDB Local | read back |", "|---|---|---|---|", ...verdicts.map((v) => `| ${v.name} | ${cell(v.flagged)} | ${cell(v.refused ?? "accepted")} | ${cell(v.readBack)} |`)].join("\n"),
    );
  }
}, 120_000);

afterAll(async () => {
  await client?.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
  client?.destroy();
});

describe("hostile items against DynamoDB Local", () => {
  test("every item DynamoDB Local refuses is flagged by itemProblem first", () => {
    const missed = verdicts.filter((v) => v.refused !== undefined && v.flagged === undefined).map((v) => `${v.name}: ${v.refused}`);
    expect(missed).toEqual([]);
  });

  test("every item itemProblem flags is refused by DynamoDB Local, except where Local is more lenient than the documented limit", () => {
    const accepted = verdicts.filter((v) => v.flagged !== undefined && v.refused === undefined).map((v) => v.name);
    expect(accepted.sort()).toEqual(Object.keys(LOCAL_IS_LENIENT).sort());
  });

  test("DynamoDB Local refuses with a ValidationException, the error the batch writer treats as fatal", () => {
    const other = verdicts.filter((v) => v.refused !== undefined && !v.refused.startsWith("ValidationException")).map((v) => `${v.name}: ${v.refused}`);
    expect(other).toEqual([]);
  });

  test("the corpus reaches every key limit and the item size limit", () => {
    const refusedCorpus = verdicts.filter((v) => !v.name.startsWith("limit:") && v.refused !== undefined).map((v) => v.name);
    expect(refusedCorpus).toContain("event_id 1008 chars (sk 1025 bytes)");
    expect(refusedCorpus).toContain("pair 2029 chars (pk 2049 bytes)");
    expect(refusedCorpus).toContain("30 long keys before known fields (item over 400 KB)");
    expect(refusedCorpus).not.toContain("event_id 1007 chars (sk 1024 bytes)");
    expect(refusedCorpus).not.toContain("pair 2028 chars (pk 2048 bytes)");
  });
});
