/**
 * The REST API (src/api/app.ts) through its handler, no socket, on DynamoDB Local filled by
 * `obcap replay`: every route's happy path, pages across hour buckets and shards that add up to what
 * `obcap export` gives, NDJSON, the book at T against the test exchange's true book, every bad input,
 * the token rule, DynamoDB unreachable. Every response is checked against /openapi.json. The compiled
 * binary's `serve` is tested once over a socket at the end.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Validator } from "@seriousme/openapi-schema-validator";
import { createApi, type ApiHandler } from "../../src/api/app.ts";
import { openApiDocument } from "../../src/api/openapi.ts";
import { TableReader } from "../../src/api/table-reader.ts";
import { VERSION } from "../../src/base/version.ts";
import { journalLine } from "../../src/journal/journal-line.ts";
import { createDynamoClient } from "../../src/store/dynamodb/client.ts";
import { buildJournal, PAIR, truthAt, truthOrders, jsonOrders, type Built, type BookJson } from "../support/book-journal.ts";
import { runObcap, startObcap, testClient } from "../support/capture-harness.ts";
import { freePort } from "../support/dynamodb-local.ts";
import { startFaultProxy } from "../support/fault-proxy.ts";
import { dynamoEndpoint } from "../support/env.ts";
import { generateFrames } from "../support/frame-generator.ts";
import { checkDocument, checkResponse, checkSchema } from "../support/openapi-check.ts";
import { seededRandom } from "../support/seeded-random.ts";
import { createTestTable } from "../support/test-table.ts";
import type { TableLayout } from "../../src/store/dynamodb/table-metadata.ts";
import { testTempDir } from "../support/temp-dirs.ts";

const DOC = openApiDocument(VERSION);
/** 2026-09-04T20:00:00Z: the paged data crosses this hour boundary. */
const HOUR = 1_788_552_000_000_000;

let endpoint: string;
let client: DynamoDBClient;
let bookTable: string;
let pageTable: string;
let built: Built;
let pageFrames: string[];
let api: ApiHandler;
let pageApi: ApiHandler;

async function replay(dir: string, table: string): Promise<void> {
  const run = await runObcap("source", ["replay", dir, "--table", table, "--endpoint", endpoint, "--checkpoint", join(testTempDir("api-cp"), "cp")], {}, 120_000);
  if (run.code !== 0) throw new Error(`replay failed (${run.code}):\n${run.stderr}`);
}

/** The handlers and tables of each layout (the module-level names are the event layout's). */
const byLayout = {} as Record<TableLayout, { api: ApiHandler; pageApi: ApiHandler; bookTable: string; pageTable: string }>;

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
  built = buildJournal(72, 3000, 500);
  // 2,500 frames of btcusd from 25 s before an hour boundary: two hour buckets, every shard, bursts.
  pageFrames = generateFrames({ pairs: [PAIR], countPerPair: 2500, seed: 31, startMicros: HOUR - 25_000_000, meanGapMs: 20 });
  const dir = testTempDir("api-pages");
  writeFileSync(join(dir, "frames.ndjson"), pageFrames.map((f, i) => journalLine(HOUR - 25_000_000 + 1000 * i, f)).join(""));
  const dynamo = createDynamoClient({ endpoint });
  await Promise.all((["event", "packed"] as const).map(async (layout) => {
    const books = await createTestTable(client, "api-book", { layout });
    const pages = await createTestTable(client, "api-pages", { layout });
    await replay(built.dir, books);
    await replay(dir, pages);
    const bookReader = TableReader.open(dynamo, books);
    const pageReader = TableReader.open(dynamo, pages);
    byLayout[layout] = { api: createApi({ reader: () => bookReader }), pageApi: createApi({ reader: () => pageReader }), bookTable: books, pageTable: pages };
  }));
  ({ api, pageApi, bookTable, pageTable } = byLayout.event);
}, 240_000);
afterAll(() => client.destroy());

interface Got {
  status: number;
  type: string;
  body: unknown;
  text: string;
}

/** GET through the handler; the response is checked against the OpenAPI document. */
async function get(handler: ApiHandler, path: string, headers: Record<string, string> = {}): Promise<Got> {
  const response = await handler(new Request(`http://obcap.test${path}`, { headers }));
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  const body = type.startsWith("application/x-ndjson") ? text.split("\n").filter(Boolean).map((l) => JSON.parse(l)) : JSON.parse(text);
  const route = new URL(path, "http://x").pathname;
  // An unknown route answers the documented error shape.
  if (route in (DOC.paths as object)) expect(checkResponse(DOC, route, response.status, type, body)).toEqual([]);
  else expect(checkSchema(DOC, { $ref: "#/components/schemas/Error" }, body)).toEqual([]);
  return { status: response.status, type, body, text };
}

const iso = (micros: number) => new Date(micros / 1000).toISOString();

describe("the document", () => {
  test("/openapi.json is OpenAPI 3.1 with every $ref resolving and every route of the app", async () => {
    const got = await get(api, "/openapi.json");
    expect(got.status).toBe(200);
    expect(checkDocument(got.body as Record<string, unknown>)).toEqual([]);
    // And against the OpenAPI 3.1 schema itself (the OpenAPI Initiative's JSON schema).
    const validator = new Validator();
    const result = await validator.validate(got.body as Parameters<Validator["validate"]>[0]);
    expect({ valid: result.valid, errors: result.errors }).toEqual({ valid: true, errors: undefined });
    expect(validator.version).toBe("3.1");
    // The validator does refuse a broken document (a response without a description).
    const broken = JSON.parse(got.text) as { paths: Record<string, { get: { responses: Record<string, { description?: string }> } }> };
    delete broken.paths["/v1/pairs"]!.get.responses["200"]!.description;
    expect((await new Validator().validate(broken as Parameters<Validator["validate"]>[0])).valid).toBe(false);
    expect(Object.keys((got.body as { paths: object }).paths).sort()).toEqual(["/health", "/openapi.json", "/v1/book", "/v1/events", "/v1/gaps", "/v1/pairs", "/v1/trades"]);
  });
});

for (const layout of ["event", "packed"] as const) describe(`happy paths (${layout} layout)`, () => {
  // The same journal and frames in a table of each layout: the names below shadow the event layout's.
  let api: ApiHandler;
  let pageApi: ApiHandler;
  let bookTable: string;
  let pageTable: string;
  beforeAll(() => {
    ({ api, pageApi, bookTable, pageTable } = byLayout[layout]);
  });

  test("/health: the table answers, version and uptime", async () => {
    const got = await get(api, "/health");
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ status: "ok", table: bookTable, version: VERSION });
  });

  test("/v1/pairs: the pair with both streams and their hours", async () => {
    const got = await get(pageApi, "/v1/pairs");
    expect(got.status).toBe(200);
    const body = got.body as { coverage: string; pairs: { pair: string; streams: Record<string, { hours: number; from_us: number; to_us: number }> }[] };
    expect(body.coverage).toBe("complete");
    expect(body.pairs.map((p) => p.pair)).toEqual([PAIR]);
    expect(body.pairs[0]!.streams.orders).toMatchObject({ hours: 2, from_us: HOUR - 3_600_000_000, to_us: HOUR + 3_600_000_000 });
    expect(body.pairs[0]!.streams.trades?.hours).toBe(2);
  });

  test("/v1/events in pages of 37 across the hour boundary and every shard: the frames of obcap export, in its order, nothing twice", async () => {
    const from = HOUR - 30_000_000;
    const to = HOUR + 60_000_000;
    const exported = await runObcap("source", ["export", "--table", pageTable, "--endpoint", endpoint, "--pair", PAIR, "--stream", "orders", "--from", String(from), "--to", String(to)]);
    expect(exported.code).toBe(0);
    const expected = exported.stdout.split("\n").filter(Boolean);
    expect(expected.length).toBeGreaterThan(1000);
    const got: string[] = [];
    let path = `/v1/events?pair=${PAIR}&from=${iso(from)}&to=${to}&limit=37`;
    let pages = 0;
    for (;;) {
      const page = await get(pageApi, path);
      expect(page.status).toBe(200);
      const body = page.body as { events: unknown[]; next_cursor: string | null; count: number };
      expect(body.count).toBe(body.events.length);
      pages++;
      // Frames come back as sent: cut them out of the raw text to compare bytes, not parsed values.
      got.push(...rawArrayItems(page.text, "events"));
      if (body.next_cursor === null) break;
      expect(body.events.length).toBeGreaterThanOrEqual(37); // a page ends at the end of a microtimestamp
      path = `/v1/events?pair=${PAIR}&limit=37&cursor=${body.next_cursor}`;
    }
    expect(pages).toBeGreaterThan(20);
    expect(got).toEqual(expected);
  });

  test("NDJSON streams the same frames in one answer; type= keeps only that event", async () => {
    const from = HOUR - 30_000_000;
    const to = HOUR + 60_000_000;
    const all = await get(pageApi, `/v1/events?pair=${PAIR}&from=${from}&to=${to}`, { accept: "application/x-ndjson" });
    expect(all.type).toStartWith("application/x-ndjson");
    const lines = all.text.split("\n").filter(Boolean);
    const exported = await runObcap("source", ["export", "--table", pageTable, "--endpoint", endpoint, "--pair", PAIR, "--stream", "orders", "--from", String(from), "--to", String(to)]);
    expect(lines).toEqual(exported.stdout.split("\n").filter(Boolean));
    const deleted = await get(pageApi, `/v1/events?pair=${PAIR}&from=${from}&to=${to}&type=order_deleted`, { accept: "application/x-ndjson" });
    const kept = deleted.text.split("\n").filter(Boolean);
    expect(kept).toEqual(lines.filter((l) => l.includes('"event":"order_deleted"')));
    expect(kept.length).toBeGreaterThan(100);
  });

  test("/v1/trades: the trades of the range, as export gives them", async () => {
    const from = HOUR - 30_000_000;
    const to = HOUR + 60_000_000;
    const page = await get(pageApi, `/v1/trades?pair=${PAIR}&from=${from}&to=${to}&limit=1000`);
    const exported = await runObcap("source", ["export", "--table", pageTable, "--endpoint", endpoint, "--pair", PAIR, "--stream", "trades", "--from", String(from), "--to", String(to)]);
    expect(rawArrayItems(page.text, "trades")).toEqual(exported.stdout.split("\n").filter(Boolean));
    expect((page.body as { next_cursor: unknown }).next_cursor).toBeNull();
  });

  test("/v1/book?level=3 at random instants: the exchange's true book, order by order", async () => {
    const rand = seededRandom(3);
    const last = built.truth.micros.at(-1)!;
    for (let k = 0; k < 4; k++) {
      const at = built.firstSnapshotMicros + Math.floor(rand() * (last - built.firstSnapshotMicros));
      const got = await get(api, `/v1/book?pair=${PAIR}&at=${at}&level=3&depth=10000`);
      expect(got.status).toBe(200);
      expect(jsonOrders(got.body as BookJson)).toEqual(truthOrders(truthAt(built.truth, at)));
    }
    const l2 = await get(api, `/v1/book?pair=${PAIR}&at=${last}`);
    expect((l2.body as { bids: { queue?: unknown }[] }).bids[0]?.queue).toBeUndefined();
    expect((l2.body as { bids: unknown[] }).bids.length).toBeLessThanOrEqual(20);
  });

  test("/v1/gaps: the recorded gap of the order channel, with its times", async () => {
    const got = await get(api, `/v1/gaps?pair=${PAIR}&from=${built.gap.startMicros - 1_000_000}&to=${built.gap.endMicros + 1_000_000}`);
    expect(got.status).toBe(200);
    const gaps = (got.body as { gaps: { stream: string; start_us: number; end_us: number; reason: string }[] }).gaps.filter((g) => g.reason === "dropped");
    expect(gaps).toEqual([{ stream: "orders", start: iso(built.gap.startMicros).replace("Z", "000Z"), end: iso(built.gap.endMicros).replace("Z", "000Z"), start_us: built.gap.startMicros, end_us: built.gap.endMicros, reason: "dropped", recorded_us: expect.any(Number) } as never]);
  });
});

describe("bad input: 400 naming the parameter, 404, 405", () => {
  const cases: [string, number, string | undefined][] = [
    ["/v1/events?from=2026-09-04&to=2026-09-05", 400, "pair"],
    ["/v1/events?pair=BTC-USD&from=2026-09-04&to=2026-09-05", 400, "pair"],
    ["/v1/events?pair=btcusd&to=2026-09-05", 400, "from"],
    ["/v1/events?pair=btcusd&from=yesterday&to=2026-09-05", 400, "from"],
    ["/v1/events?pair=btcusd&from=2026-09-05&to=2026-09-04", 400, "from"],
    ["/v1/events?pair=btcusd&from=2026-09-04&to=2026-09-05&limit=0", 400, "limit"],
    ["/v1/events?pair=btcusd&from=2026-09-04&to=2026-09-05&limit=5000", 400, "limit"],
    ["/v1/events?pair=btcusd&from=2026-09-04&to=2026-09-05&type=trade", 400, "type"],
    ["/v1/events?pair=btcusd&from=2026-09-04&to=2026-09-05&form=x", 400, "form"],
    ["/v1/events?pair=btcusd&pair=ethusd&from=2026-09-04&to=2026-09-05", 400, "pair"],
    ["/v1/events?pair=btcusd&cursor=bm90IGEgY3Vyc29y", 400, "cursor"],
    ["/v1/events?pair=btcusd&cursor=%24%24%24", 400, "cursor"],
    ["/v1/book?pair=btcusd", 400, "at"],
    ["/v1/book?pair=btcusd&at=2026-09-04T20:00Z&level=4", 400, "level"],
    ["/v1/gaps?pair=btcusd&from=2026-09-05&to=2026-09-04", 400, "from"],
    ["/v1/pairs?x=1", 400, "x"],
    ["/v1/events?pair=ethusd&from=2026-09-04&to=2026-09-05", 404, undefined],
    ["/v1/book?pair=ethusd&at=2026-09-04T20:00Z", 404, undefined],
    ["/v2/events", 404, undefined],
  ];
  for (const [path, status, parameter] of cases) {
    test(`${path} -> ${status}${parameter ? ` (${parameter})` : ""}`, async () => {
      const got = await get(pageApi, path);
      expect(got.status).toBe(status);
      const error = (got.body as { error: { code: string; message: string; parameter?: string } }).error;
      expect(error.parameter).toBe(parameter);
      expect(error.message.length).toBeGreaterThan(10);
      expect(got.text).not.toContain("    at "); // never a stack trace
    });
  }

  test("a cursor of another pair or range is refused; NDJSON over more than 24 h is refused", async () => {
    const first = await get(pageApi, `/v1/events?pair=${PAIR}&from=${HOUR - 30_000_000}&to=${HOUR + 60_000_000}&limit=10`);
    const cursor = (first.body as { next_cursor: string }).next_cursor;
    expect((await get(pageApi, `/v1/trades?pair=${PAIR}&cursor=${cursor}`)).status).toBe(400);
    expect((await get(pageApi, `/v1/events?pair=${PAIR}&from=${HOUR}&cursor=${cursor}`)).status).toBe(400);
    const streamed = await get(pageApi, `/v1/events?pair=${PAIR}&from=2026-09-01&to=2026-09-04`, { accept: "application/x-ndjson" });
    expect(streamed.status).toBe(400);
    expect((streamed.body as { error: { parameter: string; message: string } }).error).toMatchObject({ parameter: "to" });
  });

  test("a time before the first snapshot: 404 E_NO_SNAPSHOT, and why", async () => {
    const got = await get(api, `/v1/book?pair=${PAIR}&at=${built.truth.micros[0]! - 60_000_000}`);
    expect(got.status).toBe(404);
    expect((got.body as { error: { code: string } }).error.code).toBe("E_NO_SNAPSHOT");
  });

  test("POST: 405 with Allow", async () => {
    const response = await api(new Request("http://obcap.test/v1/pairs", { method: "POST", body: "{}" }));
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
  });
});

describe("the token rule and DynamoDB down", () => {
  test("with a token: none or a wrong one is 401, the right one answers; /health needs none", async () => {
    const token = "0123456789abcdef0123456789abcdef";
    const guarded = createApi({ reader: () => TableReader.open(createDynamoClient({ endpoint }), pageTable), token });
    expect((await get(guarded, "/v1/pairs")).status).toBe(401);
    expect((await get(guarded, "/v1/pairs", { authorization: `Bearer ${token.slice(0, -1)}x` })).status).toBe(401);
    expect((await get(guarded, "/v1/pairs", { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await get(guarded, "/health")).status).toBe(200);
  });

  test("DynamoDB unreachable: 503 with a JSON body naming the endpoint, on every data route and /health", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const down = createApi({ reader: () => TableReader.open(createDynamoClient({ endpoint: closed }), pageTable) });
    for (const path of ["/v1/pairs", `/v1/events?pair=${PAIR}&from=${HOUR}&to=${HOUR + 1}`, "/health"]) {
      const got = await get(down, path);
      expect(got.status).toBe(503);
      expect(got.text).toContain(closed);
    }
  }, 60_000);
});

describe("the table going away after the start", () => {
  test("/health and the data routes answer 503 once DynamoDB stops answering, 200 while it does", async () => {
    const proxy = await startFaultProxy({ target: endpoint });
    const reader = TableReader.open(createDynamoClient({ endpoint: proxy.url }), pageTable);
    const handler = createApi({ reader: () => reader });
    expect((await get(handler, "/health")).status).toBe(200);
    await proxy.stop();
    for (const path of ["/health", `/v1/events?pair=${PAIR}&from=${HOUR}&to=${HOUR + 1_000_000}`]) {
      const got = await get(handler, path);
      expect(got.status).toBe(503);
      expect(got.text).toContain(proxy.url);
    }
  }, 60_000);
});

describe("the compiled binary", () => {
  test("obcap serve answers over HTTP like the handler, refuses a public address without a token, and stops on SIGTERM", async () => {
    const refused = await runObcap("binary", ["serve", "--table", pageTable, "--endpoint", endpoint, "--host", "0.0.0.0", "--port", "0"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--token-file");
    const serve = startObcap("binary", ["serve", "--table", pageTable, "--endpoint", endpoint, "--port", "0"]);
    try {
      await serve.waitForLog("serving table", 20_000);
      const url = /on (http:\/\/\S+) /.exec(serve.stderr())![1]!;
      const path = `/v1/events?pair=${PAIR}&from=${HOUR - 30_000_000}&to=${HOUR + 60_000_000}&limit=100`;
      const overHttp = await fetch(`${url}${path}`);
      expect(overHttp.status).toBe(200);
      expect(await overHttp.text()).toBe((await get(pageApi, path)).text);
      serve.child.kill("SIGTERM");
      expect(await serve.exited).toBe(0);
    } finally {
      serve.child.kill("SIGKILL");
    }
  }, 60_000);
});

/** The items of the top-level array `key` of a JSON text, each as its own text (frames compared byte for byte). */
function rawArrayItems(text: string, key: string): string[] {
  const start = text.indexOf(`"${key}":[`) + key.length + 4;
  const items: string[] = [];
  let depth = 0;
  let inString = false;
  let itemStart = start;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      if (depth === 0) {
        if (i > itemStart) items.push(text.slice(itemStart, i));
        return items;
      }
      depth--;
    } else if (c === "," && depth === 0) {
      items.push(text.slice(itemStart, i));
      itemStart = i + 1;
    }
  }
  throw new Error(`no end of ${key}`);
}
