/**
 * Order book snapshots in a capture session (src/capture/session.ts), in-process like session.test.ts:
 * a fake feed socket, the real journal stage on this thread, a local REST server for the pair list,
 * and a fake fetch for `order_book/<pair>/?group=2`. What is checked: a snapshot after each
 * subscription of the orders channel (the first connection and a reconnect), journaled as obcap's own
 * record after the run's opening records, byte for byte; none for a trades-only capture; a snapshot
 * that fails never stops the capture nor costs a frame. Ordered by conditions, never by sleeps.
 */
import { afterAll, afterEach, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { LogObject } from "consola";
import { EXIT } from "../../../src/base/errors.ts";
import { log } from "../../../src/base/log.ts";
import { runCapture, type CaptureOptions, type CaptureResult } from "../../../src/capture/session.ts";
import type { JournalSettings } from "../../../src/journal/journal-protocol.ts";
import { createFakeFeed } from "../../support/fake-feed-socket.ts";
import { restResponse } from "../../support/fake-exchange-rest.ts";
import { generateFrames } from "../../support/frame-generator.ts";
import { inProcessPipeline } from "../../support/in-process-pipeline.ts";
import { journalRecords } from "../../support/journal-harness.ts";
import { FIXTURES_DIR } from "../../support/fixtures.ts";
import { PAIRS_INFO_FIXTURE_URL } from "../../support/market-params.ts";
import { testTempDir } from "../../support/temp-dirs.ts";
import { waitFor } from "../../support/wait.ts";

setDefaultTimeout(20_000);

const T0 = 1_770_000_000_000_000;
const BOOK = readFileSync(join(FIXTURES_DIR, "rest_order_book_group2_2026-09-04_lob_decoder_test_TRIMMED.json"), "utf8").replace(/\n$/, "");

let rest: ReturnType<typeof Bun.serve>;
let logLines: string[] = [];
const originalReporters = [...log.options.reporters];
beforeAll(() => {
  const pairsInfoBody = readFileSync(PAIRS_INFO_FIXTURE_URL, "utf8").replace(/\n$/, "");
  const knownPairs = new Set((JSON.parse(pairsInfoBody) as Array<{ url_symbol: string }>).map((r) => r.url_symbol));
  rest = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => restResponse(request, new URL(request.url), { pairsInfoBody, knownPairs }) });
  log.setReporters([{ log: (record: LogObject) => void logLines.push(`[${record.type}] ${record.args.map(String).join(" ")}`) }]);
});
afterAll(() => {
  log.setReporters(originalReporters);
  void rest.stop(true);
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  logLines = [];
});

function journalSettings(dir: string): JournalSettings {
  return { dir, fsyncMs: 0, segmentBytes: 64 << 20, segmentAgeMs: 3_600_000, keepMs: 86_400_000, disk: { maxBytes: 1 << 30, minFreeBytes: 0, policy: "drop-oldest", gzipLevel: 0 } };
}

function start(overrides: Partial<CaptureOptions>, answer: (url: string) => Response) {
  const dir = testTempDir("session-snapshots");
  const feed = createFakeFeed();
  const pipeline = inProcessPipeline();
  const urls: string[] = [];
  let now = T0;
  let onStop: ((signal: string) => void) | undefined;
  const options: CaptureOptions = {
    pairs: ["btcusd"], streams: ["orders", "trades"], wsUrl: "wss://ws.bitstamp.test", restUrl: rest.url.href, target: { kind: "journal-only" },
    queueBytes: 1 << 20, overflowBytes: 16 << 20, lingerMs: 5, subscribeTimeoutMs: 10_000, heartbeatMs: 20, staleMs: 60_000, reconnectMaxMs: 1_000,
    shutdownMs: 10_000, progressEveryMs: 50, logEveryMs: 3_600_000, journal: journalSettings(dir), snapshots: { everyMs: 0 },
    ...overrides,
  };
  const result = runCapture(options, {
    createSocket: feed.createSocket,
    createPipelineWorker: pipeline.createWorker,
    onStopSignal: (handler) => {
      onStop = handler;
      return () => void (onStop = undefined);
    },
    clock: () => now,
    fetch: async (url) => {
      urls.push(url);
      return answer(url);
    },
  });
  result.catch(() => undefined);
  cleanups.push(async () => {
    onStop?.("SIGTERM");
    await result.catch(() => undefined);
    await pipeline.worker()?.reap(10_000);
  });
  const snapshotRecords = () => journalRecords(dir).filter((r) => r.kind === "own" && r.record.includes('"event":"obcap:snapshot"'));
  return {
    dir, feed, urls, result, snapshotRecords,
    setClock: (micros: number) => void (now = micros),
    stop: () => onStop?.("SIGTERM"),
    until: (what: string, condition: () => boolean) => waitFor(condition, { timeoutMs: 10_000, intervalMs: 5, what: () => `${what}; log:\n${logLines.join("\n")}` }),
  };
}

test("a snapshot after subscribing and after a reconnect, each journaled byte for byte after the run's opening records", async () => {
  const c = start({}, () => new Response(BOOK, { status: 200 }));
  await c.feed.whenSubscribed(["live_orders_btcusd", "live_trades_btcusd"], 10_000);
  await c.until("the first snapshot in the journal", () => c.snapshotRecords().length === 1);
  const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 200, seed: 8 });
  for (const [i, frame] of frames.slice(0, 100).entries()) {
    c.setClock(T0 + 1000 * (i + 1));
    c.feed.push(frame);
  }
  c.feed.drop();
  await c.until("a second snapshot", () => c.snapshotRecords().length === 2);
  for (const [i, frame] of frames.slice(100).entries()) {
    c.setClock(T0 + 1000 * (101 + i));
    c.feed.push(frame);
  }
  c.stop();
  const result: CaptureResult = await c.result;
  expect(result.exitCode).toBe(EXIT.ok);
  expect(result.framesReceived).toBe(frames.length);
  expect(result.settledFrames).toBe(frames.length);
  expect(result.snapshots).toMatchObject({ fetched: 2, failed: 0 });
  expect(c.urls).toHaveLength(2);
  expect(c.urls.every((url) => url.startsWith(`${rest.url.href.replace(/\/$/, "")}/api/v2/order_book/btcusd/?group=2&_=`))).toBe(true);
  const records = journalRecords(c.dir);
  // The run's two opening records (a start of each channel) come first: no snapshot before them.
  expect(records.slice(0, 2).every((r) => r.kind === "own" && r.record.includes('"reason":"start"'))).toBe(true);
  const snapshots = c.snapshotRecords();
  for (const s of snapshots) expect(s.kind === "own" && s.record.endsWith(`"body":${BOOK}}}`)).toBe(true);
  expect(records.filter((r) => r.kind === "journal")).toHaveLength(frames.length);
  expect(logLines.filter((line) => line.includes(`order book snapshot of btcusd (after subscribing): 6 orders (4 bids, 2 asks), ${BOOK.length} B`))).toHaveLength(2);
});

test("a snapshot that fails (404) is a warning; the capture goes on and keeps every frame", async () => {
  const c = start({}, () => new Response("<html>404</html>", { status: 404 }));
  await c.feed.whenSubscribed(["live_orders_btcusd", "live_trades_btcusd"], 10_000);
  await c.until("the warning", () => logLines.some((line) => line.includes("HTTP 404")));
  const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 100, seed: 9 });
  for (const [i, frame] of frames.entries()) {
    c.setClock(T0 + 1000 * (i + 1));
    c.feed.push(frame);
  }
  c.stop();
  const result = await c.result;
  expect(result.exitCode).toBe(EXIT.ok);
  expect(result.settledFrames).toBe(frames.length);
  expect(result.snapshots).toMatchObject({ fetched: 0, failed: 1 });
  expect(c.snapshotRecords()).toHaveLength(0);
});

test("a capture of trades only takes no snapshot", async () => {
  const c = start({ streams: ["trades"] }, () => new Response(BOOK, { status: 200 }));
  await c.feed.whenSubscribed(["live_trades_btcusd"], 10_000);
  c.stop();
  const result = await c.result;
  expect(result.exitCode).toBe(EXIT.ok);
  expect(result.snapshots).toBeUndefined();
  expect(c.urls).toEqual([]);
});
