/**
 * Runs obcap (the compiled binary or the source entry) as a child process against the fake exchange
 * and DynamoDB Local, and reads a table back. Shared by the capture integration tests.
 */
import { storedWindows, unpackWindow } from "../../src/store/packed/packed-window.ts";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { DynamoDBClient, QueryCommand, ScanCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { TEST_AWS_ENV } from "./env.ts";
import { testTempDir } from "./temp-dirs.ts";
import { waitFor } from "./wait.ts";
import type { FakeExchange } from "./fake-exchange.ts";
import { META_KEY } from "../../src/store/dynamodb/keys.ts";
import { COVERAGE_PK } from "../../src/store/dynamodb/coverage.ts";
import { isSnapshotItem } from "../../src/store/dynamodb/snapshot-item.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const BINARY = resolve(ROOT, "dist/obcap");

/** How to start obcap: the compiled binary or `bun src/cli/main.ts`. */
export type Entry = "binary" | "source";

export function entryCommand(entry: Entry): string[] {
  if (entry === "binary") {
    if (!existsSync(BINARY)) {
      // `make test` builds first; a lone `bun test` builds here so the binary is never skipped.
      const built = spawnSync("make", ["build"], { cwd: ROOT, stdio: "inherit" });
      if (built.status !== 0) throw new Error("make build failed: cannot test the compiled binary");
    }
    return [BINARY];
  }
  return [process.execPath, resolve(ROOT, "src/cli/main.ts")];
}

export interface RunningObcap {
  child: ChildProcess;
  /** The run's working directory (private: the default journal ./obcap-data lives there). */
  cwd: string;
  /** Everything written to stderr so far (the log). */
  stderr(): string;
  stdout(): string;
  /** Resolves with the exit code (signals count as 128 + n). */
  exited: Promise<number>;
  /** Resolves once stderr contains `text`; rejects after `timeoutMs`. */
  waitForLog(text: string | RegExp, timeoutMs: number): Promise<void>;
}

/**
 * Starts obcap with `args` (AWS test credentials in the environment), in `cwd` or a fresh directory
 * of its own, so the default journal directory (and its lock) is never shared between runs.
 */
export function startObcap(entry: Entry, args: string[], env: Record<string, string | undefined> = {}, cwd = testTempDir("run")): RunningObcap {
  const [cmd, ...pre] = entryCommand(entry);
  return startCommand([cmd!, ...pre, ...args], { ...process.env, ...TEST_AWS_ENV, NO_COLOR: "1", ...env }, cwd);
}

/** Starts `command` with exactly `env` (nothing inherited) in `cwd`, watched as startObcap's runs are. */
export function startCommand(command: string[], env: Record<string, string | undefined>, cwd: string): RunningObcap {
  const [cmd, ...args] = command;
  const child = spawn(cmd!, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  let out = "";
  const listeners = new Set<() => void>();
  child.stderr!.on("data", (chunk) => {
    err += chunk;
    for (const l of listeners) l();
  });
  child.stdout!.on("data", (chunk) => (out += chunk));
  let exitCode: number | undefined;
  const exited = new Promise<number>((done) =>
    child.on("exit", (code, signal) => {
      exitCode = code ?? 128 + (signal === "SIGKILL" ? 9 : signal === "SIGTERM" ? 15 : 2);
      done(exitCode);
      for (const l of listeners) l();
    }),
  );
  return {
    child,
    cwd,
    stderr: () => err,
    stdout: () => out,
    exited,
    async waitForLog(text, timeoutMs) {
      const has = () => (typeof text === "string" ? err.includes(text) : text.test(err));
      await waitFor(
        () => {
          if (has()) return true;
          if (exitCode !== undefined) throw new Error(`obcap exited (${exitCode}) before logging ${String(text)}; log:\n${err}`);
          return false;
        },
        {
          timeoutMs,
          what: () => `obcap to log ${String(text)}; log so far:\n${err}`,
          subscribe: (recheck) => {
            listeners.add(recheck);
            return () => listeners.delete(recheck);
          },
        },
      );
    },
  };
}

/**
 * Plays `frames` to a running first capture of its journal once `channels` are subscribed, waits until
 * every frame and each channel's start record is acknowledged, then stops it with SIGINT. Resolves
 * with its exit code (SIGINT is sent even when playing or waiting fails).
 */
export async function playThenStop(capture: RunningObcap, fake: FakeExchange, channels: readonly string[], frames: readonly string[], timeoutMs = 120_000): Promise<number> {
  try {
    await fake.whenSubscribed([...channels], 30_000);
    const { sent, notSent } = await fake.play([...frames]);
    if (sent !== frames.length || notSent !== 0) throw new Error(`the fake exchange sent ${sent} of ${frames.length} frames (${notSent} not sent)`);
    await capture.waitForLog(`received ${frames.length} frames, written ${frames.length + channels.length},`, timeoutMs);
  } finally {
    capture.child.kill("SIGINT");
  }
  return capture.exited;
}

/** Runs obcap to completion; returns exit code and output. */
export async function runObcap(entry: Entry, args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000) {
  const run = startObcap(entry, args, env);
  const timer = setTimeout(() => run.child.kill("SIGKILL"), timeoutMs);
  const code = await run.exited;
  clearTimeout(timer);
  return { code, stderr: run.stderr(), stdout: run.stdout() };
}

export function testClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: TEST_AWS_ENV.AWS_REGION,
    credentials: { accessKeyId: TEST_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: TEST_AWS_ENV.AWS_SECRET_ACCESS_KEY },
  });
}

/**
 * Every item of the table except obcap's bookkeeping (the metadata item, coverage items): events and
 * gap records (pk `...#gaps`).
 */
export async function scanEvents(client: DynamoDBClient, table: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    // Order book snapshot chunks are read with scanSnapshotItems.
    for (const item of page.Items ?? []) if (item.pk?.S !== META_KEY.pk && item.pk?.S !== COVERAGE_PK && !isSnapshotItem(item)) items.push(item);
    start = page.LastEvaluatedKey;
  } while (start);
  return unpackedEvents(items);
}

/**
 * The packed layout's windows (pk `...#p`) as the event items they hold, beside every other item: the
 * same list a table of the event layout gives, so tests check both layouts alike. A head whose
 * chunks are missing fails the test (a reader would report it).
 */
function unpackedEvents(items: Record<string, AttributeValue>[]): Record<string, AttributeValue>[] {
  const out: Record<string, AttributeValue>[] = [];
  const packed = new Map<string, Record<string, AttributeValue>[]>();
  for (const item of items) {
    const pk = item.pk?.S ?? "";
    if (!pk.endsWith("#p")) out.push(item);
    else (packed.get(pk) ?? packed.set(pk, []).get(pk)!).push(item);
  }
  for (const partition of packed.values()) {
    // A Scan returns a partition's items in sort-key order, as storedWindows needs them.
    for (const { head, chunks } of storedWindows(partition)) out.push(...unpackWindow(head, chunks));
  }
  return out;
}

/** Every coverage item of the table, in sort-key order (one Query of the coverage partition, paged). */
export async function scanCoverage(client: DynamoDBClient, table: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new QueryCommand({
      TableName: table,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": { S: COVERAGE_PK } },
      ExclusiveStartKey: start,
      ConsistentRead: true,
    }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** The chunk items of order book snapshots (pk `<pair>#snapshots#<day>`), in key order. */
export async function scanSnapshotItems(client: DynamoDBClient, table: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }));
    for (const item of page.Items ?? []) if (isSnapshotItem(item)) items.push(item);
    start = page.LastEvaluatedKey;
  } while (start);
  return items.sort((a, b) => (`${a.pk!.S}/${a.sk!.S}` < `${b.pk!.S}/${b.sk!.S}` ? -1 : 1));
}

/** Number of event and gap items (the metadata item, coverage items and snapshot chunks left out). */
export async function countItems(client: DynamoDBClient, table: string): Promise<number> {
  let count = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({
      TableName: table,
      Select: "COUNT",
      FilterExpression: "pk <> :meta AND pk <> :coverage AND NOT contains(pk, :snapshots)",
      ExpressionAttributeValues: { ":meta": { S: META_KEY.pk }, ":coverage": { S: COVERAGE_PK }, ":snapshots": { S: "#snapshots#" } },
      ExclusiveStartKey: start,
    }));
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}

/**
 * Number of event items, polled until it reaches `expected` or `timeoutMs` passes; then the count as
 * it is, for the caller to compare (a short count shows in the assertion).
 */
export async function waitForItemCount(client: DynamoDBClient, table: string, expected: number, timeoutMs: number): Promise<number> {
  let count = 0;
  await waitFor(async () => (count = await countItems(client, table)) >= expected, {
    timeoutMs,
    intervalMs: 250,
    what: () => `${expected} items in ${table} (${count} so far)`,
  }).catch(() => undefined);
  return count;
}
