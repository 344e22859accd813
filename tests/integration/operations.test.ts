/**
 * LockAndMetrics: the metrics endpoint and `obcap status` against a real capture, and the journal lock
 * (fault test 9: a second instance on the same journal exits 0 at once, touching nothing). The
 * compiled binary against the local exchange and DynamoDB Local.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join, relative } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { dynamoEndpoint } from "../support/env.ts";
import { createTestTable } from "../support/test-table.ts";
import { freePort } from "../support/dynamodb-local.ts";
import { startFakeExchange, type FakeExchange } from "../support/fake-exchange.ts";
import { generateFrames } from "../support/frame-generator.ts";
import { ROOT, runObcap, startObcap, testClient, waitForItemCount, type RunningObcap } from "../support/capture-harness.ts";
import { waitFor } from "../support/wait.ts";
import { parsePrometheusText, sampleValue, type ParsedFamily } from "../../src/metrics/parse.ts";
import { acquireJournalLock, LOCK_FILE_NAME, parseHolder } from "../../src/journal/lock.ts";
import { bunFileLock } from "../../src/runtime/bun/file-lock.ts";
import { EXIT } from "../../src/base/errors.ts";
import { testTempDir } from "../support/temp-dirs.ts";

const PAIR = "btcusd";
const CHANNELS = [`live_orders_${PAIR}`, `live_trades_${PAIR}`];
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

let endpoint: string;
let client: DynamoDBClient;

beforeAll(async () => {
  endpoint = await dynamoEndpoint();
  client = testClient(endpoint);
}, 60_000); // run alone, this file starts DynamoDB Local itself
afterAll(() => client?.destroy());

function exchangeArgs(fake: FakeExchange): string[] {
  return ["--pair", PAIR, "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, "--progress-s", "1"];
}

async function scrape(port: number): Promise<Map<string, ParsedFamily>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parsePrometheusText(await response.text());
}

/** Scrapes every 100 ms until `ok` holds, and returns that scrape; rejects after `timeoutMs` with the last scrape. */
async function pollScrape(port: number, ok: (m: Map<string, ParsedFamily>) => boolean, timeoutMs: number): Promise<Map<string, ParsedFamily>> {
  let text = "";
  return waitFor(
    async () => {
      text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const m = parsePrometheusText(text);
      return ok(m) ? m : undefined;
    },
    { timeoutMs, intervalMs: 100, what: () => `the metrics to reach the expected figures; last scrape:\n${text}` },
  );
}

/** Every file and folder under `dir` with its size and mtime, and the folders' own mtimes. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    out.push(`${relative(dir, d) || "."}/ ${statSync(d).mtimeMs}`);
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      const st = lstatSync(path);
      if (st.isDirectory()) walk(path);
      else out.push(`${relative(dir, path)} ${st.size} ${st.mtimeMs}`);
    }
  };
  walk(dir);
  return out;
}

/**
 * Waits until two listings of `dir` taken `gapMs` apart are equal (the holder has finished writing).
 * The pause between listings is the stability window itself, not an ordering sleep: "nothing changed
 * for gapMs" is the condition.
 */
async function quiescent(dir: string, timeoutMs: number, gapMs = 300): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let last = tree(dir);
  for (;;) {
    await new Promise((r) => setTimeout(r, gapMs));
    const now = tree(dir);
    if (now.join("\n") === last.join("\n")) return now;
    if (Date.now() > deadline) throw new Error(`${dir} kept changing for ${timeoutMs} ms:\n${now.join("\n")}`);
    last = now;
  }
}

/** The capture released the journal lock: its record says so, and the kernel lock is free (the file stays). */
function expectLockReleased(journal: string): void {
  expect(parseHolder(readFileSync(join(journal, LOCK_FILE_NAME), "utf8"))?.releasedAt).toBeString();
  const probe = acquireJournalLock(journal, bunFileLock, { pid: process.pid, releaseOnExit: false, holderWaitMs: 0 });
  expect(probe.kind).toBe("acquired");
  if (probe.kind === "acquired") probe.release();
}

async function stop(obcap: RunningObcap): Promise<number> {
  obcap.child.kill("SIGTERM");
  return obcap.exited;
}

describe("metrics", () => {
  test("a capture with --metrics-port serves true figures for what the exchange sent, and obcap status summarizes them", async () => {
    const table = await createTestTable(client, "metrics");
    await using fake = await startFakeExchange();
    const port = await freePort();
    const journal = testTempDir("metrics-journal");
    const startedS = Date.now() / 1000;
    const obcap = startObcap("binary", [...exchangeArgs(fake), "--table", table, "--endpoint", endpoint, "--journal", journal, "--metrics-port", String(port)]);
    try {
      await obcap.waitForLog(`metrics on http://127.0.0.1:${port}/metrics`, 20_000);
      await fake.whenSubscribed(CHANNELS, 20_000);
      const frames = generateFrames({ pairs: [PAIR], countPerPair: 400, seed: 33 });
      const perChannel: Record<string, number> = {};
      for (const frame of frames) {
        const channel = /"channel":"([^"]+)"/.exec(frame)![1]!;
        perChannel[channel] = (perChannel[channel] ?? 0) + 1;
      }
      expect(Object.keys(perChannel).sort()).toEqual(CHANNELS);
      await fake.play(frames);
      // Items: the frames and a start record per channel (the first run in this journal directory).
      const items = frames.length + CHANNELS.length;
      expect(await waitForItemCount(client, table, items, 30_000)).toBe(items);

      // The uploader's figures arrive every 500 ms: wait until they have caught up with the table.
      const m = await pollScrape(port, (m) => sampleValue(m, "obcap_events_written_total") === items, 10_000);
      const v = (name: string, labels?: Record<string, string>) => sampleValue(m, name, labels);
      expect(v("obcap_up")).toBe(1);
      // The binary's commit (make build): the git sha, "-dirty" when built from changed files.
      expect(m.get("obcap_build_info")?.samples.map((s) => s.labels)).toEqual([{ version: VERSION, commit: expect.stringMatching(/^[0-9a-f]{12}(-dirty)?$/) }]);
      expect(v("obcap_start_time_seconds")).toBeGreaterThanOrEqual(Math.floor(startedS));
      expect(v("obcap_start_time_seconds")).toBeLessThanOrEqual(Date.now() / 1000);
      expect(v("obcap_receiver_frames_total")).toBe(frames.length);
      for (const channel of CHANNELS) {
        expect(v("obcap_frames_received_total", { channel })).toBe(perChannel[channel]!);
        const age = v("obcap_last_frame_age_seconds", { channel })!;
        expect(age).toBeGreaterThanOrEqual(0);
        expect(age).toBeLessThan((Date.now() / 1000 - startedS) + 1);
      }
      expect(v("obcap_events_decoded_total")).toBe(frames.length);
      expect(v("obcap_events_written_total")).toBe(items);
      expect(m.get("obcap_frames_rejected_total")?.samples).toEqual([]);
      expect(v("obcap_frames_lost_total")).toBe(0);
      expect(v("obcap_ring_capacity_bytes")).toBe(8 * 1024 * 1024); // the --queue-mb default
      expect(v("obcap_ring_high_water_bytes")).toBeGreaterThan(0);
      expect(v("obcap_ring_used_bytes")).toBe(0);
      expect(v("obcap_reconnects_total")).toBe(0);
      expect(v("obcap_gaps_total")).toBe(0);
      expect(v("obcap_connected")).toBe(1);
      expect(v("obcap_journal_backlog_bytes")).toBeGreaterThanOrEqual(0);

      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(await health.text()).toBe("ok\n");
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);

      const status = await runObcap("binary", ["status", "--metrics-port", String(port)]);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(new RegExp(`^obcap ${VERSION.replace(/\./g, "\\.")} \\(commit [0-9a-f]{12}(-dirty)?\\) up `));
      expect(status.stdout).toContain(`received    ${frames.length} frames`);
      expect(status.stdout).toContain(`written     ${items} items`); // events and gap records
      expect(status.stdout).toContain("lost        0 frames");
      expect(status.stdout).toContain("backlog     journal ");
      expect(status.stdout).toContain("feed        connected; reconnects 0, gaps 0");
      for (const channel of CHANNELS) expect(status.stdout).toContain(`${channel} ${perChannel[channel]} frames, last `);
      expect(status.stdout).not.toContain("frames lost");
    } finally {
      expect(await stop(obcap)).toBe(EXIT.ok);
    }

    // Stopped: nothing listens any more, and status says what to check (exit 4).
    const after = await runObcap("binary", ["status", "--metrics-port", String(port)]);
    expect(after.code).toBe(EXIT.transient);
    expect(after.stderr).toContain(`nothing answers at http://127.0.0.1:${port}/metrics`);
    expect(after.stderr).toContain(`is obcap running with --metrics-port ${port}?`);
    expect(after.stderr).toContain("E_METRICS_UNREACHABLE");
  }, 90_000);

  test("a metrics port already in use stops the start with E_METRICS_LISTEN (exit 3) before contacting the exchange, and releases the lock", async () => {
    using busy = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("someone else") });
    await using fake = await startFakeExchange();
    const journal = testTempDir("busy-port");
    const { code, stderr } = await runObcap("binary", [...exchangeArgs(fake), "--journal", journal, "--metrics-port", String(busy.port)]);
    expect(code).toBe(EXIT.config);
    expect(stderr).toContain(`cannot serve metrics on 127.0.0.1:${busy.port}`);
    expect(stderr).toContain("E_METRICS_LISTEN");
    expect(fake.restRequests()).toEqual([]);
    expectLockReleased(journal);
  });

  test("--metrics-host without --metrics-port is a usage error (exit 2)", async () => {
    const { code, stderr } = await runObcap("binary", ["--pair", PAIR, "--metrics-host", "0.0.0.0"]);
    expect(code).toBe(EXIT.usage);
    expect(stderr).toContain("--metrics-host needs --metrics-port N");
  });

  test("obcap status refuses an endpoint that is not obcap's (exit 4)", async () => {
    using other = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("# TYPE up gauge\nup 1\n") });
    const { code, stderr } = await runObcap("binary", ["status", "--metrics-url", `http://127.0.0.1:${other.port}/metrics`]);
    expect(code).toBe(EXIT.transient);
    expect(stderr).toContain("serves metrics, but not obcap's");
  });
});

describe("journal lock", () => {
  test("fault 9: a second instance on the same journal exits 0 at once with one line naming the holder, touching nothing", async () => {
    await using fake = await startFakeExchange();
    const journal = testTempDir("lock-journal");
    const port = await freePort();
    const args = [...exchangeArgs(fake), "--journal", journal, "--metrics-port", String(port)];
    const first = startObcap("binary", args);
    try {
      await fake.whenSubscribed(CHANNELS, 20_000);
      const frames = generateFrames({ pairs: [PAIR], countPerPair: 100, seed: 12 });
      await fake.play(frames);
      await first.waitForLog(`received ${frames.length} frames, written ${frames.length + CHANNELS.length}`, 20_000);
      const holder = parseHolder(readFileSync(join(journal, LOCK_FILE_NAME), "utf8"))!;
      expect(holder.pid).toBe(first.child.pid!);

      const before = await quiescent(journal, 10_000);
      const requestsBefore = fake.restRequests().length;
      // Same journal, same metrics port: the lock comes before the port, so this is not an exit 3.
      const second = await runObcap("binary", args, {}, 10_000);
      expect(second.code).toBe(EXIT.ok);
      expect(second.stdout).toBe("");
      expect(second.stderr).toBe(`obcap: another capture (pid ${holder.pid} on ${hostname()} since ${holder.startedAt}) holds ${journal}; exiting\n`);
      expect(tree(journal)).toEqual(before);
      expect(fake.restRequests().length).toBe(requestsBefore);
      expect(fake.connections()).toBe(1);
      // The first capture did not notice.
      expect(sampleValue(await scrape(port), "obcap_receiver_frames_total")).toBe(frames.length);
    } finally {
      expect(await stop(first)).toBe(EXIT.ok);
    }
    expectLockReleased(journal);
  }, 60_000);

  test("the lock of a capture killed with SIGKILL is freed by the kernel: the next start takes it at once, warns, and captures", async () => {
    await using fake = await startFakeExchange();
    const journal = testTempDir("stale-journal");
    const killed = startObcap("binary", [...exchangeArgs(fake), "--journal", journal]);
    await fake.whenSubscribed(CHANNELS, 20_000);
    killed.child.kill("SIGKILL");
    await killed.exited;
    await waitFor(() => fake.connections() === 0, { timeoutMs: 10_000, what: () => "the killed capture's connection to close" });
    expect(parseHolder(readFileSync(join(journal, LOCK_FILE_NAME), "utf8"))?.pid).toBe(killed.child.pid!);

    const next = startObcap("binary", [...exchangeArgs(fake), "--journal", journal]);
    try {
      await next.waitForLog(`took over the stale lock ${join(journal, LOCK_FILE_NAME)} (pid ${killed.child.pid} on ${hostname()}`, 20_000);
      await fake.whenSubscribed(CHANNELS, 20_000);
      expect(parseHolder(readFileSync(join(journal, LOCK_FILE_NAME), "utf8"))?.pid).toBe(next.child.pid!);
    } finally {
      expect(await stop(next)).toBe(EXIT.ok);
    }
    expectLockReleased(journal);
  }, 60_000);

  test("--no-journal --table uses no directory, so it takes no lock: two such captures both run", async () => {
    const table = await createTestTable(client, "nolock");
    await using fake = await startFakeExchange();
    const args = [...exchangeArgs(fake), "--table", table, "--endpoint", endpoint, "--no-journal"];
    const port = await freePort();
    const a = startObcap("binary", [...args, "--metrics-port", String(port)]);
    const b = startObcap("binary", args);
    try {
      await fake.whenConnections(2, 20_000);
      await a.waitForLog("capturing 2 channels", 20_000);
      await b.waitForLog("capturing 2 channels", 20_000);
      // Without the journal the upload stage decodes from the ring, and counts per channel too.
      const frames = generateFrames({ pairs: [PAIR], countPerPair: 50, seed: 4, trades: false });
      await fake.play(frames);
      const m = await pollScrape(port, (m) => sampleValue(m, "obcap_frames_received_total", { channel: `live_orders_${PAIR}` }) === frames.length, 20_000);
      expect(sampleValue(m, "obcap_last_frame_age_seconds", { channel: `live_orders_${PAIR}` })).toBeGreaterThanOrEqual(0);
    } finally {
      expect(await Promise.all([stop(a), stop(b)])).toEqual([EXIT.ok, EXIT.ok]);
    }
    expect(a.stderr() + b.stderr()).not.toContain("another capture");
  }, 60_000);
});
