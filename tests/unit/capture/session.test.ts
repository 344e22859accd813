/**
 * runCapture (src/capture/session.ts) in-process, with the runtime's ports replaced: a fake exchange
 * socket that speaks Bitstamp's protocol (tests/support/fake-feed-socket.ts), the pipeline Worker's
 * `hostPipeline` on the test thread (tests/support/in-process-pipeline.ts: the real journal stage, writing
 * to a temporary directory), a stop signal the test raises, and a clock the test sets. The pair list
 * comes from a local HTTP server answering trading-pairs-info with the real fixture. No DynamoDB.
 *
 * What the session promises and is checked here: every frame received is journaled (or written to
 * --out), quarantined when too large for the queue, or counted as lost, and
 * framesReceived = settledFrames + oversizeFrames + lostFrames; the run's opening records come before
 * its first frame; a stop signal ends the run with exit 0, an error of the feed or of the pipeline with
 * that error's exit code; too many channels is a usage error before anything starts.
 *
 * Events are ordered by conditions (waitFor), never by sleeps.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LogObject } from "consola";
import { ERROR_CODES, EXIT } from "../../../src/base/errors.ts";
import { log } from "../../../src/base/log.ts";
import { runCapture, type CaptureOptions, type CaptureResult, type CaptureRuntime } from "../../../src/capture/session.ts";
import type { JournalSettings, JournalStats } from "../../../src/journal/journal-protocol.ts";
import { parseRecordedLine } from "../../../src/journal/journal-line.ts";
import { createFakeFeed, type FakeFeed } from "../../support/fake-feed-socket.ts";
import { restResponse } from "../../support/fake-exchange-rest.ts";
import { generateFrames } from "../../support/frame-generator.ts";
import { inProcessPipeline, type InProcessPipelineWorker } from "../../support/in-process-pipeline.ts";
import { journaledFrames, journalRecords, quarantineRecords } from "../../support/journal-harness.ts";
import { PAIRS_INFO_FIXTURE_URL } from "../../support/market-params.ts";
import { testTempDir } from "../../support/temp-dirs.ts";
import { waitFor } from "../../support/wait.ts";

// Generous: every wait is on a condition; this bound only turns a hang into a failure.
setDefaultTimeout(20_000);

const CHANNELS = ["live_orders_btcusd", "live_trades_btcusd"];
/** Receive times of this run: before the generator's exchange times (2026-09), so a restart gap starts at the last rx. */
const T0 = 1_770_000_000_000_000;

// ---------------------------------------------------------------------------------------------
// The exchange's REST side: trading-pairs-info from the real fixture, and one with too many pairs.

type Server = ReturnType<typeof Bun.serve>;
let rest: Server;
let crowdedRest: Server;

function serveRest(pairsInfoBody: string): Server {
  const knownPairs = new Set((JSON.parse(pairsInfoBody) as Array<{ url_symbol: string }>).map((r) => r.url_symbol));
  return Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => restResponse(request, new URL(request.url), { pairsInfoBody, knownPairs }) });
}

/** 513 enabled pairs: with both streams, 1,026 channels, over Bitstamp's 1,024 per connection. */
function crowdedPairsInfo(): string {
  const rows = Array.from({ length: 513 }, (_, i) => ({
    trading: "Enabled", base_decimals: 8, url_symbol: `c${i}usd`, name: `C${i}/USD`, minimum_order: "20.0 USD", counter_decimals: 2, description: `coin ${i}`,
  }));
  return JSON.stringify(rows);
}

// ---------------------------------------------------------------------------------------------
// The log, captured: quiet test output, and lines to show when a test fails.

let logLines: string[] = [];
const originalReporters = [...log.options.reporters];
beforeAll(() => {
  rest = serveRest(readFileSync(PAIRS_INFO_FIXTURE_URL, "utf8").replace(/\n$/, ""));
  crowdedRest = serveRest(crowdedPairsInfo());
  log.setReporters([{ log: (record: LogObject) => void logLines.push(`[${record.type}] ${record.args.map(String).join(" ")}`) }]);
});
afterAll(() => {
  log.setReporters(originalReporters);
  void rest.stop(true);
  void crowdedRest.stop(true);
});
beforeEach(() => {
  logLines = [];
});

// ---------------------------------------------------------------------------------------------
// One capture with fakes.

interface Capture {
  feed: FakeFeed;
  /** The in-process pipeline Worker (once the session started it). */
  worker(): InProcessPipelineWorker | undefined;
  /** Sets the receive clock (µs). */
  setClock(micros: number): void;
  /** Raises the stop signal (as SIGTERM would). */
  stop(signal?: string): void;
  /** The run; resolves with its result. */
  result: Promise<CaptureResult>;
  runtime: CaptureRuntime;
  /** Whether the session registered its stop handler, and removed it again. */
  signals: { registered: number; removed: number };
}

const running: Capture[] = [];
afterEach(async () => {
  // Nothing of a test keeps running into the next: the stages on this thread end with their run.
  for (const capture of running.splice(0)) {
    capture.stop();
    await capture.result.catch(() => undefined);
    await capture.worker()?.reap(10_000);
  }
});

function journalSettings(dir: string): JournalSettings {
  return {
    dir, fsyncMs: 0, segmentBytes: 64 * 1024 * 1024, segmentAgeMs: 3_600_000, keepMs: 86_400_000,
    // Explicit sizes: the run must not depend on the test machine's free space.
    disk: { maxBytes: 1024 * 1024 * 1024, minFreeBytes: 0, policy: "drop-oldest", gzipLevel: 0 },
  };
}

function captureOptions(overrides: Partial<CaptureOptions>): CaptureOptions {
  return {
    pairs: ["btcusd"],
    streams: ["orders", "trades"],
    wsUrl: "wss://ws.bitstamp.test",
    restUrl: rest.url.href,
    target: { kind: "journal-only" },
    queueBytes: 1024 * 1024,
    overflowBytes: 16 * 1024 * 1024,
    lingerMs: 5,
    subscribeTimeoutMs: 10_000,
    heartbeatMs: 20,
    // The clock only moves when a test moves it, so the watchdog never sees a stale connection.
    staleMs: 60_000,
    reconnectMaxMs: 1_000,
    shutdownMs: 10_000,
    progressEveryMs: 50,
    logEveryMs: 3_600_000,
    ...overrides,
  };
}

/** `signalAtStart`: the stop signal arrives the moment its handler is installed (during start-up). */
function startCapture(options: CaptureOptions, feed = createFakeFeed(), signalAtStart = false): Capture {
  let now = T0;
  let onStop: ((signal: string) => void) | undefined;
  const signals = { registered: 0, removed: 0 };
  const pipeline = inProcessPipeline();
  const runtime: CaptureRuntime = {
    createSocket: feed.createSocket,
    createPipelineWorker: pipeline.createWorker,
    onStopSignal: (handler) => {
      signals.registered++;
      onStop = handler;
      if (signalAtStart) queueMicrotask(() => handler("SIGINT"));
      return () => {
        signals.removed++;
        onStop = undefined;
      };
    },
    clock: () => now,
  };
  const capture: Capture = {
    feed,
    worker: pipeline.worker,
    setClock: (micros) => void (now = micros),
    stop: (signal = "SIGTERM") => onStop?.(signal),
    result: runCapture(options, runtime),
    runtime,
    signals,
  };
  capture.result.catch(() => undefined);
  running.push(capture);
  return capture;
}

/** Pushes each frame at its own receive time T0 + 1000 * (i + 1); returns those times. */
function pushFrames(capture: Capture, frames: readonly string[], firstIndex = 0): number[] {
  return frames.map((frame, i) => {
    const rx = T0 + 1000 * (firstIndex + i + 1);
    capture.setClock(rx);
    expect(capture.feed.push(frame)).toBe(1);
    return rx;
  });
}

/** The figures add up: every frame received is settled, oversize or lost. */
function expectIdentity(result: CaptureResult): void {
  expect(result.framesReceived).toBe(result.settledFrames + result.oversizeFrames + result.lostFrames);
}

/** The run's result. The session's log is captured (quiet output); DEBUG_SESSION_TEST=1 prints it. */
async function finished(capture: Capture): Promise<CaptureResult> {
  const result = await capture.result;
  if (process.env.DEBUG_SESSION_TEST) console.error(logLines.join("\n"));
  return result;
}

const frames = (count: number, seed: number) => generateFrames({ pairs: ["btcusd"], countPerPair: count, seed });

// ---------------------------------------------------------------------------------------------

describe("a capture into the journal, stopped by a signal", () => {
  test("journals every frame received, in order, at its receive time; the figures add up; exit 0", async () => {
    const dir = testTempDir("session");
    const capture = startCapture(captureOptions({ journal: journalSettings(dir) }));
    await capture.feed.whenSubscribed(CHANNELS, 10_000);
    const sent = frames(2_000, 11);
    const rx = pushFrames(capture, sent);
    capture.stop("SIGINT");
    const result = await finished(capture);

    expect({ exitCode: result.exitCode, error: result.error?.message }).toEqual({ exitCode: EXIT.ok, error: undefined });
    expect(result).toMatchObject({ framesReceived: sent.length, settledFrames: sent.length, oversizeFrames: 0, lostFrames: 0 });
    expectIdentity(result);
    const journaled = journalRecords(dir).filter((r) => r.kind === "journal");
    expect(journaled.length).toBe(sent.length);
    expect(journaled.map((r) => (r.kind === "journal" ? r.frame : ""))).toEqual(sent);
    expect(journaled.map((r) => r.rxMicros)).toEqual(rx);
    expect(result.journal).toMatchObject({ dir, frames: sent.length, quarantined: 0 });
    expect(result.feed).toMatchObject({ connectionsOpened: 1, reconnects: 0 });
    // The session subscribed every channel once, and let go of the stop signal at its end.
    expect(capture.feed.clientFrames().filter((f) => f.includes("bts:subscribe")).sort()).toEqual(
      CHANNELS.map((channel) => JSON.stringify({ event: "bts:subscribe", data: { channel } })).sort(),
    );
    expect(capture.signals).toEqual({ registered: 1, removed: 1 });
    expect(capture.worker()?.terminated).toBe(true);
  });

  test("the run's opening records (`start` in a new directory, `restart` in one with a previous run) come before its first frame", async () => {
    const dir = testTempDir("session");
    const first = startCapture(captureOptions({ journal: journalSettings(dir) }));
    await first.feed.whenSubscribed(CHANNELS, 10_000);
    const sent = frames(50, 12);
    const rx = pushFrames(first, sent);
    first.stop();
    expect((await finished(first)).exitCode).toBe(EXIT.ok);

    const records = journalRecords(dir);
    const firstFrame = records.findIndex((r) => r.kind === "journal");
    expect(firstFrame).toBeGreaterThan(0);
    const opening = records.slice(0, firstFrame).map((r) => (r.kind === "own" ? JSON.parse(r.record) : r));
    // One per channel; acknowledged (and the run started) at T0, the clock then.
    expect(opening.map((o) => [o.channels, o.data.reason, o.data.start_us, o.data.end_us]).sort()).toEqual(
      CHANNELS.map((c) => [[c], "start", String(T0), String(T0)]).sort(),
    );
    expect(records.slice(0, firstFrame).every((r) => r.rxMicros === T0)).toBe(true);
    expect(records.filter((r) => r.kind === "journal").length).toBe(sent.length);

    // The next run in the same directory: the hole since the last record of the first run, before its frames.
    const secondStart = rx.at(-1)! + 5_000_000;
    const feed = createFakeFeed();
    const second = startCapture(captureOptions({ journal: journalSettings(dir) }), feed);
    second.setClock(secondStart);
    await feed.whenSubscribed(CHANNELS, 10_000);
    const more = frames(20, 13);
    for (const [i, frame] of more.entries()) {
      second.setClock(secondStart + 1000 * (i + 1));
      feed.push(frame);
    }
    second.stop();
    const result = await finished(second);
    expect(result.exitCode).toBe(EXIT.ok);
    expectIdentity(result);
    const all = journalRecords(dir);
    const secondRun = all.slice(records.length);
    const secondFirstFrame = secondRun.findIndex((r) => r.kind === "journal");
    const reopening = secondRun.slice(0, secondFirstFrame).map((r) => (r.kind === "own" ? JSON.parse(r.record) : r));
    const lastOfFirst = records.at(-1)!.rxMicros;
    expect(reopening.map((o) => [o.channels, o.data.reason, o.data.start_us]).sort()).toEqual(
      CHANNELS.map((c) => [[c], "restart", String(lastOfFirst)]).sort(),
    );
    for (const o of reopening) expect(Number(o.data.end_us)).toBeGreaterThanOrEqual(secondStart);
    expect(journaledFrames(dir)).toEqual([...sent, ...more]);
  });
});

describe("--no-journal --out FILE", () => {
  test("writes every frame as a journal line to the file, after the opening records; nothing else is written; exit 0", async () => {
    const out = join(testTempDir("session-out"), "frames.ndjson");
    const capture = startCapture(captureOptions({ target: { kind: "journal-lines", path: out } }));
    await capture.feed.whenSubscribed(CHANNELS, 10_000);
    const sent = frames(1_000, 14);
    const rx = pushFrames(capture, sent);
    capture.stop();
    const result = await finished(capture);

    expect({ exitCode: result.exitCode, error: result.error?.message }).toEqual({ exitCode: EXIT.ok, error: undefined });
    expect(result).toMatchObject({ framesReceived: sent.length, settledFrames: sent.length, oversizeFrames: 0, lostFrames: 0 });
    expectIdentity(result);
    expect(result.journal).toBeUndefined();
    const lines = readFileSync(out, "utf8").split("\n");
    expect(lines.pop()).toBe("");
    const parsed = lines.map(parseRecordedLine);
    const firstFrame = parsed.findIndex((r) => r.kind === "journal");
    expect(parsed.slice(0, firstFrame).map((r) => r.kind)).toEqual(CHANNELS.map(() => "own"));
    const written = parsed.slice(firstFrame);
    expect(written.map((r) => (r.kind === "journal" ? r.frame : `not a frame: ${r.kind}`))).toEqual(sent);
    expect(written.map((r) => (r.kind === "journal" ? r.rxMicros : 0))).toEqual(rx);
  });

  test("without --out and without the journal there is no output: E_USAGE, and nothing is started", async () => {
    const capture = startCapture(captureOptions({ target: { kind: "journal-only" } }));
    const error = await capture.result.then(() => undefined, (err: { code?: string }) => err);
    expect(error?.code).toBe("E_USAGE");
    expect(capture.feed.sockets.length).toBe(0);
    expect(capture.worker()).toBeUndefined();
    expect(capture.signals.registered).toBe(0);
  });
});

describe("a frame larger than the queue's largest record", () => {
  /** A frame of the subscribed trades channel, `bytes` long (the journal path does not decode it). */
  const bigFrame = (bytes: number) => {
    const head = '{"data":{"pad":"';
    const tail = '"},"channel":"live_trades_btcusd","event":"trade"}';
    return head + "x".repeat(bytes - head.length - tail.length) + tail;
  };

  test("is counted as oversize and quarantined with the journal; the frames around it are journaled; exit 0", async () => {
    const dir = testTempDir("session");
    // 64 KiB queue: its largest record is 16,368 bytes.
    const capture = startCapture(captureOptions({ journal: journalSettings(dir), queueBytes: 64 * 1024 }));
    await capture.feed.whenSubscribed(CHANNELS, 10_000);
    const before = frames(30, 15);
    const big = bigFrame(20_000);
    pushFrames(capture, before);
    const [bigRx] = pushFrames(capture, [big], before.length);
    const after = frames(30, 16);
    pushFrames(capture, after, before.length + 1);
    capture.stop();
    const result = await finished(capture);

    expect({ exitCode: result.exitCode, error: result.error?.message }).toEqual({ exitCode: EXIT.ok, error: undefined });
    expect(result).toMatchObject({ framesReceived: before.length + 1 + after.length, settledFrames: before.length + after.length, oversizeFrames: 1, lostFrames: 0 });
    expectIdentity(result);
    expect(journaledFrames(dir)).toEqual([...before, ...after]);
    const quarantined = quarantineRecords(dir);
    expect(quarantined.length).toBe(1);
    expect(quarantined[0]).toMatchObject({ code: "E_FRAME_OVERSIZE", rx: bigRx, frame: big });
    expect(result.journal?.quarantined).toBe(1);
  });

  test("without a journal it is only counted (--no-journal --out)", async () => {
    const out = join(testTempDir("session-out"), "frames.ndjson");
    const capture = startCapture(captureOptions({ target: { kind: "journal-lines", path: out }, queueBytes: 64 * 1024 }));
    await capture.feed.whenSubscribed(CHANNELS, 10_000);
    const sent = frames(10, 17);
    pushFrames(capture, sent);
    pushFrames(capture, [bigFrame(17_000)], sent.length);
    capture.stop();
    const result = await finished(capture);
    expect(result).toMatchObject({ exitCode: EXIT.ok, framesReceived: sent.length + 1, settledFrames: sent.length, oversizeFrames: 1, lostFrames: 0 });
    expectIdentity(result);
    const written = readFileSync(out, "utf8").split("\n").filter((l) => l !== "").map(parseRecordedLine);
    expect(written.flatMap((r) => (r.kind === "journal" ? [r.frame] : []))).toEqual(sent);
  });
});

describe("an error ends the run with its exit code", () => {
  test("the pipeline Worker reports a fatal journal error: that error and its exit code; the figures still add up", async () => {
    const dir = testTempDir("session");
    const capture = startCapture(captureOptions({ journal: journalSettings(dir) }));
    await capture.feed.whenSubscribed(CHANNELS, 10_000);
    const sent = frames(200, 18);
    pushFrames(capture, sent);
    // Once the journal holds them all, the Worker says the disk failed.
    await waitFor(() => journaledFrames(dir).length === sent.length, { timeoutMs: 10_000, what: () => `${sent.length} frames in the journal (${journaledFrames(dir).length})` });
    const worker = capture.worker()!;
    const { stats } = worker.journalMessages().findLast((m) => m.type === "progress" || m.type === "ready") as { stats: JournalStats };
    worker.inject({ stage: "journal", message: { type: "fatal", code: "E_JOURNAL_IO", message: "cannot write the journal: EIO (test)", stats } });
    const result = await finished(capture);

    expect(result.error?.code).toBe("E_JOURNAL_IO");
    expect(result.exitCode).toBe(ERROR_CODES.E_JOURNAL_IO);
    expect(result.exitCode).not.toBe(EXIT.ok);
    expect(result.framesReceived).toBe(sent.length);
    expectIdentity(result);
    // No stop signal was needed, and the session let go of it.
    expect(capture.signals).toEqual({ registered: 1, removed: 1 });
  });

  test("the pipeline Worker fails as a whole: E_WORKER_FAILED", async () => {
    const dir = testTempDir("session");
    const capture = startCapture(captureOptions({ journal: journalSettings(dir) }));
    await capture.feed.whenSubscribed(CHANNELS, 10_000);
    pushFrames(capture, frames(20, 19));
    capture.worker()!.crash("out of memory (test)");
    const result = await finished(capture);
    expect(result.error?.code).toBe("E_WORKER_FAILED");
    expect(result.error?.message).toContain("out of memory (test)");
    expect(result.exitCode).toBe(ERROR_CODES.E_WORKER_FAILED);
    expect(result.framesReceived).toBe(20);
    expectIdentity(result);
  });

  test("the feed cannot go on (its resubscription is answered with bts:error): E_SUBSCRIBE_REJECTED; the hole is journaled", async () => {
    const dir = testTempDir("session");
    const capture = startCapture(captureOptions({ journal: journalSettings(dir) }));
    await capture.feed.whenSubscribed(CHANNELS, 10_000);
    const sent = frames(100, 20);
    const rx = pushFrames(capture, sent);
    // The connection drops; the replacement (attempt 1, at once) is refused one channel.
    capture.feed.configure({ rejectChannels: [CHANNELS[1]!] });
    capture.setClock(rx.at(-1)! + 1_000_000);
    capture.feed.drop();
    const result = await finished(capture);

    expect(result.error?.code).toBe("E_SUBSCRIBE_REJECTED");
    expect(result.exitCode).toBe(ERROR_CODES.E_SUBSCRIBE_REJECTED);
    expect(capture.feed.sockets.length).toBe(2);
    expect(result).toMatchObject({ framesReceived: sent.length, settledFrames: sent.length, lostFrames: 0 });
    expectIdentity(result);
    expect(journaledFrames(dir)).toEqual(sent);
    // Both channels were uncovered from the drop on (the orders channel twice: until the replacement
    // acknowledged it, and again from the replacement's failure): gap records after the last frame.
    const records = journalRecords(dir);
    const lastFrame = records.findLastIndex((r) => r.kind === "journal");
    const gaps = records.slice(lastFrame + 1).flatMap((r) => (r.kind === "own" ? [JSON.parse(r.record) as { channels: string[]; data: { reason: string; end_us: string } }] : []));
    expect([...new Set(gaps.flatMap((g) => g.channels))].sort()).toEqual([...CHANNELS].sort());
    expect(gaps.every((g) => g.data.reason === "dropped")).toBe(true);
    for (const channel of CHANNELS) {
      const last = gaps.filter((g) => g.channels.includes(channel)).at(-1)!;
      expect(Number(last.data.end_us)).toBeGreaterThanOrEqual(rx.at(-1)! + 1_000_000);
    }
  });
});

describe("a start that does not get far", () => {
  test("a journal that cannot open, with a table: E_JOURNAL_IO at once, no wait for an upload that never started", async () => {
    const dir = testTempDir("session");
    // A file where the quarantine directory goes: the journal stage fails before it is ready.
    writeFileSync(join(dir, "quarantine"), "not a directory");
    // A long shutdown bound: waiting for the upload stage (which starts only after the journal's ready)
    // would hold the run for a minute, past this test's timeout.
    const capture = startCapture(captureOptions({
      journal: journalSettings(dir),
      target: { kind: "dynamodb", table: "never-used", endpoint: "http://127.0.0.1:9", inFlight: { initial: 1, max: 1, adaptive: false } },
      shutdownMs: 60_000,
    }));
    const result = await finished(capture);
    expect(result.error?.code).toBe("E_JOURNAL_IO");
    expect(result.exitCode).toBe(ERROR_CODES.E_JOURNAL_IO);
    // The upload stage never ran: it posted nothing.
    expect(capture.worker()!.uploadMessages()).toEqual([]);
    expect(capture.feed.sockets.length).toBe(0);
  }, 15_000);

  test("a stop signal while the pipeline starts: the run never connects, records nothing, exit 0", async () => {
    const dir = testTempDir("session");
    const capture = startCapture(captureOptions({ journal: journalSettings(dir) }), createFakeFeed(), true);
    const result = await finished(capture);
    expect(result.exitCode).toBe(EXIT.ok);
    expect(result.framesReceived).toBe(0);
    expect(capture.feed.sockets.length).toBe(0);
    expect(journalRecords(dir)).toEqual([]);
  });
});

describe("an error of the first connection", () => {
  test("a subscription answered with bts:error at start: E_SUBSCRIBE_REJECTED, nothing received, no retry", async () => {
    const dir = testTempDir("session");
    const capture = startCapture(captureOptions({ journal: journalSettings(dir) }), createFakeFeed({ rejectChannels: [CHANNELS[1]!] }));
    const result = await finished(capture);
    expect(result.error?.code).toBe("E_SUBSCRIBE_REJECTED");
    expect(result.exitCode).toBe(ERROR_CODES.E_SUBSCRIBE_REJECTED);
    expect(result).toMatchObject({ framesReceived: 0, settledFrames: 0, oversizeFrames: 0, lostFrames: 0 });
    expect(capture.feed.sockets.length).toBe(1);
    expect(journaledFrames(dir)).toEqual([]);
    expect(capture.signals).toEqual({ registered: 1, removed: 1 });
  });
});

describe("start-up checks", () => {
  test("more channels than one connection takes (513 pairs x 2 streams): E_USAGE before anything starts", async () => {
    const capture = startCapture(captureOptions({ restUrl: crowdedRest.url.href, pairs: ["all"], journal: journalSettings(testTempDir("session")) }));
    const error = await capture.result.then(() => undefined, (err: { code?: string; message?: string; exitCode?: number }) => err);
    expect(error?.code).toBe("E_USAGE");
    expect(error?.exitCode).toBe(EXIT.usage);
    expect(error?.message).toContain("1026 subscriptions");
    expect(capture.feed.sockets.length).toBe(0);
    expect(capture.worker()).toBeUndefined();
    expect(capture.signals.registered).toBe(0);
  });

  test("512 pairs x 2 streams (1,024 channels) is within the limit", async () => {
    // The limit itself: one pair fewer starts (and is stopped at once).
    const body = JSON.stringify((JSON.parse(crowdedPairsInfo()) as unknown[]).slice(0, 512));
    const server = serveRest(body);
    try {
      const capture = startCapture(captureOptions({ restUrl: server.url.href, pairs: ["all"], journal: journalSettings(testTempDir("session")) }));
      await capture.feed.waitFor(() => capture.feed.subscriptions().length === 1024, 10_000, "1,024 subscriptions");
      capture.stop();
      const result = await finished(capture);
      expect(result.exitCode).toBe(EXIT.ok);
      expect(capture.feed.sockets.length).toBe(1);
    } finally {
      void server.stop(true);
    }
  });
});
