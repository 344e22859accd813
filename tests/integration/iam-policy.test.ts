/**
 * The IAM policies of README "Install on a server" against the code:
 * - from the source: every DynamoDB action the code of a job can call (tests/support/aws-actions.ts:
 *   the modules its command reaches, and the SDK commands they construct) is in that job's policy,
 *   and the policy grants no action the code never calls; every action anywhere in src/ is in one of
 *   the policies;
 * - at run time: each job runs through an IAM stand-in (tests/support/policy-proxy.ts) in front of
 *   DynamoDB Local that refuses every action its documented policy does not allow, and must work:
 *   `table create` and `table coverage` (administration), replay and a live capture whose packed
 *   windows merge with stored ones (capture), export and `serve` (read only). Controls show the stand-in refuses: a capture
 *   with the read-only policy stops with E_AWS_ACCESS_DENIED naming the action.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { actionsOfModule, actionsReachable } from "../support/aws-actions.ts";
import { playThenStop, ROOT, runObcap, startObcap, testClient } from "../support/capture-harness.ts";
import { dynamoEndpoint } from "../support/env.ts";
import { canonicalJson } from "../support/exact-compare.ts";
import { startFakeExchange } from "../support/fake-exchange.ts";
import { generateFrames } from "../support/frame-generator.ts";
import { startPolicyProxy, type IdentityPolicy, type PolicyProxy } from "../support/policy-proxy.ts";
import { testTempDir } from "../support/temp-dirs.ts";
import { createTestTable, uniqueTableName } from "../support/test-table.ts";

const SRC = resolve(ROOT, "src");
const README = readFileSync(resolve(ROOT, "README.md"), "utf8");

/** The JSON block that follows `<!-- iam:NAME -->` in the README. */
function documentedPolicy(name: string): IdentityPolicy {
  const at = README.indexOf(`<!-- iam:${name} -->`);
  if (at === -1) throw new Error(`README.md has no <!-- iam:${name} --> policy`);
  const block = /```json\n([\s\S]*?)```/.exec(README.slice(at));
  if (!block) throw new Error(`README.md: no json block after <!-- iam:${name} -->`);
  return JSON.parse(block[1] as string) as IdentityPolicy;
}

function actionsOf(policy: IdentityPolicy): string[] {
  return policy.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).map((a) => a.replace(/^dynamodb:/, "")).sort();
}

/** The documented policy with its placeholders filled for the test table(s): any region and account. */
function policyFor(name: string, tables: readonly string[]): IdentityPolicy {
  const policy = documentedPolicy(name);
  return {
    ...policy,
    Statement: policy.Statement.map((s) => ({
      ...s,
      Resource: (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).flatMap((r) =>
        tables.map((t) => r.replace("REGION", "*").replace("ACCOUNT", "*").replace(/table\/Orders$/, `table/${t}`)),
      ),
    })),
  };
}

/**
 * The jobs, their entry modules and policies. `beyondPolicy`: an action the job's code can reach but
 * the policy leaves out on purpose, and why (a test below shows the job still behaves without it).
 */
const JOBS = {
  capture: { policy: "capture", entries: ["cli/capture.ts", "cli/pipeline.worker.ts", "cli/replay.ts"], beyondPolicy: {} },
  read: {
    policy: "read",
    entries: ["cli/export.ts", "cli/book.ts", "cli/serve.ts", "api/lambda.ts"],
    beyondPolicy: { DescribeTable: "openTableForReading calls it only after GetItem met keys that are not obcap's, to say how they differ" },
  },
  admin: { policy: "admin", entries: ["cli/table.ts"], beyondPolicy: {} },
} as const;

function srcModules(dir = SRC): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? srcModules(path) : name.endsWith(".ts") ? [path] : [];
  });
}

describe("the documented policies against the source", () => {
  for (const [job, spec] of Object.entries(JOBS)) {
    test(`${job}: every DynamoDB action its code can call is in its policy, and it grants none the code never calls`, () => {
      const reachable = actionsReachable(spec.entries.map((e) => join(SRC, e)));
      const granted = actionsOf(documentedPolicy(spec.policy));
      const beyond = Object.keys(spec.beyondPolicy);
      const missing = [...reachable.keys()].filter((a) => !granted.includes(a) && !beyond.includes(a));
      expect(missing.map((a) => `${a} (called in ${reachable.get(a)?.map((f) => f.slice(SRC.length + 1)).join(", ")})`)).toEqual([]);
      expect(granted.filter((a) => !reachable.has(a))).toEqual([]);
      // The ones left out on purpose are really reachable (else the exception is stale).
      for (const a of beyond) expect(reachable.has(a)).toBe(true);
    });
  }

  test("every DynamoDB action anywhere in src/ is in a documented policy", () => {
    const all = new Set(srcModules().flatMap((f) => [...actionsOfModule(f)]));
    expect(all.size).toBeGreaterThanOrEqual(9);
    const documented = new Set(Object.values(JOBS).flatMap((j) => actionsOf(documentedPolicy(j.policy))));
    expect([...all].filter((a) => !documented.has(a)).sort()).toEqual([]);
  });

  test("the action scan sees through the source's forms (a control)", () => {
    // table-admin.ts constructs CreateTable; table.ts does not: the split the capture policy relies on.
    expect([...actionsOfModule(join(SRC, "store/dynamodb/table-admin.ts"))].sort()).toEqual(["CreateTable", "PutItem", "Scan", "UpdateItem"]);
    expect([...actionsOfModule(join(SRC, "store/dynamodb/table.ts"))].sort()).toEqual(["DescribeTable", "GetItem"]);
  });
});

describe("each job through an IAM stand-in that allows only its documented policy", () => {
  const PAIRS = ["btcusd", "ethusd"];
  const CHANNELS = PAIRS.flatMap((p) => [`live_orders_${p}`, `live_trades_${p}`]);
  const frames = generateFrames({ pairs: PAIRS, countPerPair: 600, seed: 41 });
  const micros = frames.map((f) => Number(/"microtimestamp":\s*"(\d+)"/.exec(f)?.[1]));
  const range = ["--from", String(Math.min(...micros)), "--to", String(Math.max(...micros) + 1)];
  let endpoint: string;
  let client: DynamoDBClient;
  let table: string;
  let journal: string;
  const proxies: PolicyProxy[] = [];
  const proxy = (policy: string, tables: string[]) => {
    const p = startPolicyProxy({ target: endpoint, policy: policyFor(policy, tables) });
    proxies.push(p);
    return p;
  };
  const used = (p: PolicyProxy) => [...new Set(p.requests.map((r) => r.action))].sort();

  beforeAll(async () => {
    endpoint = await dynamoEndpoint();
    client = testClient(endpoint);
    table = uniqueTableName("iam");
  });
  afterAll(async () => {
    for (const p of proxies) await p.stop();
    client.destroy();
  });

  test("administration: table create (packed, the default) and table coverage", async () => {
    const admin = proxy("admin", [table]);
    const created = await runObcap("binary", ["table", "create", "--table", table, "--endpoint", admin.url]);
    expect(created.code).toBe(0);
    const coverage = await runObcap("binary", ["table", "coverage", "--table", table, "--endpoint", admin.url]);
    expect(coverage.code).toBe(0);
    expect(admin.denied()).toEqual([]);
    expect(used(admin)).toEqual(expect.arrayContaining(["CreateTable", "DescribeTable", "GetItem", "PutItem", "Scan", "UpdateItem"]));
  }, 60_000);

  test("capture: a replay of every other frame, then a live capture of all (its windows merge with the stored ones), then its journal replayed", async () => {
    const writer = proxy("capture", [table]);
    const half = join(testTempDir("iam"), "half.ndjson");
    writeFileSync(half, `${frames.filter((_, i) => i % 2 === 0).join("\n")}\n`);
    const first = await runObcap("binary", ["replay", half, "--table", table, "--endpoint", writer.url]);
    expect(first.code).toBe(0);
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const capture = startObcap("binary", [
      "--pair", PAIRS.join(","), "--table", table, "--endpoint", writer.url, "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, "--progress-s", "1",
    ]);
    journal = join(capture.cwd, "obcap-data");
    expect(await playThenStop(capture, fake, CHANNELS, frames)).toBe(0);
    const replay = await runObcap("binary", ["replay", join(journal, "segments"), "--table", table, "--endpoint", writer.url]);
    expect(replay.code).toBe(0);
    expect(replay.stderr).toContain(`events ${frames.length},`);
    expect(writer.denied()).toEqual([]);
    expect(used(writer)).toEqual(expect.arrayContaining(["BatchWriteItem", "DescribeTable", "GetItem", "PutItem"]));
    // The merge path ran: heads put on windows that held another set of events failed their condition, then were merged.
    expect(writer.requests.filter((r) => r.action === "PutItem" && r.errorType === "ConditionalCheckFailedException").length).toBeGreaterThan(0);
  }, 240_000);

  test("read only: export gives every frame, serve answers /v1/events", async () => {
    const reader = proxy("read", [table]);
    const exported = await runObcap("binary", ["export", "--table", table, "--endpoint", reader.url, "--pair", PAIRS.join(","), ...range]);
    expect(exported.code).toBe(0);
    expect(exported.stdout.trimEnd().split("\n").sort()).toEqual([...frames].sort());

    const serve = startObcap("binary", ["serve", "--table", table, "--endpoint", reader.url, "--port", "0"]);
    try {
      await serve.waitForLog("serving table", 20_000);
      const url = /on (http:\/\/\S+) /.exec(serve.stderr())?.[1];
      const res = await fetch(`${url}/v1/events?pair=btcusd&from=${range[1]}&to=${range[3]}&limit=50`);
      expect(res.status).toBe(200);
      // A page ends at the end of a microtimestamp, so it may hold a few frames more than the limit (docs/api.md).
      const events = ((await res.json()) as { events: unknown[] }).events.map((e) => canonicalJson(JSON.stringify(e)));
      expect(events.length).toBeGreaterThanOrEqual(50);
      const sent = new Set(frames.map(canonicalJson));
      expect(events.filter((e) => !sent.has(e))).toEqual([]);
    } finally {
      serve.child.kill("SIGTERM");
    }
    expect(await serve.exited).toBe(0);
    expect(reader.denied()).toEqual([]);
    expect(used(reader)).toEqual(["GetItem", "Query"]);
  }, 120_000);

  test("read only, a table whose keys are not obcap's: still a clear E_TABLE_INCOMPATIBLE without DescribeTable", async () => {
    const other = await createTestTable(client, "iam-keys", { schema: [{ name: "id", type: "N", role: "HASH" }] });
    const reader = proxy("read", [other]);
    const exported = await runObcap("binary", ["export", "--table", other, "--endpoint", reader.url, "--pair", "btcusd", ...range]);
    expect(exported.code).toBe(3);
    expect(exported.stderr).toContain("[E_TABLE_INCOMPATIBLE]");
    expect(exported.stderr).toContain("its keys are not obcap's pk (S) HASH + sk (S) RANGE");
    expect(reader.denied().map((r) => r.action)).toEqual(["DescribeTable"]);
  }, 60_000);

  test("control: a capture with the read-only policy stops at start with E_AWS_ACCESS_DENIED naming the action", async () => {
    const reader = proxy("read", [table]);
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const run = await runObcap("binary", ["--pair", "btcusd", "--table", table, "--endpoint", reader.url, "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("[E_AWS_ACCESS_DENIED]");
    expect(run.stderr).toContain("dynamodb:DescribeTable");
    expect(reader.denied().length).toBeGreaterThan(0);
  }, 60_000);
});
