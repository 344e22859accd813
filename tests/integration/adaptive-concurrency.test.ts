/**
 * The adaptive number of BatchWriteItem requests in flight (src/store/dynamodb/write-concurrency.ts),
 * end to end: the compiled binary at --verbose logs every change as `write concurrency A -> B: reason`.
 * The table is DynamoDB Local behind the fault proxy, whose faults the test changes while obcap runs.
 *
 * Capture: the writer must always have more batches than slots (the limit moves only then), whatever
 * DynamoDB Local's speed on this machine, so the exchange is fed in chunks whenever the upload backlog
 * (frames played minus items written, from the 1 s progress line) falls below a mark. The limit rises
 * above 8 on the fast table, falls under a throttling storm, rises again after it, and every frame
 * played is stored exactly once. Replay: a journal of 50k lines through the proxy with 8 ms added per
 * request (a table further away than DynamoDB Local): the limit rises above 8, every line stored once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { dynamoEndpoint } from "../support/env.ts";
import { startFakeExchange, type FakeExchange } from "../support/fake-exchange.ts";
import { startFaultProxy } from "../support/fault-proxy.ts";
import { FrameGenerator, generateFrames } from "../support/frame-generator.ts";
import { runObcap, startObcap, testClient, type RunningObcap } from "../support/capture-harness.ts";
import { waitFor } from "../support/wait.ts";
import { testTempDir } from "../support/temp-dirs.ts";
import { expectExactlyOnce, storedFrames } from "../support/journal-harness.ts";
import { createTestTable } from "../support/test-table.ts";
import { journalLine } from "../../src/journal/journal-line.ts";
import { EXIT } from "../../src/base/errors.ts";

const PAIRS = ["btcusd", "ethusd"];
const CHANNELS = PAIRS.flatMap((p) => [`live_orders_${p}`, `live_trades_${p}`]);
/** The limit an adaptive run starts at (src/cli/in-flight-option.ts). */
const START = 8;
const PUSHED_BACK = /pushed back/;

let endpoint: string;
let client: DynamoDBClient;

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
});
afterAll(() => client.destroy());

interface Change {
  from: number;
  to: number;
  reason: string;
  /** Offset of the line in the log. */
  at: number;
}

/** Every `write concurrency A -> B: reason` debug line of the log, in order. */
function changesOf(log: string): Change[] {
  return [...log.matchAll(/write concurrency (\d+) -> (\d+): ([^\n]*)/g)].map((m) => ({ from: Number(m[1]), to: Number(m[2]), reason: m[3]!, at: m.index }));
}

/** The limit after the last change (START before any). */
const levelOf = (log: string): number => changesOf(log).at(-1)?.to ?? START;

/** The trajectory, for failure messages and the test output: `8 9 10 7 ...`. */
const trajectory = (log: string): string => [START, ...changesOf(log).map((c) => c.to)].join(" ");

/** Items written according to the latest progress line (0 before the first). */
function writtenOf(log: string): number {
  const all = [...log.matchAll(/received \d+ frames, written (\d+),/g)];
  return Number(all.at(-1)?.[1] ?? 0);
}

function summaryLost(obcap: RunningObcap): number {
  const m = /summary: received (\d+) frames = journaled \d+ \+ oversize \d+ \+ lost (\d+);/.exec(obcap.stderr());
  if (!m) throw new Error(`no summary line in the log:\n${obcap.stderr().slice(-3000)}`);
  return Number(m[2]);
}

describe("adaptive write concurrency", () => {
  test("capture: rises above 8 on a fast table, falls under a throttling storm, rises again after it; every frame stored once", async () => {
    const table = await createTestTable(client, "adaptive-capture");
    await using proxy = startFaultProxy({ target: endpoint, seed: 11 });
    await using fake = await startFakeExchange({ recordSentFrames: false });
    const journal = testTempDir("journal");
    const obcap = startObcap("binary", [
      "--pair", PAIRS.join(","), "--table", table, "--endpoint", proxy.url, "--journal", journal,
      "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, "--progress-s", "1", "--verbose",
    ]);
    const generator = new FrameGenerator({ pairs: PAIRS, countPerPair: Number.POSITIVE_INFINITY, seed: 90 });
    const sent: string[] = [];
    let feeding = true;
    // Chunks of frames played as fast as the socket drains whenever fewer than LOW_MARK frames wait for
    // DynamoDB: the writer always has a backlog (so the limit may move), and the backlog stays bounded
    // whatever the table's speed (so the drain at the end and the final scan stay short).
    const LOW_MARK = 10_000;
    const CHUNK = 5_000;
    const backlog = () => sent.length - Math.max(0, writtenOf(obcap.stderr()) - CHANNELS.length);
    const feed = async () => {
      while (feeding) {
        await waitFor(() => !feeding || backlog() < LOW_MARK || obcap.child.exitCode !== null, {
          timeoutMs: 120_000, intervalMs: 100, what: () => `the upload backlog under ${LOW_MARK} (${backlog()})`,
        });
        if (!feeding || obcap.child.exitCode !== null) return;
        const chunk = generator.nextFrames(CHUNK);
        sent.push(...chunk);
        const played = await fake.play(chunk);
        expect(played).toEqual({ sent: chunk.length, notSent: 0 });
      }
    };
    let feeder: Promise<void> = Promise.resolve();
    const what = (text: string) => () => `${text}; trajectory ${trajectory(obcap.stderr())}; log tail:\n${obcap.stderr().slice(-2000)}`;
    const started = performance.now();
    const marks: string[] = [];
    const mark = (name: string) => marks.push(`${name} at ${((performance.now() - started) / 1000).toFixed(1)} s (level ${levelOf(obcap.stderr())}, ${sent.length} frames played)`);
    try {
      await fake.whenSubscribed(CHANNELS, 30_000);
      feeder = feed();

      // (a) A fast table, more batches than slots: probes upwards past 8.
      await waitFor(() => changesOf(obcap.stderr()).some((c) => c.to > START), { timeoutMs: 30_000, what: what("the limit to rise above 8") });
      mark("rose above 8");
      const risen = changesOf(obcap.stderr()).find((c) => c.to > START)!;
      expect(risen).toMatchObject({ from: START, to: START + 1 });
      // The first step judged by the window after it (kept: 9 -> 10, or taken back: 9 -> 8), so the
      // storm hits a writer that has been adapting, not one still at its first probe.
      await waitFor(() => changesOf(obcap.stderr()).some((c) => c.at > risen.at), { timeoutMs: 15_000, what: what("a verdict on the step 8 -> 9") });
      mark("first step judged");

      // (b) Half of the requests throttled: the limit is cut below the level it had.
      const levelBefore = levelOf(obcap.stderr());
      const stormFrom = obcap.stderr().length;
      proxy.setFaults({ throttleShare: 0.5 });
      await waitFor(() => changesOf(obcap.stderr()).some((c) => c.at >= stormFrom && PUSHED_BACK.test(c.reason) && c.to < levelBefore), {
        timeoutMs: 15_000, what: what(`a push-back cut below ${levelBefore}`),
      });
      mark("cut by push-back");
      // The storm itself is the fault under test, not an ordering wait: it lasts a fixed 2 s so that
      // several windows see push-back (one cut per window) and the limit is driven well down.
      await Bun.sleep(2_000);
      const throttledInStorm = proxy.counts.throttled;
      proxy.setFaults({ throttleShare: 0 });
      const stormEnd = obcap.stderr().length;
      const lowest = Math.min(...changesOf(obcap.stderr()).filter((c) => c.at >= stormFrom).map((c) => c.to));
      mark(`storm over (lowest ${lowest})`);
      expect(throttledInStorm).toBeGreaterThan(0);

      // (c) No more push-back: probing resumes, the limit rises again (after the last push-back).
      const risesAgain = () => {
        const changes = changesOf(obcap.stderr());
        const lastPush = Math.max(stormEnd, ...changes.filter((c) => PUSHED_BACK.test(c.reason)).map((c) => c.at));
        return changes.find((c) => c.at > lastPush && c.to > c.from);
      };
      const again = await waitFor(risesAgain, { timeoutMs: 30_000, what: what("the limit to rise again after the storm") });
      mark(`rose again ${again.from} -> ${again.to}`);

      // (d) Stop feeding; once everything played is written, stop: nothing lost, every frame once.
      feeding = false;
      await feeder;
      await obcap.waitForLog(`received ${sent.length} frames, written ${sent.length + CHANNELS.length},`, 60_000);
      mark("all written");
      obcap.child.kill("SIGTERM");
      expect(await obcap.exited).toBe(EXIT.ok);
    } finally {
      feeding = false;
      obcap.child.kill("SIGKILL");
      await feeder.catch(() => undefined);
    }
    console.error(`[adaptive capture] ${marks.join("; ")}\n[adaptive capture] trajectory: ${trajectory(obcap.stderr())}`);
    expect(summaryLost(obcap)).toBe(0);
    const changes = changesOf(obcap.stderr());
    // Bounds: never below 1, never above --in-flight-max (64).
    for (const c of changes) {
      expect(c.to).toBeGreaterThanOrEqual(1);
      expect(c.to).toBeLessThanOrEqual(64);
    }
    expectExactlyOnce(await storedFrames(client, table), sent);
  }, 120_000);

  test("replay: a table 8 ms away takes more than 8 requests in flight; every line stored once", async () => {
    const table = await createTestTable(client, "adaptive-replay");
    await using proxy = startFaultProxy({ target: endpoint, seed: 12, latencyMs: 8 });
    const dir = testTempDir("adaptive-replay");
    const frames = generateFrames({ pairs: PAIRS, countPerPair: 25_000, seed: 91 });
    const path = join(dir, "journal.ndjson");
    writeFileSync(path, frames.map((f, i) => journalLine(1_700_000_000_000_000 + i, f)).join(""));
    const started = performance.now();
    const run = await runObcap(
      "binary",
      ["replay", path, "--table", table, "--endpoint", proxy.url, "--checkpoint", join(dir, "replay.checkpoint"), "--verbose", "--progress-s", "1"],
      {},
      90_000,
    );
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.error(`[adaptive replay] ${seconds} s; trajectory: ${trajectory(run.stderr)}`);
    expect(run.code).toBe(EXIT.ok);
    expect(run.stderr).toMatch(new RegExp(`summary: lines ${frames.length}, events ${frames.length}`));
    const changes = changesOf(run.stderr);
    expect(changes[0]).toMatchObject({ from: START, to: START + 1 });
    expect(Math.max(...changes.map((c) => c.to))).toBeGreaterThan(START);
    const scanStarted = performance.now();
    expectExactlyOnce(await storedFrames(client, table), frames);
    console.error(`[adaptive replay] scan and compare ${((performance.now() - scanStarted) / 1000).toFixed(1)} s`);
  }, 120_000);
});
