/**
 * Pipeline benchmark: `bun bench/pipeline.bench.ts` (needs dist/obcap: `make build`). Prints human
 * lines, then one JSON object of figures on the last line (for BENCHMARKS.md). About two minutes.
 *
 * (b) The whole capture into DynamoDB Local: the fake exchange process plays EVENTS generated frames
 * (2 pairs, orders + trades) at max rate to the compiled binary (`dist/obcap --table ... --progress-s 1`),
 * as it runs by default (journal in a fresh temporary directory, then the uploader) and with
 * `--no-journal` (ring -> writer -> DynamoDB).
 * The default capture adapts its requests in flight (from 8 up to --in-flight-max 64, src/store/dynamodb/
 * write-concurrency.ts); the journal way also runs pinned with `--in-flight 8` ("fixed 8") for the
 * comparison. Every run has `--verbose`: its `write concurrency A -> B` debug lines give the highest
 * and the final number of requests allowed in flight of each adaptive run.
 * Once a progress line shows every frame received, two progress lines inside the run and the items
 * left due within STOP_AHEAD_MS at the rate so far, obcap gets SIGINT: it stops reading, drains the
 * ring, waits for every acknowledgement and only then logs its summary. (Until December 2026 the stop
 * came at 3/4 written: a run that finished between two lines then waited up to a second for the next
 * one, and its end to end rate read e.g. 40,000 / 4.0 s whatever the writer did.)
 * Throughput (end to end) = events / (time from the "capturing" log line to the summary line). The
 * summary line marks the last acknowledgement to the millisecond; the progress lines the issue names
 * come once a second and carry a count up to 500 ms old, too coarse for runs of a few seconds. The
 * steady rate is the slope of "written" between the progress lines strictly inside the run, and the
 * writer's "in flight" count on those lines shows whether it was waiting on DynamoDB.
 * `--queue-mb 64` lets the whole burst sit in the ring (at ~480 B a frame it is ~19 MB): the exchange
 * is done in about a second, so what follows is the writer draining the ring into DynamoDB.
 *
 * Raw ceiling, same run and same DynamoDB Local: the same events pre-decoded and pre-encoded into
 * items in this process, written with BatchWriter alone (batches of 25, maxInFlight 8, the adaptive
 * start). pipeline / raw close to 1 means DynamoDB Local is the bottleneck of (b). The
 * same raw write from a Worker thread (bench/raw-writer.worker.ts) splits the gap between what the
 * thread costs and what obcap's writer adds (decoding, batching) on top.
 *
 * Pipeline and raw runs alternate (REPEATS each, median) after a warm-up of DynamoDB Local's JVM; each
 * run writes a fresh table that is deleted afterwards. The ceiling the 0.95 target is judged against
 * is measured once more right before the first capture and right after the last one, and the higher
 * of those two is kept (DynamoDB Local's JVM drifts over a run: the higher is the stricter ceiling).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nowMicros } from "../src/base/clock.ts";
import { decodeFrame } from "../src/exchange/bitstamp/decode.ts";
import { BatchWriter } from "../src/store/dynamodb/batch-writer.ts";
import { encodeItem } from "../src/store/dynamodb/event-item.ts";
import type { Item } from "../src/store/dynamodb/item.ts";
import { generateFrames } from "../tests/support/frame-generator.ts";
import type { RawWriterJob, RawWriterReport } from "./raw-writer.worker.ts";
import {
  BENCH_PAIRS, BINARY, FIXED_START_MS, WatchedProcess, benchDynamoDb, captureArgs, collectGarbage, createBenchTable,
  dropBenchTable, median, pinCpus, printResult, procCpuSeconds, progressLines, PROGRESS_RE, round, spawnFakeExchange, type BenchDynamoDb, type ProgressLine, type TimedLine,
} from "./harness.ts";

/** 100,000 events: at ~14,000/s a run lasts ~7 s, so start-up and the last acknowledgements weigh little (40,000 ran ~3 s). */
const COUNT_PER_PAIR = 50_000;
const EVENTS = COUNT_PER_PAIR * BENCH_PAIRS.length;
/** A first run in a journal directory opens each channel with a start record (a gap item). */
const START_RECORDS = BENCH_PAIRS.length * 2;
/** DynamoDB Local's JIT: after 20,000 items the first capture still ran at ~60% of the later ones (measured 7,660 vs 13,000+). */
const WARMUP_ITEMS = 100_000;
const REPEATS = 3;
/** Raw writer's requests in flight, and the pinned ("fixed 8") captures' `--in-flight`: the adaptive start. */
const MAX_IN_FLIGHT = 8;
/** obcap's default `--in-flight-max` (the adaptive upper bound). */
const ADAPTIVE_MAX_IN_FLIGHT = 64;
/** Share of the raw ceiling the issue asks of the adaptive capture (stored/s, end to end). */
const TARGET_SHARE_OF_CEILING = 0.95;
const QUEUE_MB = 64;
const RUN_TIMEOUT_MS = 120_000;
/**
 * SIGINT once the items left would be written within this long at the rate so far: progress lines come every
 * 1 s with a count up to 500 ms old, so waiting for the next one could add up to a second of idle time.
 */
const STOP_AHEAD_MS = 1_500;
/** The capture's first seconds: the burst is received and journaled, the JIT warms, the concurrency ramps up. */
const WARM_MS = 4_000;

interface PipelineRun {
  /** events / (summary line - capturing line). */
  endToEndPerSec: number;
  /** Slope of `written` over the progress lines strictly inside the run. */
  steadyPerSec: number;
  /**
   * The same slope over the lines from WARM_MS after the capture started: a warm process (the burst
   * received and journaled, the JIT warm, the concurrency settled), as the raw ceiling's writer is
   * warm (it runs after a warm-up run). NaN when fewer than two lines are left.
   */
  warmPerSec: number;
  seconds: number;
  /** Time until the last frame was received (from the progress lines), s. */
  receivedAllWithinSeconds: number;
  ringHighKiB: number;
  /** Peak of the journal's upload backlog (journal variant), MiB. */
  uploadBacklogMiB: number;
  lost: number;
  /** Median `in flight` of the progress lines inside the run: at the limit the writer waits on DynamoDB. */
  inFlightMedian: number;
  /** Median of the limit in effect at those progress lines (from the `write concurrency` lines; pinned: MAX_IN_FLIGHT). */
  limitMedian: number;
  /** Highest limit reached and the limit at the end (adaptive; pinned: MAX_IN_FLIGHT), and how many changes. */
  concurrencyHighest: number;
  concurrencyFinal: number;
  concurrencyChanges: number;
  /** CPU cores used from the capturing line to the SIGINT (CPU seconds / wall seconds). */
  obcapCores: number;
  dynamoDbCores: number;
  summary: string;
}

interface RawRun {
  thread: "main" | "worker";
  itemsPerSec: number;
  seconds: number;
  requests: number;
  benchCores: number;
  dynamoDbCores: number;
}

/**
 * `journal`: the default capture (ring -> pipeline Worker: journal stage -> segment files -> upload stage -> DynamoDB),
 * journal in a fresh temporary directory, adaptive requests in flight. `journalFixed8`: the same with `--in-flight 8`.
 * `direct`: `--no-journal` (ring -> pipeline Worker: upload stage -> DynamoDB), adaptive.
 */
type Variant = "journal" | "journalFixed8" | "direct";

/** `write concurrency A -> B: reason` (debug lines at --verbose). */
const CONCURRENCY_RE = /write concurrency (\d+) -> (\d+)/;

/** The limit changes of a run, in log order, with their arrival times. */
function concurrencyChanges(lines: readonly TimedLine[]): { atMs: number; from: number; to: number }[] {
  const out: { atMs: number; from: number; to: number }[] = [];
  for (const line of lines) {
    const m = CONCURRENCY_RE.exec(line.text);
    if (m) out.push({ atMs: line.atMs, from: Number(m[1]), to: Number(m[2]) });
  }
  return out;
}

async function pipelineRun(ddb: BenchDynamoDb, variant: Variant): Promise<PipelineRun> {
  const { table } = await createBenchTable(ddb.client, "bench-pipeline");
  const journalDir = mkdtempSync(join(tmpdir(), "obcap-bench-pipeline-"));
  const fake = await spawnFakeExchange({ countPerPair: COUNT_PER_PAIR, ratePerSec: 0 });
  const obcap = new WatchedProcess(
    BINARY,
    captureArgs(fake, [
      "--table", table, "--endpoint", ddb.endpoint, "--queue-mb", String(QUEUE_MB),
      "--progress-s", "1", "--shutdown-ms", String(RUN_TIMEOUT_MS), "--verbose",
      ...(variant === "journalFixed8" ? ["--in-flight", String(MAX_IN_FLIGHT)] : []),
      ...(variant === "direct" ? ["--no-journal"] : ["--journal", journalDir]),
    ]),
  );
  try {
    const capturing = await obcap.waitForLine(/capturing .* subscribed in/, 30_000);
    const cpu0 = { obcap: procCpuSeconds(obcap.pid) ?? NaN, ddb: ddbCpuSeconds(ddb) };
    // Every frame in, at least two progress lines inside the run (the steady rate), and the rest due before the
    // next line: SIGINT then, so the summary line marks the last acknowledgement rather than an idle wait for a line.
    const stopAt = await obcap.waitForLine((text) => {
      const m = PROGRESS_RE.exec(text);
      if (m === null || Number(m[1]) !== EVENTS) return false;
      const written = Number(m[2]);
      if (written >= EVENTS) return true;
      const upTo = obcap.stderrLines.findIndex((l) => l.text === text);
      const inside = progressLines(obcap.stderrLines.slice(0, upTo + 1)).filter((l) => l.written > 0 && l.written < EVENTS);
      if (inside.length < 2) return false;
      const first = inside[0] as ProgressLine;
      const last = inside.at(-1) as ProgressLine;
      const perMs = (last.written - first.written) / (last.atMs - first.atMs);
      return perMs > 0 && (EVENTS - written) / perMs < STOP_AHEAD_MS;
    }, RUN_TIMEOUT_MS);
    const cpu1 = { obcap: procCpuSeconds(obcap.pid) ?? NaN, ddb: ddbCpuSeconds(ddb) };
    // SIGINT: obcap stops reading, drains the ring, waits for every acknowledgement, then logs its summary.
    obcap.child.kill("SIGINT");
    const summaryLine = await obcap.waitForLine(/summary: received/, RUN_TIMEOUT_MS);
    const exitCode = await obcap.exited;
    if (exitCode !== 0) throw new Error(`obcap exited ${exitCode}:\n${obcap.log()}`);
    const summary = summaryLine.text.replace(/^.*summary: /, "");
    const written = Number(/written (\d+)/.exec(summary)?.[1]);
    const lost = Number(/lost (\d+)/.exec(summary)?.[1]);
    // Items: the events and the start record of each channel (orders and trades of each pair).
    if (written !== EVENTS + START_RECORDS || lost !== 0) throw new Error(`expected ${EVENTS + START_RECORDS} written and 0 lost: ${summary}`);
    const lines = progressLines(obcap.stderrLines);
    const seconds = (summaryLine.atMs - capturing.atMs) / 1000;
    const firstAll = lines.find((l) => l.received === EVENTS);
    const inside = lines.filter((l) => l.written > 0 && l.written < EVENTS);
    const windowSeconds = (stopAt.atMs - capturing.atMs) / 1000;
    const changes = concurrencyChanges(obcap.stderrLines);
    if (variant === "journalFixed8" && changes.length > 0) throw new Error(`--in-flight ${MAX_IN_FLIGHT} changed its limit: ${changes.length} changes`);
    const limitAt = (atMs: number) => changes.filter((c) => c.atMs <= atMs).at(-1)?.to ?? MAX_IN_FLIGHT;
    return {
      endToEndPerSec: EVENTS / seconds,
      steadyPerSec: steadyRate(lines, EVENTS),
      warmPerSec: steadyRate(lines.filter((l) => l.atMs >= capturing.atMs + WARM_MS), EVENTS),
      seconds,
      receivedAllWithinSeconds: firstAll ? (firstAll.atMs - capturing.atMs) / 1000 : NaN,
      ringHighKiB: Math.max(...lines.map((l) => l.highKiB)),
      uploadBacklogMiB: Math.max(0, ...lines.map((l) => l.uploadBacklogMiB ?? 0)),
      lost,
      inFlightMedian: median(inside.map((l) => l.inFlight)),
      limitMedian: median(inside.map((l) => limitAt(l.atMs))),
      concurrencyHighest: Math.max(MAX_IN_FLIGHT, ...changes.map((c) => c.to)),
      concurrencyFinal: changes.at(-1)?.to ?? MAX_IN_FLIGHT,
      concurrencyChanges: changes.length,
      obcapCores: (cpu1.obcap - cpu0.obcap) / windowSeconds,
      dynamoDbCores: (cpu1.ddb - cpu0.ddb) / windowSeconds,
      summary,
    };
  } finally {
    await obcap.stop("SIGKILL");
    await fake.stop("SIGTERM");
    await dropBenchTable(ddb.client, table);
    rmSync(journalDir, { recursive: true, force: true });
  }
}

/** Written items per second between the first and last progress lines with 0 < written < total. */
function steadyRate(lines: readonly ProgressLine[], total: number): number {
  const inside = lines.filter((l) => l.written > 0 && l.written < total);
  if (inside.length < 2) return NaN;
  const a = inside[0] as ProgressLine;
  const b = inside.at(-1) as ProgressLine;
  return ((b.written - a.written) * 1000) / (b.atMs - a.atMs);
}

/** The run's events as DynamoDB items, encoded once (the same frames the fake exchange plays). */
function encodeEvents(shards: number): Item[] {
  const frames = generateFrames({ pairs: BENCH_PAIRS, countPerPair: COUNT_PER_PAIR, seed: 1, startMicros: FIXED_START_MS * 1000 });
  return frames.map((frame) => {
    const decoded = decodeFrame(frame, nowMicros());
    if (decoded.kind !== "event") throw new Error(`generated frame is not an event: ${frame.slice(0, 120)}`);
    return encodeItem(decoded.event, shards);
  });
}

function batchesOf(items: readonly Item[]): Item[][] {
  const batches: Item[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  return batches;
}

function ddbCpuSeconds(ddb: BenchDynamoDb): number {
  return ddb.pid === undefined ? NaN : (procCpuSeconds(ddb.pid) ?? NaN);
}

async function rawRun(ddb: BenchDynamoDb, batches: readonly Item[][], thread: RawRun["thread"] = "main"): Promise<RawRun> {
  const { table } = await createBenchTable(ddb.client, "bench-raw");
  try {
    if (thread === "worker") return await rawRunInWorker(ddb, table, batches);
    collectGarbage();
    const writer = new BatchWriter({ client: ddb.client, table, maxInFlight: MAX_IN_FLIGHT });
    const items = batches.reduce((s, b) => s + b.length, 0);
    const cpu0 = { bench: process.cpuUsage(), ddb: ddbCpuSeconds(ddb) };
    const t0 = performance.now();
    for (const batch of batches) await writer.submit(batch);
    await writer.flush();
    const seconds = (performance.now() - t0) / 1000;
    const bench = process.cpuUsage(cpu0.bench);
    const ddbCpu = ddbCpuSeconds(ddb) - cpu0.ddb;
    const stats = writer.stats();
    if (stats.written !== items) throw new Error(`raw writer wrote ${stats.written} of ${items} items`);
    return { thread, itemsPerSec: items / seconds, seconds, requests: stats.requests, benchCores: (bench.user + bench.system) / 1e6 / seconds, dynamoDbCores: ddbCpu / seconds };
  } finally {
    await dropBenchTable(ddb.client, table);
  }
}

async function rawRunInWorker(ddb: BenchDynamoDb, table: string, batches: readonly Item[][]): Promise<RawRun> {
  collectGarbage();
  const worker = new Worker(new URL("./raw-writer.worker.ts", import.meta.url).href, { type: "module" });
  try {
    const report = await new Promise<RawWriterReport>((resolveReport, reject) => {
      worker.onerror = (event) => reject(new Error(`raw-writer worker failed: ${event.message}`));
      worker.onmessage = (event: MessageEvent<RawWriterReport>) => resolveReport(event.data);
      const job: RawWriterJob = { endpoint: ddb.endpoint, table, maxInFlight: MAX_IN_FLIGHT, batches: batches as Item[][] };
      worker.postMessage(job);
    });
    const items = batches.reduce((s, b) => s + b.length, 0);
    if (report.written !== items) throw new Error(`raw writer worker wrote ${report.written} of ${items} items`);
    return { thread: "worker", itemsPerSec: items / report.seconds, seconds: report.seconds, requests: report.requests, benchCores: NaN, dynamoDbCores: NaN };
  } finally {
    worker.terminate();
  }
}

const started = performance.now();
const ddb = await benchDynamoDb();
try {
  console.log(
    `pipeline bench: ${EVENTS} events (${BENCH_PAIRS.join(",")}) at max rate -> dist/obcap -> DynamoDB Local ${ddb.endpoint}; ` +
      `in flight adaptive (${MAX_IN_FLIGHT} up to ${ADAPTIVE_MAX_IN_FLIGHT}) and fixed ${MAX_IN_FLIGHT} (journal); raw writer ${MAX_IN_FLIGHT} in flight`,
  );
  const { shards } = await createBenchTable(ddb.client, "bench-shards").then(async (t) => {
    await dropBenchTable(ddb.client, t.table);
    return t;
  });
  const items = encodeEvents(shards);
  const batches = batchesOf(items);
  const warm = await rawRun(ddb, batchesOf(items.slice(0, WARMUP_ITEMS)));
  console.log(`warm-up (DynamoDB Local JIT): raw ${Math.round(warm.itemsPerSec).toLocaleString("en")} items/s`);

  const pipelineRuns: Record<Variant, PipelineRun[]> = { journal: [], journalFixed8: [], direct: [] };
  const rawRuns: RawRun[] = [];
  const rawWorkerRuns: RawRun[] = [];
  const ceilingRuns: { before?: RawRun; after?: RawRun } = {};
  const runPipeline = (variant: Variant) => async () => {
    const p = await pipelineRun(ddb, variant);
    pipelineRuns[variant].push(p);
    console.log(
      `pipeline (${variant}): ${EVENTS} events in ${p.seconds.toFixed(2)} s = ${Math.round(p.endToEndPerSec).toLocaleString("en")} events/s end to end, ` +
        `steady ${Math.round(p.steadyPerSec).toLocaleString("en")}/s, warm (after ${WARM_MS / 1000} s) ${Math.round(p.warmPerSec).toLocaleString("en")}/s; all received within ${p.receivedAllWithinSeconds.toFixed(1)} s; ring high ${p.ringHighKiB} KiB; ` +
        `upload backlog high ${p.uploadBacklogMiB} MiB; lost ${p.lost}; in flight ${p.inFlightMedian} of ${p.limitMedian}; ` +
        `concurrency highest ${p.concurrencyHighest}, final ${p.concurrencyFinal} (${p.concurrencyChanges} changes); ` +
        `cores used: obcap ${p.obcapCores.toFixed(2)}, DynamoDB Local ${p.dynamoDbCores.toFixed(2)}`,
    );
  };
  const runRaw = async (when?: "before" | "after") => {
    const raw = await rawRun(ddb, batches);
    if (when === undefined) rawRuns.push(raw);
    else ceilingRuns[when] = raw;
    console.log(
      `raw BatchWriter${when ? ` (ceiling, ${when} the captures)` : ""}: ${items.length} items in ${raw.seconds.toFixed(2)} s = ${Math.round(raw.itemsPerSec).toLocaleString("en")} items/s (${raw.requests} requests); ` +
        `cores used: bench ${raw.benchCores.toFixed(2)}, DynamoDB Local ${raw.dynamoDbCores.toFixed(2)}`,
    );
  };
  const runRawInWorker = async () => {
    const raw = await rawRun(ddb, batches, "worker");
    rawWorkerRuns.push(raw);
    console.log(`raw BatchWriter in a Worker: ${items.length} items in ${raw.seconds.toFixed(2)} s = ${Math.round(raw.itemsPerSec).toLocaleString("en")} items/s`);
  };
  // Alternate the order so a drift of DynamoDB Local's speed (JIT, a neighbour's load) favours no side.
  const round1 = [runPipeline("journal"), () => runRaw(), runPipeline("direct"), runPipeline("journalFixed8"), runRawInWorker];
  await runRaw("before");
  for (let r = 0; r < REPEATS; r++) {
    for (const run of r % 2 === 0 ? round1 : [...round1].reverse()) await run();
  }
  await runRaw("after");

  // DynamoDB Local alone on one CPU, the capture (obcap, the fake exchange, this bench) on the other, as
  // on AWS where DynamoDB does not share obcap's CPUs: the ceiling and the default capture again.
  const pinnedRuns: PipelineRun[] = [];
  let pinnedBefore = Number.NaN;
  let pinnedAfter = Number.NaN;
  const pinning = pinCpus(ddb.pid);
  if (typeof pinning === "string") console.log(`CPUs pinned apart: skipped (${pinning})`);
  else {
    try {
      pinnedBefore = (await rawRun(ddb, batches)).itemsPerSec;
      console.log(`CPUs pinned apart: raw BatchWriter ceiling (before): ${Math.round(pinnedBefore).toLocaleString("en")} items/s`);
      for (let r = 0; r < REPEATS; r++) {
        const p = await pipelineRun(ddb, "journal");
        pinnedRuns.push(p);
        console.log(`CPUs pinned apart: pipeline (journal): ${EVENTS} events in ${p.seconds.toFixed(2)} s = ${Math.round(p.endToEndPerSec).toLocaleString("en")} events/s end to end; concurrency highest ${p.concurrencyHighest}; cores used: obcap ${p.obcapCores.toFixed(2)}, DynamoDB Local ${p.dynamoDbCores.toFixed(2)}`);
      }
      pinnedAfter = (await rawRun(ddb, batches)).itemsPerSec;
      console.log(`CPUs pinned apart: raw BatchWriter ceiling (after): ${Math.round(pinnedAfter).toLocaleString("en")} items/s`);
    } finally {
      pinning.undo();
    }
  }

  const summarize = (runs: PipelineRun[]) => ({
    endToEndPerSec: Math.round(median(runs.map((p) => p.endToEndPerSec))),
    runsEndToEndPerSec: runs.map((p) => Math.round(p.endToEndPerSec)),
    steadyPerSec: Math.round(median(runs.map((p) => p.steadyPerSec))),
    runsSteadyPerSec: runs.map((p) => Math.round(p.steadyPerSec)),
    warmPerSec: Math.round(median(runs.map((p) => p.warmPerSec))),
    runsWarmPerSec: runs.map((p) => Math.round(p.warmPerSec)),
    runsSeconds: runs.map((p) => round(p.seconds, 2)),
    receivedAllWithinSeconds: round(median(runs.map((p) => p.receivedAllWithinSeconds)), 2),
    ringHighKiB: Math.max(...runs.map((p) => p.ringHighKiB)),
    uploadBacklogMiB: Math.max(...runs.map((p) => p.uploadBacklogMiB)),
    lostFrames: runs.reduce((s, p) => s + p.lost, 0),
    inFlightMedian: median(runs.map((p) => p.inFlightMedian)),
    limitMedian: median(runs.map((p) => p.limitMedian)),
    concurrencyHighest: Math.max(...runs.map((p) => p.concurrencyHighest)),
    runsConcurrencyHighest: runs.map((p) => p.concurrencyHighest),
    runsConcurrencyFinal: runs.map((p) => p.concurrencyFinal),
    runsConcurrencyChanges: runs.map((p) => p.concurrencyChanges),
    obcapCores: round(median(runs.map((p) => p.obcapCores)), 2),
    dynamoDbCores: round(median(runs.map((p) => p.dynamoDbCores)), 2),
    summary: runs.at(-1)?.summary,
  });
  const journal = summarize(pipelineRuns.journal);
  const direct = summarize(pipelineRuns.direct);
  const journalFixed8 = summarize(pipelineRuns.journalFixed8);
  const raw = median(rawRuns.map((r) => r.itemsPerSec));
  const rawBefore = ceilingRuns.before?.itemsPerSec ?? NaN;
  const rawAfter = ceilingRuns.after?.itemsPerSec ?? NaN;
  /** The ceiling of the 0.95 target: the higher of the raw runs right before the first and right after the last capture. */
  const ceiling = Math.max(rawBefore, rawAfter);
  const rawWorker = median(rawWorkerRuns.map((r) => r.itemsPerSec));
  const result = {
    bench: "pipeline",
    events: EVENTS,
    pairs: BENCH_PAIRS,
    repeats: REPEATS,
    maxInFlight: MAX_IN_FLIGHT,
    adaptiveMaxInFlight: ADAPTIVE_MAX_IN_FLIGHT,
    queueMiB: QUEUE_MB,
    ringKiB: QUEUE_MB * 1024,
    meanItemsPerBatch: round(items.length / batches.length, 1),
    cpus: navigator.hardwareConcurrency,
    journal,
    journalFixed8,
    direct,
    rawItemsPerSec: Math.round(raw),
    rawRunsItemsPerSec: rawRuns.map((r) => Math.round(r.itemsPerSec)),
    benchCoresInRaw: round(median(rawRuns.map((r) => r.benchCores)), 2),
    dynamoDbCoresInRaw: round(median(rawRuns.map((r) => r.dynamoDbCores)), 2),
    rawInWorkerItemsPerSec: Math.round(rawWorker),
    rawInWorkerRunsItemsPerSec: rawWorkerRuns.map((r) => Math.round(r.itemsPerSec)),
    rawInWorkerOverRaw: round(rawWorker / raw, 3),
    journalEndToEndOverRaw: round(journal.endToEndPerSec / raw, 3),
    journalSteadyOverRaw: round(journal.steadyPerSec / raw, 3),
    directEndToEndOverRaw: round(direct.endToEndPerSec / raw, 3),
    directSteadyOverRaw: round(direct.steadyPerSec / raw, 3),
    directSteadyOverRawInWorker: round(direct.steadyPerSec / rawWorker, 3),
    // Against the ceiling measured right before and right after the captures (the higher one): the issue's 0.95 target.
    rawCeilingBeforeItemsPerSec: Math.round(rawBefore),
    rawCeilingAfterItemsPerSec: Math.round(rawAfter),
    rawCeilingItemsPerSec: Math.round(ceiling),
    targetShareOfCeiling: TARGET_SHARE_OF_CEILING,
    journalEndToEndOverCeiling: round(journal.endToEndPerSec / ceiling, 3),
    journalSteadyOverCeiling: round(journal.steadyPerSec / ceiling, 3),
    journalWarmOverCeiling: round(journal.warmPerSec / ceiling, 3),
    warmAfterMs: WARM_MS,
    journalFixed8EndToEndOverCeiling: round(journalFixed8.endToEndPerSec / ceiling, 3),
    journalFixed8SteadyOverCeiling: round(journalFixed8.steadyPerSec / ceiling, 3),
    directEndToEndOverCeiling: round(direct.endToEndPerSec / ceiling, 3),
    directSteadyOverCeiling: round(direct.steadyPerSec / ceiling, 3),
    journalAdaptiveOverFixed8EndToEnd: round(journal.endToEndPerSec / journalFixed8.endToEndPerSec, 3),
    pinned: pinnedRuns.length === 0 ? { skipped: typeof pinning === "string" ? pinning : "not run" } : {
      rawCeilingBeforeItemsPerSec: Math.round(pinnedBefore),
      rawCeilingAfterItemsPerSec: Math.round(pinnedAfter),
      rawCeilingItemsPerSec: Math.round(Math.max(pinnedBefore, pinnedAfter)),
      journal: summarize(pinnedRuns),
      journalEndToEndOverCeiling: round(summarize(pinnedRuns).endToEndPerSec / Math.max(pinnedBefore, pinnedAfter), 3),
    },
    totalSeconds: round((performance.now() - started) / 1000, 1),
  };
  console.log(
    `median: pipeline with journal ${journal.endToEndPerSec.toLocaleString("en")} events/s end to end (steady ${journal.steadyPerSec.toLocaleString("en")}/s), ` +
      `without ${direct.endToEndPerSec.toLocaleString("en")} (steady ${direct.steadyPerSec.toLocaleString("en")}/s); raw ${result.rawItemsPerSec.toLocaleString("en")} items/s ` +
      `(from a Worker ${result.rawInWorkerItemsPerSec.toLocaleString("en")}/s): journal ${result.journalEndToEndOverRaw}, direct ${result.directEndToEndOverRaw} of the raw ceiling`,
  );
  console.log(
    `adaptive vs fixed ${MAX_IN_FLIGHT} (journal): ${journal.endToEndPerSec.toLocaleString("en")} vs ${journalFixed8.endToEndPerSec.toLocaleString("en")} events/s end to end ` +
      `(x${result.journalAdaptiveOverFixed8EndToEnd}); raw ceiling before/after ${result.rawCeilingBeforeItemsPerSec.toLocaleString("en")} / ${result.rawCeilingAfterItemsPerSec.toLocaleString("en")} items/s, ` +
      `kept ${result.rawCeilingItemsPerSec.toLocaleString("en")}: adaptive ${result.journalEndToEndOverCeiling}, fixed ${MAX_IN_FLIGHT} ${result.journalFixed8EndToEndOverCeiling}, ` +
      `--no-journal adaptive ${result.directEndToEndOverCeiling} of it (target >= ${TARGET_SHARE_OF_CEILING}); highest concurrency ${journal.concurrencyHighest} (journal), ${direct.concurrencyHighest} (--no-journal)`,
  );
  printResult(result);
} finally {
  await ddb.close();
}
process.exit(0);
