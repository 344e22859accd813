/**
 * The Lambda handler as `make lambda` builds it (dist/obcap-api-lambda.zip, index.mjs at its root),
 * unzipped and run under Node.js (tests/support/lambda-runner.mjs) with real-format API Gateway v2
 * and function URL events, against DynamoDB Local: the same answers as the handler `obcap serve`
 * runs, every response checked against the OpenAPI document.
 */
import { beforeAll, afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { openApiDocument } from "../../src/api/openapi.ts";
import { VERSION } from "../../src/base/version.ts";
import { buildJournal, PAIR, truthAt, truthOrders, jsonOrders, type Built, type BookJson } from "../support/book-journal.ts";
import { runObcap, testClient } from "../support/capture-harness.ts";
import { freePort } from "../support/dynamodb-local.ts";
import { dynamoEndpoint, TEST_AWS_ENV } from "../support/env.ts";
import { httpApiEvent } from "../support/http-api-event.ts";
import { checkResponse } from "../support/openapi-check.ts";
import { createTestTable } from "../support/test-table.ts";
import { testTempDir } from "../support/temp-dirs.ts";

const ROOT = resolve(import.meta.dir, "../..");
const ZIP = join(ROOT, "dist/obcap-api-lambda.zip");
const RUNNER = join(ROOT, "tests/support/lambda-runner.mjs");
const DOC = openApiDocument(VERSION);

let endpoint: string;
let client: DynamoDBClient;
let table: string;
let built: Built;
let dir: string;

interface Invocation {
  result: { statusCode: number; headers: Record<string, string>; body: string; isBase64Encoded: boolean };
  ms: number;
}

/** Invokes the built handler under Node.js with `events`, in one process (one container). */
function invoke(events: Record<string, unknown>[], env: Record<string, string | undefined>): { node: string; loadMs: number; results: Invocation[] } {
  const file = join(testTempDir("lambda-events"), "events.json");
  writeFileSync(file, JSON.stringify(events));
  const run = spawnSync("node", [RUNNER, dir, file], { encoding: "utf8", env: { PATH: process.env.PATH, ...TEST_AWS_ENV, ...env }, timeout: 60_000 });
  if (run.status !== 0) throw new Error(`node exited ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

type Checked = { status: number; body: any };

function checked(event: Record<string, unknown>, invocation: Invocation): Checked {
  const { result } = invocation;
  expect(result.isBase64Encoded).toBe(false);
  const type = result.headers["content-type"] ?? "";
  const body = type.startsWith("application/x-ndjson") ? result.body.split("\n").filter(Boolean).map((l) => JSON.parse(l)) : JSON.parse(result.body);
  expect(checkResponse(DOC, event.rawPath as string, result.statusCode, type, body)).toEqual([]);
  return { status: result.statusCode, body };
}

beforeAll(async () => {
  if (!existsSync(ZIP)) {
    const made = spawnSync("make", ["-s", "lambda"], { cwd: ROOT, encoding: "utf8" });
    if (made.status !== 0) throw new Error(`make lambda failed: ${made.stderr}`);
  }
  dir = testTempDir("lambda-unzipped");
  const unzip = spawnSync("unzip", ["-q", ZIP, "-d", dir], { encoding: "utf8" });
  if (unzip.status !== 0) throw new Error(`unzip failed: ${unzip.stderr}`);
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
  table = await createTestTable(client, "lambda");
  built = buildJournal(74, 1500, 300);
  const replayed = await runObcap("source", ["replay", built.dir, "--table", table, "--endpoint", endpoint, "--checkpoint", join(testTempDir("lambda-cp"), "cp")], {}, 120_000);
  if (replayed.code !== 0) throw new Error(`replay failed: ${replayed.stderr}`);
}, 180_000);
afterAll(() => client.destroy());

describe("the built handler under Node.js", () => {
  test("the zip holds index.mjs at its root, and it exports handler", () => {
    const list = spawnSync("unzip", ["-Z1", ZIP], { encoding: "utf8" }).stdout.trim().split("\n");
    expect(list).toEqual(["index.mjs"]);
  });

  test("API Gateway v2 and function URL events: health, pairs, events with a cursor, book, gaps, errors", async () => {
    const from = built.truth.micros[0]!;
    const to = built.truth.micros.at(-1)! + 1;
    const at = built.truth.micros[1000]!;
    const events = [
      httpApiEvent("/health"),
      httpApiEvent("/v1/pairs"),
      httpApiEvent(`/v1/events?pair=${PAIR}&from=${from}&to=${to}&limit=200`),
      httpApiEvent(`/v1/book?pair=${PAIR}&at=${at}&level=3&depth=10000`, { functionUrl: true }),
      httpApiEvent(`/v1/gaps?pair=${PAIR}&from=${from}&to=${to}`),
      httpApiEvent(`/v1/events?pair=${PAIR}&from=${to}&to=${from}`),
      httpApiEvent(`/v1/events?pair=ethusd&from=${from}&to=${to}`),
      httpApiEvent(`/v1/trades?pair=${PAIR}&from=${from}&to=${to}`, { headers: { accept: "application/x-ndjson" } }),
    ];
    const out = invoke(events, { OBCAP_TABLE: table, AWS_ENDPOINT_URL_DYNAMODB: endpoint });
    expect(out.node).toStartWith("v");
    const [health, pairs, page, book, gaps, backwards, unknown, trades] = out.results.map((r, i) => checked(events[i]!, r)) as [Checked, Checked, Checked, Checked, Checked, Checked, Checked, Checked];
    expect(out.results).toHaveLength(events.length);
    expect(health).toMatchObject({ status: 200, body: { status: "ok", table } });
    expect(pairs.body.pairs.map((p: { pair: string }) => p.pair)).toEqual([PAIR]);
    expect(page.status).toBe(200);
    expect(page.body.events.length).toBeGreaterThanOrEqual(200);
    expect(typeof page.body.next_cursor).toBe("string");
    expect(jsonOrders(book.body as BookJson)).toEqual(truthOrders(truthAt(built.truth, at)));
    expect(gaps.body.gaps.some((g: { reason: string; start_us: number }) => g.reason === "dropped" && g.start_us === built.gap.startMicros)).toBe(true);
    expect(backwards).toMatchObject({ status: 400, body: { error: { parameter: "from" } } });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: "E_UNKNOWN_PAIR" } } });
    expect(trades.status).toBe(200);
    expect(trades.body.length).toBeGreaterThan(10);

    // The next page, in a new invocation of the same container.
    const next = httpApiEvent(`/v1/events?pair=${PAIR}&limit=200&cursor=${page.body.next_cursor}`);
    const second = checked(next, invoke([next], { OBCAP_TABLE: table, AWS_ENDPOINT_URL_DYNAMODB: endpoint }).results[0]!);
    expect(second.status).toBe(200);
    expect(second.body.from_us).toBe(page.body.from_us);
    const lastOfFirst = JSON.parse(JSON.stringify(page.body.events.at(-1))).data.microtimestamp;
    expect(Number(second.body.events[0].data.microtimestamp)).toBeGreaterThan(Number(lastOfFirst));
  }, 60_000);

  test("OBCAP_API_TOKEN: 401 without the bearer token, 200 with it; no OBCAP_TABLE: 503 saying so", async () => {
    const token = "abcdefghijklmnop0123456789";
    const events = [httpApiEvent("/v1/pairs"), httpApiEvent("/v1/pairs", { headers: { authorization: `Bearer ${token}` } })];
    const out = invoke(events, { OBCAP_TABLE: table, AWS_ENDPOINT_URL_DYNAMODB: endpoint, OBCAP_API_TOKEN: token });
    expect(out.results.map((r) => r.result.statusCode)).toEqual([401, 200]);
    const none = invoke([httpApiEvent("/health")], { AWS_ENDPOINT_URL_DYNAMODB: endpoint });
    expect(none.results[0]!.result.statusCode).toBe(503);
    expect(none.results[0]!.result.body).toContain("OBCAP_TABLE");
  }, 60_000);

  test("DynamoDB unreachable: 503 with a JSON body, no stack trace", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const event = httpApiEvent(`/v1/events?pair=${PAIR}&from=2026-09-04&to=2026-09-05`);
    const out = invoke([event], { OBCAP_TABLE: table, AWS_ENDPOINT_URL_DYNAMODB: closed });
    const got = checked(event, out.results[0]!);
    expect(got.status).toBe(503);
    expect(got.body.error.message).toContain(closed);
    expect(out.results[0]!.result.body).not.toContain("    at ");
  }, 60_000);
});
