/**
 * Journal benchmarks: `bun bench/journal.bench.ts [--frames N] [--outage-s S] [--rate R]` (needs
 * dist/obcap: `make build`). Prints human lines, then one JSON object of figures on the last line.
 *
 * 1. Backlog drain: a journal of N frames (default 1,000,000, 2 pairs, generated) left by an earlier
 *    run, with no checkpoint. obcap starts with --table and uploads it first (crash recovery). Rate =
 *    frames / seconds from obcap's "not yet in DynamoDB" line to the progress line with written = N.
 * 2. Outage: obcap captures R frames/s (default 5,000; the fake exchange in its own process) into
 *    DynamoDB Local through a proxy. After 5 s the proxy answers every request with HTTP 503 for S
 *    seconds (default 60): DynamoDB is "down". VmRSS is sampled every 250 ms during the outage (peak,
 *    median of the last third) and VmHWM read at its end; target peak < 96 MiB. Then the proxy heals
 *    and the outage's backlog drains while capture goes on: its drain rate is measured too.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  BENCH_PAIRS, BINARY, WatchedProcess, benchDynamoDb, captureArgs, createBenchTable, dropBenchTable, median,
  printResult, procStatusBytes, progressLines, round, sleepMs, spawnFakeExchange, type ProgressLine,
} from "./harness.ts";
import { generateFramesIter } from "../tests/support/frame-generator.ts";
import { startFaultProxy, type FaultProxyOptions } from "../tests/support/fault-proxy.ts";
import { JournalAppender } from "../src/journal/appender.ts";

const { values: argv } = parseArgs({
  options: { frames: { type: "string", default: "1000000" }, "outage-s": { type: "string", default: "60" }, rate: { type: "string", default: "5000" } },
});
const BACKLOG_FRAMES = Number(argv.frames);
const OUTAGE_S = Number(argv["outage-s"]);
const RATE = Number(argv.rate);
const MIB = 1024 * 1024;
const SAMPLE_MS = 250;
const TARGET_RSS_MIB = 96;

const ddb = await benchDynamoDb();
const work = mkdtempSync(join(tmpdir(), "obcap-bench-journal-"));
try {
  const drain = await drainBenchmark();
  const outage = await outageBenchmark();
  console.log(
    `backlog drain: ${drain.frames} frames (${drain.journalMiB} MiB) in ${drain.seconds} s = ${drain.framesPerSec} frames/s; ` +
      `outage ${OUTAGE_S} s at ${RATE}/s: RSS peak ${outage.rssPeakMiB} MiB (VmHWM ${outage.hwmMiB} MiB, steady ${outage.rssSteadyMiB} MiB), ` +
      `backlog ${outage.backlogMiB} MiB drained at ${outage.drainFramesPerSec} frames/s while capturing`,
  );
  printResult({
    benchmark: "journal",
    drainFrames: drain.frames,
    drainJournalMiB: drain.journalMiB,
    drainSeconds: drain.seconds,
    drainFramesPerSec: drain.framesPerSec,
    outageSeconds: OUTAGE_S,
    outageRatePerSec: RATE,
    outageRssPeakMiB: outage.rssPeakMiB,
    outageRssSteadyMiB: outage.rssSteadyMiB,
    outageVmHwmMiB: outage.hwmMiB,
    outageRssTargetMiB: TARGET_RSS_MIB,
    outageRssWithinTarget: outage.hwmMiB < TARGET_RSS_MIB,
    outageBacklogMiB: outage.backlogMiB,
    outageLost: outage.lost,
    afterOutageDrainFramesPerSec: outage.drainFramesPerSec,
  });
} finally {
  rmSync(work, { recursive: true, force: true });
  await ddb.close();
}

/** Writes the backlog journal, then times its upload by a starting obcap. */
async function drainBenchmark() {
  const dir = join(work, "drain");
  const appender = new JournalAppender({ dir, pid: 1, segmentBytes: 64 * MIB, segmentAgeMs: 3_600_000, fsyncMs: 1000, clockMicros: () => Date.now() * 1000 });
  appender.open();
  const encoder = new TextEncoder();
  let rx = Date.now() * 1000;
  let n = 0;
  for (const frame of generateFramesIter({ pairs: BENCH_PAIRS, countPerPair: Math.ceil(BACKLOG_FRAMES / BENCH_PAIRS.length), seed: 9 })) {
    if (n++ === BACKLOG_FRAMES) break;
    appender.append(encoder.encode(frame), rx++);
  }
  appender.close();
  const journalMiB = round(appender.stats().bytes / MIB, 1);
  console.log(`backlog: ${BACKLOG_FRAMES} frames, ${journalMiB} MiB in ${appender.stats().segmentsOpened} segment(s)`);

  const { table } = await createBenchTable(ddb.client, "bench-drain");
  // An exchange that sends nothing: the capture subscribes and only uploads the backlog.
  const fake = await spawnFakeExchange({ countPerPair: 0, ratePerSec: 0 });
  const obcap = new WatchedProcess(BINARY, captureArgs(fake, ["--table", table, "--endpoint", ddb.endpoint, "--journal", dir, "--progress-s", "1"]));
  try {
    const start = await obcap.waitForLine(/not yet in DynamoDB; uploading them first/, 60_000);
    const end = await waitForProgress(obcap, (p) => p.written >= BACKLOG_FRAMES, 3_600_000);
    const seconds = (end.atMs - start.atMs) / 1000;
    return { frames: BACKLOG_FRAMES, journalMiB, seconds: round(seconds, 1), framesPerSec: round(BACKLOG_FRAMES / seconds) };
  } finally {
    await obcap.stop("SIGTERM");
    await fake.stop("SIGTERM");
    await dropBenchTable(ddb.client, table);
  }
}

/** Captures at RATE through a proxy that goes down for OUTAGE_S; samples RSS meanwhile. */
async function outageBenchmark() {
  const { table } = await createBenchTable(ddb.client, "bench-outage");
  const proxyOptions: FaultProxyOptions = { target: ddb.endpoint };
  const proxy = startFaultProxy(proxyOptions);
  const fake = await spawnFakeExchange({ countPerPair: 1_000_000, ratePerSec: RATE, loop: true });
  const journal = join(work, "outage");
  const obcap = new WatchedProcess(BINARY, captureArgs(fake, ["--table", table, "--endpoint", proxy.url, "--journal", journal, "--progress-s", "1"]));
  try {
    await obcap.waitForLine(/capturing \d+ channels/, 30_000);
    await sleepMs(5_000);
    // The proxy reads `failAllWith` per request: from now on DynamoDB answers 503 to everything.
    proxyOptions.failAllWith = { status: 503, type: "ServiceUnavailable", message: "outage (bench)" };
    const outageStart = performance.now();
    const samples: number[] = [];
    while (performance.now() - outageStart < OUTAGE_S * 1000) {
      const rss = procStatusBytes(obcap.pid, "VmRSS");
      if (rss !== undefined) samples.push(rss);
      await sleepMs(SAMPLE_MS);
    }
    const hwm = procStatusBytes(obcap.pid, "VmHWM") ?? NaN;
    const atHeal = progressLines(obcap.stderrLines).at(-1)!;
    proxyOptions.failAllWith = undefined;
    const healedAt = performance.now();
    // Drained when DynamoDB has caught up with what was received at the heal.
    const caughtUp = await waitForProgress(obcap, (p) => p.written >= atHeal.received, 600_000);
    const drainSeconds = (caughtUp.atMs - healedAt) / 1000;
    const backlogFrames = atHeal.received - atHeal.written;
    const lastThird = samples.slice(Math.floor((samples.length * 2) / 3));
    return {
      rssPeakMiB: round(Math.max(...samples) / MIB, 1),
      rssSteadyMiB: round(median(lastThird) / MIB, 1),
      hwmMiB: round(hwm / MIB, 1),
      backlogMiB: round(atHeal.uploadBacklogMiB ?? NaN, 1),
      lost: atHeal.lost,
      drainFramesPerSec: round(backlogFrames / drainSeconds),
    };
  } finally {
    await obcap.stop("SIGTERM");
    await fake.stop("SIGTERM");
    await proxy.stop();
    await dropBenchTable(ddb.client, table);
  }
}

/** The first progress line of obcap that satisfies `done`; polls its log every 100 ms. */
async function waitForProgress(obcap: WatchedProcess, done: (p: ProgressLine) => boolean, timeoutMs: number): Promise<ProgressLine> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const line = progressLines(obcap.stderrLines).find(done);
    if (line) return line;
    if (!obcap.isRunning()) throw new Error(`obcap exited; log:\n${obcap.log()}`);
    if (performance.now() > deadline) throw new Error(`no such progress line within ${timeoutMs} ms; log:\n${obcap.log()}`);
    await sleepMs(100);
  }
}
