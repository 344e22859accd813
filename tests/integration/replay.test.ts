/**
 * `obcap replay` end to end against DynamoDB Local: a capture's journal replayed into a second table
 * equals the table the capture wrote; replaying twice changes nothing; bad inputs (corrupt lines,
 * truncated gzip, empty and binary files, a 10 MB line) give file:line messages and documented exit
 * codes without writing anything twice; a killed replay resumes from its checkpoint.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { AttributeValue, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EXIT } from "../../src/base/errors.ts";
import { journalLine } from "../../src/journal/journal-line.ts";
import { decodeItem } from "../../src/store/dynamodb/item-decoder.ts";
import { dynamoEndpoint, TEST_AWS_ENV } from "../support/env.ts";
import { createTestTable } from "../support/test-table.ts";
import { entryCommand, runObcap, scanEvents, startObcap, testClient, type Entry } from "../support/capture-harness.ts";
import { startFakeExchange } from "../support/fake-exchange.ts";
import { generateFrames } from "../support/frame-generator.ts";
import { controlFrames, orderAndTradeFrames } from "../support/fixtures.ts";
import { canonicalJson } from "../support/exact-compare.ts";
import { expectedChainGaps } from "../support/expected-gaps.ts";
import { testTempDir } from "../support/temp-dirs.ts";
import { waitFor } from "../support/wait.ts";

type Item = Record<string, AttributeValue>;

let endpoint: string;
let client: DynamoDBClient;
let dir: string;

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
  dir = testTempDir("replay-it");
});
afterAll(() => {
  client.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** `obcap replay ...` with the test endpoint and a checkpoint path inside the test directory. */
function replay(args: string[], entry: Entry = "source", timeoutMs = 120_000) {
  const checkpoint = args.includes("--checkpoint") ? [] : ["--checkpoint", join(dir, `${Math.random().toString(36).slice(2)}.checkpoint`)];
  return runObcap(entry, ["replay", ...args, "--endpoint", endpoint, ...checkpoint], {}, timeoutMs);
}

/** Items by key (pk + sk), for item-by-item comparison. */
function byKey(items: Item[]): Map<string, Item> {
  return new Map(items.map((item) => [`${item.pk!.S}\u0000${item.sk!.S}`, item]));
}

function withoutRx(item: Item): Item {
  const { rx: _rx, ...rest } = item;
  return rest;
}

const summaryOf = (stderr: string) => /summary: (?:resumed at (\S+); )?lines (\d+), events (\d+)/.exec(stderr);

describe("replay of a capture journal", () => {
  test("stores the same items as a capture writing to the table (rx from the journal)", async () => {
    const pairs = ["btcusd", "ethusd"];
    const channels = pairs.flatMap((p) => [`live_orders_${p}`, `live_trades_${p}`]);
    const frames = [
      ...orderAndTradeFrames().filter((f) => channels.some((c) => f.includes(`"${c}"`))),
      ...generateFrames({ pairs, countPerPair: 1_500, seed: 21, hugeIds: true }),
    ];
    const tableA = await createTestTable(client, "replay-cap-a");
    const tableB = await createTestTable(client, "replay-cap-b");
    const journal = join(dir, "capture-journal.ndjson");
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const common = ["--pair", pairs.join(","), "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, "--progress-s", "1"];
    const startedMicros = Date.now() * 1000;
    const toTable = startObcap("source", [...common, "--table", tableA, "--endpoint", endpoint]);
    const toFile = startObcap("source", [...common, "--out", journal]);
    try {
      await fake.whenSubscribed(channels, 30_000);
      // Both connections subscribed to every channel: wait until each has all four.
      await waitFor(() => fake.connections() >= 2 && fake.connectionIds().every((id) => fake.subscriptionsOf(id).length >= channels.length), {
        timeoutMs: 30_000,
        what: () => `both captures to subscribe every channel (subscribed: ${fake.subscriptions().join(",")})`,
      });
      expect(await fake.play(frames)).toEqual({ sent: frames.length, notSent: 0 });
      await toTable.waitForLog(`received ${frames.length} frames, written ${frames.length + expectedChainGaps(frames) + channels.length},`, 120_000);
      await toFile.waitForLog(`received ${frames.length} frames`, 120_000);
    } finally {
      toTable.child.kill("SIGINT");
      toFile.child.kill("SIGINT");
    }
    expect(await toTable.exited).toBe(0);
    expect(await toFile.exited).toBe(0);
    const endedMicros = Date.now() * 1000;

    const result = await replay([journal, "--table", tableB]);
    expect(result.code).toBe(EXIT.ok);
    expect(summaryOf(result.stderr)?.[3]).toBe(String(frames.length));

    // Each run opened every channel with a start record at its own subscription time: they differ
    // between the two captures; everything else is the same item.
    const isStart = (item: Item) => item.gr?.S === "start";
    const itemsA = await scanEvents(client, tableA);
    const itemsB = await scanEvents(client, tableB);
    for (const items of [itemsA, itemsB]) expect(items.filter(isStart).length).toBe(channels.length);
    const a = byKey(itemsA.filter((item) => !isStart(item)));
    const b = byKey(itemsB.filter((item) => !isStart(item)));
    expect(a.size).toBe(frames.length + expectedChainGaps(frames));
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    // rx: B's is exactly the journal's receive time of that frame; A's came from the other process's clock.
    const rxOfFrame = new Map<string, number>();
    for (const line of readFileSync(journal, "utf8").split("\n")) {
      const m = /^\{"rx":(\d+),"m":(.*)\}$/.exec(line);
      if (m && m[2]!.includes('"channel":')) rxOfFrame.set(canonicalJson(m[2]!), Number(m[1]));
    }
    for (const [key, itemA] of a) {
      const itemB = b.get(key)!;
      expect(withoutRx(itemB)).toEqual(withoutRx(itemA));
      // A chain gap item is stamped with the receive time of the event that revealed it.
      if (key.includes("#gaps")) continue;
      const rxB = Number(itemB.rx?.N);
      expect(rxB).toBe(rxOfFrame.get(canonicalJson(decodeItem(itemB)))!);
      for (const rx of [rxB, Number(itemA.rx?.N)]) {
        expect(rx).toBeGreaterThanOrEqual(startedMicros);
        expect(rx).toBeLessThanOrEqual(endedMicros);
      }
    }

    // A capture that keeps a journal directory (./obcap-data in its working directory) records the
    // very frames it stored: replayed, they give table A back exactly, rx included.
    const journalDir = join((toTable as { cwd?: string }).cwd ?? "/nonexistent", "obcap-data");
    if (existsSync(join(journalDir, "segments"))) {
      const tableC = await createTestTable(client, "replay-cap-c");
      expect((await replay([journalDir, "--table", tableC])).code).toBe(EXIT.ok);
      const itemsC = await scanEvents(client, tableC);
      expect(itemsC.filter(isStart).length).toBe(channels.length);
      const c = byKey(itemsC.filter((item) => !isStart(item)));
      expect(c.size).toBe(a.size);
      for (const [key, itemA] of a) expect(c.get(key)).toEqual(itemA);
    }
  }, 300_000);
});

describe("replay is idempotent", () => {
  test("replaying the same file twice leaves the same items, no duplicates", async () => {
    const frames = generateFrames({ pairs: ["btcusd", "ethusd"], countPerPair: 1_500, seed: 22, hugeIds: true, exponentNumbers: true });
    const path = file("twice.ndjson", frames.map((f, i) => journalLine(1_700_000_000_000_000 + i, f)).join(""));
    const table = await createTestTable(client, "replay-twice");
    expect((await replay([path, "--table", table])).code).toBe(EXIT.ok);
    const first = byKey(await scanEvents(client, table));
    expect(first.size).toBe(frames.length);
    const again = await replay([path, "--table", table], "binary");
    expect(again.code).toBe(EXIT.ok);
    const second = byKey(await scanEvents(client, table));
    expect(second.size).toBe(first.size);
    for (const [key, item] of first) expect(second.get(key)).toEqual(item);
  }, 180_000);

  test("reads stdin, gzip, and a directory of segments to the same items", async () => {
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 600, seed: 23 });
    const lines = frames.map((f, i) => journalLine(1_700_000_000_000_000 + i, f));
    const segments = join(dir, "segments-dir");
    mkdirSync(segments);
    writeFileSync(join(segments, "part-1.ndjson.gz"), gzipSync(lines.slice(0, 200).join("")));
    writeFileSync(join(segments, "part-2.ndjson"), lines.slice(200, 400).join(""));
    writeFileSync(join(segments, "part-10.ndjson.gz"), gzipSync(lines.slice(400).join("")));
    const fromDir = await createTestTable(client, "replay-dir");
    const dirRun = await replay([segments, "--table", fromDir]);
    expect(dirRun.code).toBe(EXIT.ok);
    const fromStdin = await createTestTable(client, "replay-stdin");
    const [cmd, ...pre] = entryCommand("source");
    const child = spawn(cmd!, [...pre, "replay", "-", "--table", fromStdin, "--endpoint", endpoint], {
      env: { ...process.env, ...TEST_AWS_ENV, NO_COLOR: "1" },
      stdio: ["pipe", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    child.stdin!.end(gzipSync(lines.join("")));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const a = byKey(await scanEvents(client, fromDir));
    const b = byKey(await scanEvents(client, fromStdin));
    expect(a.size).toBe(frames.length + expectedChainGaps(frames));
    expect(b).toEqual(a);
  }, 180_000);
});

describe("bad input", () => {
  const good = generateFrames({ pairs: ["btcusd"], countPerPair: 40, seed: 24 });

  test("corrupt lines are reported as file:line: reason, skipped, and exit 6; a rerun writes nothing twice", async () => {
    const lines = [
      controlFrames()[0]!,
      ...good.slice(0, 10),
      "this is not json",
      ...good.slice(10, 20),
      '{"rx":1700000000000000,"m":{"data":{"id":1',
      good[20]!.replace(/"price_str":"[^"]*"/, '"price_str":"1,5"'),
      "",
      ...good.slice(21, 40),
    ];
    const path = file("corrupt.ndjson", lines.join("\n") + "\n");
    const table = await createTestTable(client, "replay-corrupt");
    const run = await replay([path, "--table", table]);
    expect(run.code).toBe(EXIT.badInput);
    expect(run.stderr).toContain(`${path}:12: E_FRAME_JSON: Frame is not valid JSON`);
    expect(run.stderr).toContain(`${path}:23: journal line does not end with '}' (truncated?)`);
    expect(run.stderr).toMatch(new RegExp(`${escape(path)}:24: E_FRAME_INVALID: Invalid \\w+ frame on live_\\w+_btcusd:.*→ at data\\.price_str`));
    expect(run.stderr).toContain("3 bad lines skipped (reported above as file:line); every other line was stored [E_BAD_LINES]");
    expect(run.stderr).toContain("lines 44, events 39, skipped 5 (bad 3, control 1, not stored 0, blank 1, other 0), written 39");
    const items = await scanEvents(client, table);
    expect(items.length).toBe(39);
    const rerun = await replay([path, "--table", table]);
    expect(rerun.code).toBe(EXIT.badInput);
    expect((await scanEvents(client, table)).length).toBe(39);
  }, 120_000);

  test("--strict stops at the first bad line with everything before it stored; --dry-run writes nothing", async () => {
    const lines = [...good.slice(0, 15), "garbage", ...good.slice(15)];
    const path = file("strict.ndjson", lines.join("\n") + "\n");
    const table = await createTestTable(client, "replay-strict");
    const strict = await replay([path, "--table", table, "--strict"]);
    expect(strict.code).toBe(EXIT.badInput);
    expect(strict.stderr).toContain(`${path}:16: E_FRAME_JSON: `);
    expect(strict.stderr).toContain("--strict stops at the first bad line; every line before it is stored");
    expect((await scanEvents(client, table)).length).toBe(15);

    const dryTable = await createTestTable(client, "replay-dry");
    const dry = await replay([path, "--dry-run", "--table", dryTable]);
    expect(dry.code).toBe(EXIT.badInput);
    expect(dry.stderr).toContain("dry run summary: lines 41, events 40, skipped 1 (bad 1,");
    expect((await scanEvents(client, dryTable)).length).toBe(0);
    expect((await replay([file("dry-good.ndjson", good.join("\n")), "--dry-run"])).code).toBe(EXIT.ok);
  }, 120_000);

  test("a truncated gzip file keeps the lines before the cut, names where it breaks, exits 6", async () => {
    const many = generateFrames({ pairs: ["btcusd"], countPerPair: 4_000, seed: 25 });
    const gz = gzipSync(many.join("\n") + "\n");
    const path = file("cut.ndjson.gz", gz.subarray(0, Math.floor(gz.length / 2)));
    const table = await createTestTable(client, "replay-gz-cut");
    const run = await replay([path, "--table", table]);
    expect(run.code).toBe(EXIT.badInput);
    const m = new RegExp(`${escape(path)}:(\\d+): gzip data ends early or is corrupt`).exec(run.stderr);
    expect(m).not.toBeNull();
    const brokenLine = Number(m![1]);
    expect(brokenLine).toBeGreaterThan(100);
    expect(brokenLine).toBeLessThan(many.length);
    expect((await scanEvents(client, table)).length).toBe(brokenLine - 1);
  }, 120_000);

  test("an empty file is read as nothing (a warning, exit 0); a binary file is skipped whole (exit 6)", async () => {
    const empty = file("empty.ndjson", "");
    const table = await createTestTable(client, "replay-empty");
    const run = await replay([empty, "--table", table]);
    expect(run.code).toBe(EXIT.ok);
    expect(run.stderr).toContain(`input ${empty} is empty`);
    expect(run.stderr).toContain("summary: lines 0, events 0");

    const noise = new Uint8Array(200_000);
    let seed = 7;
    for (let i = 0; i < noise.length; i++) noise[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16;
    noise[3] = 0;
    const binary = file("noise.bin", noise);
    const after = file("after-binary.ndjson", good.slice(0, 5).join("\n"));
    const bin = await replay([binary, after, "--table", table]);
    expect(bin.code).toBe(EXIT.badInput);
    expect(bin.stderr).toContain(`${binary}: not a text recording (NUL bytes or invalid UTF-8 in its first line`);
    expect(bin.stderr.split(binary).length - 1).toBe(1);
    expect((await scanEvents(client, table)).length).toBe(5);
  }, 120_000);

  test("a 10 MB line is reported and skipped without stopping the lines after it", async () => {
    const path = file("huge-line.ndjson", `${good[0]}\n{"x":"${"a".repeat(10 * 1024 * 1024)}"}\n${good[1]}\n`);
    const table = await createTestTable(client, "replay-huge");
    const run = await replay([path, "--table", table], "binary");
    expect(run.code).toBe(EXIT.badInput);
    expect(run.stderr).toContain(`${path}:2: line of 10.0 MiB is longer than the 1.0 MiB limit`);
    expect((await scanEvents(client, table)).length).toBe(2);
  }, 120_000);

  test("a missing input exits 2 before anything is written, and so does --resume with another replay's checkpoint", async () => {
    const table = await createTestTable(client, "replay-usage");
    const missing = await replay([join(dir, "nope.ndjson"), "--table", table]);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toContain(`input ${join(dir, "nope.ndjson")} does not exist: check the path [E_INPUT_UNREADABLE]`);

    const checkpoint = join(dir, "other.checkpoint");
    const a = file("cp-a.ndjson", good.join("\n"));
    const b = file("cp-b.ndjson", good.join("\n"));
    writeFileSync(checkpoint, JSON.stringify({ version: 1, table, inputs: [{ path: a, sizeBytes: 1, mtimeMs: 1 }], position: null, badLines: 0, updatedAt: "x" }));
    const mismatch = await replay([b, "--table", table, "--resume", "--checkpoint", checkpoint]);
    expect(mismatch.code).toBe(EXIT.usage);
    expect(mismatch.stderr).toContain(`checkpoint ${checkpoint} is for another replay: it lists the inputs [${a}], this replay reads [${b}]`);
    expect((await scanEvents(client, table)).length).toBe(0);
  }, 60_000);
});

describe("resume", () => {
  test("a replay killed half way continues from its checkpoint with --resume: table complete, nothing reread before the checkpoint", async () => {
    const frames = generateFrames({ pairs: ["btcusd", "ethusd"], countPerPair: 15_000, seed: 26 });
    const path = file("kill-me.ndjson", frames.map((f, i) => journalLine(1_700_000_000_000_000 + i, f)).join(""));
    const table = await createTestTable(client, "replay-resume");
    const checkpoint = join(dir, "kill-me.checkpoint");
    const args = ["replay", path, "--table", table, "--endpoint", endpoint, "--checkpoint", checkpoint, "--checkpoint-ms", "20", "--in-flight", "1"];
    const first = startObcap("source", args);
    // Kill once the checkpoint says a good part is stored, well before the end.
    const checkpointLine = (): number => {
      if (!existsSync(checkpoint)) return 0;
      try {
        return (JSON.parse(readFileSync(checkpoint, "utf8")) as { position: { line: number } | null }).position?.line ?? 0;
      } catch {
        return 0; // never torn (renamed into place), but be safe
      }
    };
    await waitFor(() => checkpointLine() >= 3_000, {
      timeoutMs: 120_000,
      intervalMs: 20,
      what: () => `the checkpoint to reach line 3000 (at ${checkpointLine()}); log:\n${first.stderr()}`,
    });
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe(137);
    const saved = JSON.parse(readFileSync(checkpoint, "utf8")) as { position: { line: number } };
    expect(saved.position.line).toBeLessThan(frames.length);
    const storedBefore = (await scanEvents(client, table)).length;
    expect(storedBefore).toBeGreaterThanOrEqual(saved.position.line);
    expect(storedBefore).toBeLessThan(frames.length);

    const resumed = await replay([path, "--table", table, "--checkpoint", checkpoint, "--resume"]);
    expect(resumed.code).toBe(EXIT.ok);
    const m = summaryOf(resumed.stderr)!;
    expect(m[1]).toBe(`${path}:${saved.position.line + 1}`);
    expect(Number(m[2])).toBe(frames.length - saved.position.line);
    const items = await scanEvents(client, table);
    expect(items.length).toBe(frames.length);
    expect(existsSync(checkpoint)).toBe(false);
  }, 240_000);

  test("SIGINT stores what was read, saves the checkpoint and exits 4; --resume then completes", async () => {
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 40_000, seed: 27 });
    const path = file("interrupt-me.ndjson", frames.join("\n") + "\n");
    const table = await createTestTable(client, "replay-sigint");
    const checkpoint = join(dir, "interrupt.checkpoint");
    const run = startObcap("source", ["replay", path, "--table", table, "--endpoint", endpoint, "--checkpoint", checkpoint, "--in-flight", "1", "--progress-s", "1"]);
    await run.waitForLog(/progress: [\d,]+ lines/, 60_000);
    run.child.kill("SIGINT");
    expect({ code: await run.exited, log: run.stderr() }).toMatchObject({ code: EXIT.transient });
    expect(run.stderr()).toContain("SIGINT: stopping; storing what was read, then saving the checkpoint");
    expect(run.stderr()).toContain(`checkpoint saved in ${checkpoint}: run the same command with --resume to continue [E_INTERRUPTED]`);
    const stopped = summaryOf(run.stderr())!;
    // Everything read before the stop is stored: the checkpoint is at the last line read.
    const saved = JSON.parse(readFileSync(checkpoint, "utf8")) as { position: { line: number } };
    expect(saved.position.line).toBe(Number(stopped[2]));
    expect((await scanEvents(client, table)).length).toBe(saved.position.line);

    const resumed = await replay([path, "--table", table, "--checkpoint", checkpoint, "--resume"]);
    expect(resumed.code).toBe(EXIT.ok);
    expect((await scanEvents(client, table)).length).toBe(frames.length);
  }, 180_000);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
