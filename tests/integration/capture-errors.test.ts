/**
 * Bad input, bad environment: each gives one clear message and its exit code (README "Exit codes"),
 * and bad frames do not stop the capture. Runs the compiled binary against the local exchange and
 * DynamoDB Local.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { DeleteTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { dynamoEndpoint } from "../support/env.ts";
import { createTestTable } from "../support/test-table.ts";
import { freePort } from "../support/dynamodb-local.ts";
import { startFakeExchange } from "../support/fake-exchange.ts";
import { generateFrames } from "../support/frame-generator.ts";
import { canonicalJson } from "../support/exact-compare.ts";
import { BINARY, runObcap, scanEvents, startObcap, testClient } from "../support/capture-harness.ts";
import { waitFor } from "../support/wait.ts";
import { isGapItem } from "../../src/store/dynamodb/gap-item.ts";
import { decodeItem } from "../../src/store/dynamodb/item-decoder.ts";
import { EXIT } from "../../src/base/errors.ts";
import { testTempDir } from "../support/temp-dirs.ts";

let endpoint: string;
let client: DynamoDBClient;
let table: string;

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
  table = await createTestTable(client, "errors");
});
afterAll(() => client.destroy());

describe("command line", () => {
  test("--version prints the version, the commit the binary was built from and its target", async () => {
    const { code, stdout } = await runObcap("binary", ["--version"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^obcap \d+\.\d+\.\d+ \(commit [0-9a-f]{12}(-dirty)?, linux-x64\)\n$/);
    const head = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { encoding: "utf8" }).stdout.trim();
    expect(stdout).toContain(`commit ${head}`);
  });

  test("--help lists the commands, capture --help lists its flags", async () => {
    const top = await runObcap("binary", ["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout + top.stderr).toContain("capture");
    expect(top.stdout + top.stderr).toContain("table");
    const capture = await runObcap("binary", ["capture", "--help"]);
    expect(capture.code).toBe(0);
    for (const flag of ["--pair", "--table", "--ws-url", "--queue-mb", "--endpoint"]) expect(capture.stdout + capture.stderr).toContain(flag);
  });

  test.each([
    [["--pair", "BTC/USD"], "--pair 'BTC/USD' is not a Bitstamp pair name"],
    [["--pair", "btcusd", "--queue-mb", "lots"], "--queue-mb 'lots' is not a whole number"],
    [["--pair", "btcusd", "--queue-mb", "0"], "--queue-mb 0 is out of range"],
    [["--pair", "btcusd", "--tabel", "Orders"], "unknown option '--tabel'"],
    [["--pair", "btcusd", "--channels", "books"], "--channels 'books' is not a channel obcap captures"],
    [["--pair", "btcusd", "--ws-url", "http://x"], "--ws-url 'http://x' must use ws: or wss:"],
    [["--table", "Orders"], "--pair is required"],
  ])("rejects %p with exit 2 and says why", async (args, message) => {
    const { code, stderr } = await runObcap("binary", args);
    expect(stderr).toContain(message);
    expect(code).toBe(EXIT.usage);
  });
});

describe("environment", () => {
  test("an unknown pair is refused before subscribing, with a suggestion", async () => {
    await using fake = await startFakeExchange();
    const { code, stderr } = await runObcap("binary", ["--pair", "btcusdd", "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl]);
    expect(stderr).toContain("unknown pair 'btcusdd' (did you mean 'btcusd'?)");
    expect(code).toBe(EXIT.usage);
    expect(fake.connections()).toBe(0);
  });

  test("a missing table names the table and the command that creates it (exit 3)", async () => {
    await using fake = await startFakeExchange();
    const { code, stderr } = await runObcap("binary", ["--pair", "btcusd", "--table", "NoSuchTable", "--endpoint", endpoint, "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl]);
    expect(stderr).toContain("NoSuchTable");
    expect(stderr).toContain("obcap table create --table NoSuchTable");
    expect(stderr).toContain("E_TABLE_NOT_FOUND");
    expect(code).toBe(EXIT.config);
  });

  test("without the journal, an unreachable DynamoDB endpoint is a transient error naming the endpoint (exit 4)", async () => {
    await using fake = await startFakeExchange();
    const dead = `http://127.0.0.1:${await freePort()}`;
    // With the journal (the default) the capture goes on into it instead: tests/integration/journal-recovery.test.ts.
    const { code, stderr } = await runObcap("binary", ["--pair", "btcusd", "--no-journal", "--table", table, "--endpoint", dead, "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl]);
    expect(stderr).toContain(dead);
    expect(stderr).toContain("E_DDB_UNREACHABLE");
    expect(code).toBe(EXIT.transient);
  });

  test("missing credentials say what to set (exit 3)", async () => {
    await using fake = await startFakeExchange();
    const dir = testTempDir("creds");
    writeFileSync(join(dir, "empty"), "");
    const { code, stderr } = await runObcap(
      "binary",
      ["--pair", "btcusd", "--table", table, "--endpoint", endpoint, "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl],
      {
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_PROFILE: undefined,
        AWS_SHARED_CREDENTIALS_FILE: join(dir, "empty"),
        AWS_CONFIG_FILE: join(dir, "empty"),
        AWS_EC2_METADATA_DISABLED: "true",
      },
    );
    expect(stderr).toContain("E_AWS_CREDENTIALS");
    expect(code).toBe(EXIT.config);
  });

  test("an unreachable exchange is a transient error (exit 4)", async () => {
    const dead = await freePort();
    const { code, stderr } = await runObcap("binary", ["--pair", "btcusd", "--rest-url", `http://127.0.0.1:${dead}`, "--ws-url", `ws://127.0.0.1:${dead}`]);
    expect(stderr).toContain(`http://127.0.0.1:${dead}/api/v2/trading-pairs-info/`);
    expect(code).toBe(EXIT.transient);
  });

  test("a bts:error answer to a subscription stops with the exchange's message (exit 3)", async () => {
    await using fake = await startFakeExchange({ rejectChannels: ["live_trades_btcusd"] });
    const { code, stderr } = await runObcap("binary", ["--pair", "btcusd", "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl]);
    expect(stderr).toContain('bts:error "Invalid channel provided."');
    expect(stderr).toContain("E_SUBSCRIBE_REJECTED");
    expect(code).toBe(EXIT.config);
  });

  test("no subscription answer within --subscribe-timeout-ms is a transient error listing the channels (exit 4)", async () => {
    await using fake = await startFakeExchange({ ignoreSubscribe: true });
    const { code, stderr } = await runObcap("binary", ["--pair", "btcusd", "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, "--subscribe-timeout-ms", "500"]);
    expect(stderr).toContain("no subscription_succeeded for live_orders_btcusd, live_trades_btcusd within 500 ms");
    expect(code).toBe(EXIT.transient);
  });
});

describe("bad frames", () => {
  test("malformed, invalid and unknown frames are counted and logged while the capture goes on", async () => {
    await using fake = await startFakeExchange();
    const obcap = startObcap("binary", ["--pair", "btcusd", "--table", table, "--endpoint", endpoint, "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, "--progress-s", "1"]);
    await fake.whenSubscribed(["live_orders_btcusd", "live_trades_btcusd"], 20_000);
    const [good1, good2, good3] = generateFrames({ pairs: ["btcusd"], countPerPair: 3, seed: 77, trades: false }) as [string, string, string];
    const missingPrice = good2.replace(/"price_str":"[^"]*",/, "");
    const unknownEvent = good3.replace('"event":"order_', '"event":"order_exploded_').replace(/"event_id":"[^"]*"/, '"event_id":"x"');
    fake.send(good1);
    fake.send("not json{");
    fake.send(missingPrice);
    fake.send(unknownEvent);
    fake.send(good2);
    fake.send(good3);
    // Written: the three good frames and the start record of each of the two channels.
    await obcap.waitForLog("received 6 frames, written 5,", 20_000);
    obcap.child.kill("SIGTERM");
    expect(await obcap.exited).toBe(EXIT.ok);
    const log = obcap.stderr();
    expect(log).toContain("E_FRAME_JSON");
    expect(log).toContain("not json{");
    expect(log).toContain("E_FRAME_INVALID");
    expect(log).toContain("price_str");
    expect(log).toMatch(/order_exploded_\w+/);
    expect(log).toContain("received 6 frames");
    expect(log).toMatch(/rejected 2, not stored \(unknown kinds\) 1/);
    const stored = (await scanEvents(client, table)).filter((item) => !isGapItem(item)).map((item) => canonicalJson(decodeItem(item)));
    for (const frame of [good1, good2, good3]) expect(stored).toContain(canonicalJson(frame));
  });
});

describe("while capturing", () => {
  test("a table deleted during the capture stops it with E_TABLE_NOT_FOUND (exit 3)", async () => {
    const doomed = await createTestTable(client, "doomed");
    await using fake = await startFakeExchange();
    const obcap = startObcap("binary", ["--pair", "btcusd", "--table", doomed, "--endpoint", endpoint, "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, "--progress-s", "1"]);
    await fake.whenSubscribed(["live_orders_btcusd", "live_trades_btcusd"], 20_000);
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 400, seed: 21 });
    await fake.play(frames.slice(0, 200));
    await obcap.waitForLog("received 200 frames, written 202,", 20_000); // and a start record per channel
    await client.send(new DeleteTableCommand({ TableName: doomed }));
    await fake.play(frames.slice(200));
    expect(await obcap.exited).toBe(EXIT.config);
    expect(obcap.stderr()).toContain("E_TABLE_NOT_FOUND");
    expect(obcap.stderr()).toContain(`obcap table create --table ${doomed}`);
  });

  test("the compiled binary runs alone (no Bun, no node_modules) and writes journal lines to --out", async () => {
    const dir = testTempDir("alone");
    copyFileSync(BINARY, join(dir, "obcap"));
    await using fake = await startFakeExchange();
    const child = spawn(join(dir, "obcap"), ["--pair", "btcusd", "--out", "lines.ndjson", "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, "--progress-s", "1"], {
      cwd: dir,
      env: { PATH: "/usr/bin:/bin", HOME: dir },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    child.stderr!.on("data", (chunk) => (log += chunk));
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
    await fake.whenSubscribed(["live_orders_btcusd", "live_trades_btcusd"], 20_000);
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 50, seed: 5 });
    await fake.play(frames);
    await waitFor(() => log.includes(`received ${frames.length} frames`), { timeoutMs: 20_000, what: () => `the progress line; log: ${log}` });
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const lines0 = readFileSync(join(dir, "lines.ndjson"), "utf8").trimEnd().split("\n");
    // The order book snapshot taken after subscribing is one of obcap's own lines too, after the orders
    // channel's start record (the trades channel's may come after it: its acknowledgement races the fetch).
    const snapshots = lines0.filter((line) => line.includes(',"obcap":{"event":"obcap:snapshot","pair":"btcusd",'));
    expect(snapshots).toHaveLength(1);
    const ordersStart = lines0.findIndex((line) => line.includes('"channels":["live_orders_btcusd"]') && line.endsWith('"reason":"start"}}}'));
    expect(ordersStart).toBeGreaterThanOrEqual(0);
    expect(lines0.indexOf(snapshots[0]!)).toBeGreaterThan(ordersStart);
    const all = lines0.filter((line) => line !== snapshots[0]);
    // The journal's lines: a start record per channel (obcap's own line form), then the frames.
    expect(all.slice(0, 2).every((line) => /^\{"rx":\d{16},"obcap":\{"event":"obcap:gap",.*"reason":"start"\}\}\}$/.test(line))).toBe(true);
    const lines = all.slice(2);
    expect(lines.length).toBe(frames.length);
    lines.forEach((line, i) => {
      // The frame is embedded byte for byte after the receive stamp.
      expect(line).toMatch(/^\{"rx":\d{16},"m":/);
      expect(line.slice(line.indexOf(',"m":') + 5, -1)).toBe(frames[i]!);
    });
  });
});
