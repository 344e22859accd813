/**
 * Pipeline benchmark: `bun bench/pipeline.bench.ts` (needs dist/obcap: `make build`). Prints human
 * lines, then one JSON object of figures on the last line (for BENCHMARKS.md). About two minutes.
 *
 * (b) The whole capture into DynamoDB Local: the fake exchange process plays EVENTS generated frames
 * (2 pairs, orders + trades) at max rate to the compiled binary (`dist/obcap --table ... --progress-s 1`),
 * as it runs by default (journal in a fresh temporary directory, then the uploader) and with
 * `--no-journal` (ring -> writer -> DynamoDB).
 * Once a progress line shows every frame received and at least 3/4 written, obcap gets SIGINT: it
 * stops reading, drains the ring, waits for every acknowledgement and only then logs its summary.
 * Throughput (end to end) = events / (time from the "capturing" log line to the summary line). The
 * summary line marks the last acknowledgement to the millisecond; the progress lines the issue names
 * come once a second and carry a count up to 500 ms old, too coarse for runs of a few seconds. The
 * steady rate is the slope of "written" between the progress lines strictly inside the run, and the
 * writer's "in flight" count on those lines shows whether it was waiting on DynamoDB.
 * `--queue-mb 64` lets the whole burst sit in the ring (at ~480 B a frame it is ~19 MB): the exchange
 * is done in about a second, so what follows is the writer draining the ring into DynamoDB.
 *
 * Raw ceiling, same run and same DynamoDB Local: the same events pre-decoded and pre-encoded into
 * items in this process, written with BatchWriter alone (batches of 25, maxInFlight 8 as obcap's
 * default --in-flight). pipeline / raw close to 1 means DynamoDB Local is the bottleneck of (b). The
 * same raw write from a Worker thread (bench/raw-writer.worker.ts) splits the gap between what the
 * thread costs and what obcap's writer adds (decoding, batching) on top.
 *
 * Pipeline and raw runs alternate (REPEATS each, median) after a warm-up of DynamoDB Local's JVM; each
 * run writes a fresh table that is deleted afterwards.
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
  dropBenchTable, median, printResult, procCpuSeconds, progressLines, PROGRESS_RE, round, spawnFakeExchange, type BenchDynamoDb, type ProgressLine,
} from "./harness.ts";

const COUNT_PER_PAIR = 20_000;
const EVENTS = COUNT_PER_PAIR * BENCH_PAIRS.length;
/** A first run in a journal directory opens each channel with a start record (a gap item). */
const START_RECORDS = BENCH_PAIRS.length * 2;
const WARMUP_ITEMS = 20_000;
const REPEATS = 3;
const MAX_IN_FLIGHT = 8;
const QUEUE_MB = 64;
const RUN_TIMEOUT_MS = 120_000;

interface PipelineRun {
  /** events / (summary line - capturing line). */
  endToEndPerSec: number;
  /** Slope of `written` over the progress lines strictly inside the run. */
  steadyPerSec: number;
  seconds: number;
  /** Time until the last frame was received (from the progress lines), s. */
  receivedAllWithinSeconds: number;
  ringHighKiB: number;
  /** Peak of the journal's upload backlog (journal variant), MiB. */
  uploadBacklogMiB: number;
  lost: number;
  /** Median `in flight` of the progress lines inside the run: at MAX_IN_FLIGHT the writer waits on DynamoDB. */
  inFlightMedian: number;
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
 * journal in a fresh temporary directory. `direct`: `--no-journal` (ring -> pipeline Worker: upload stage -> DynamoDB).
 */
type Variant = "journal" | "direct";

async function pipelineRun(ddb: BenchDynamoDb, variant: Variant): Promise<PipelineRun> {
  const { table } = await createBenchTable(ddb.client, "bench-pipeline");
  const journalDir = mkdtempSync(join(tmpdir(), "obcap-bench-pipeline-"));
  const fake = await spawnFakeExchange({ countPerPair: COUNT_PER_PAIR, ratePerSec: 0 });
  const obcap = new WatchedProcess(
    BINARY,
    captureArgs(fake, [
      "--table", table, "--endpoint", ddb.endpoint, "--in-flight", String(MAX_IN_FLIGHT), "--queue-mb", String(QUEUE_MB),
      "--progress-s", "1", "--shutdown-ms", String(RUN_TIMEOUT_MS),
      ...(variant === "journal" ? ["--journal", journalDir] : ["--no-journal"]),
    ]),
  );
  try {
    const capturing = await obcap.waitForLine(/capturing .* subscribed in/, 30_000);
    const cpu0 = { obcap: procCpuSeconds(obcap.pid) ?? NaN, ddb: ddbCpuSeconds(ddb) };
    // Every frame in, 3/4 written: enough progress lines inside the run for the steady rate.
    const stopAt = await obcap.waitForLine((text) => {
      const m = PROGRESS_RE.exec(text);
      return m !== null && Number(m[1]) === EVENTS && Number(m[2]) >= (EVENTS * 3) / 4;
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
    return {
      endToEndPerSec: EVENTS / seconds,
      steadyPerSec: steadyRate(lines, EVENTS),
      seconds,
      receivedAllWithinSeconds: firstAll ? (firstAll.atMs - capturing.atMs) / 1000 : NaN,
      ringHighKiB: Math.max(...lines.map((l) => l.highKiB)),
      uploadBacklogMiB: Math.max(0, ...lines.map((l) => l.uploadBacklogMiB ?? 0)),
      lost,
      inFlightMedian: median(inside.map((l) => l.inFlight)),
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
  console.log(`pipeline bench: ${EVENTS} events (${BENCH_PAIRS.join(",")}) at max rate -> dist/obcap -> DynamoDB Local ${ddb.endpoint}; in flight ${MAX_IN_FLIGHT}`);
  const { shards } = await createBenchTable(ddb.client, "bench-shards").then(async (t) => {
    await dropBenchTable(ddb.client, t.table);
    return t;
  });
  const items = encodeEvents(shards);
  const batches = batchesOf(items);
  const warm = await rawRun(ddb, batchesOf(items.slice(0, WARMUP_ITEMS)));
  console.log(`warm-up (DynamoDB Local JIT): raw ${Math.round(warm.itemsPerSec).toLocaleString("en")} items/s`);

  const pipelineRuns: Record<Variant, PipelineRun[]> = { journal: [], direct: [] };
  const rawRuns: RawRun[] = [];
  const rawWorkerRuns: RawRun[] = [];
  const runPipeline = (variant: Variant) => async () => {
    const p = await pipelineRun(ddb, variant);
    pipelineRuns[variant].push(p);
    console.log(
      `pipeline (${variant}): ${EVENTS} events in ${p.seconds.toFixed(2)} s = ${Math.round(p.endToEndPerSec).toLocaleString("en")} events/s end to end, ` +
        `steady ${Math.round(p.steadyPerSec).toLocaleString("en")}/s; all received within ${p.receivedAllWithinSeconds.toFixed(1)} s; ring high ${p.ringHighKiB} KiB; ` +
        `upload backlog high ${p.uploadBacklogMiB} MiB; lost ${p.lost}; in flight ${p.inFlightMedian}; ` +
        `cores used: obcap ${p.obcapCores.toFixed(2)}, DynamoDB Local ${p.dynamoDbCores.toFixed(2)}`,
    );
  };
  const runRaw = async () => {
    const raw = await rawRun(ddb, batches);
    rawRuns.push(raw);
    console.log(
      `raw BatchWriter: ${items.length} items in ${raw.seconds.toFixed(2)} s = ${Math.round(raw.itemsPerSec).toLocaleString("en")} items/s (${raw.requests} requests); ` +
        `cores used: bench ${raw.benchCores.toFixed(2)}, DynamoDB Local ${raw.dynamoDbCores.toFixed(2)}`,
    );
  };
  const runRawInWorker = async () => {
    const raw = await rawRun(ddb, batches, "worker");
    rawWorkerRuns.push(raw);
    console.log(`raw BatchWriter in a Worker: ${items.length} items in ${raw.seconds.toFixed(2)} s = ${Math.round(raw.itemsPerSec).toLocaleString("en")} items/s`);
  };
  // Alternate the order so a drift of DynamoDB Local's speed (JIT, a neighbour's load) favours no side.
  const round1 = [runPipeline("journal"), runRaw, runPipeline("direct"), runRawInWorker];
  for (let r = 0; r < REPEATS; r++) {
    for (const run of r % 2 === 0 ? round1 : [...round1].reverse()) await run();
  }

  const summarize = (runs: PipelineRun[]) => ({
    endToEndPerSec: Math.round(median(runs.map((p) => p.endToEndPerSec))),
    runsEndToEndPerSec: runs.map((p) => Math.round(p.endToEndPerSec)),
    steadyPerSec: Math.round(median(runs.map((p) => p.steadyPerSec))),
    runsSteadyPerSec: runs.map((p) => Math.round(p.steadyPerSec)),
    runsSeconds: runs.map((p) => round(p.seconds, 2)),
    receivedAllWithinSeconds: round(median(runs.map((p) => p.receivedAllWithinSeconds)), 2),
    ringHighKiB: Math.max(...runs.map((p) => p.ringHighKiB)),
    uploadBacklogMiB: Math.max(...runs.map((p) => p.uploadBacklogMiB)),
    lostFrames: runs.reduce((s, p) => s + p.lost, 0),
    inFlightMedian: median(runs.map((p) => p.inFlightMedian)),
    obcapCores: round(median(runs.map((p) => p.obcapCores)), 2),
    dynamoDbCores: round(median(runs.map((p) => p.dynamoDbCores)), 2),
    summary: runs.at(-1)?.summary,
  });
  const journal = summarize(pipelineRuns.journal);
  const direct = summarize(pipelineRuns.direct);
  const raw = median(rawRuns.map((r) => r.itemsPerSec));
  const rawWorker = median(rawWorkerRuns.map((r) => r.itemsPerSec));
  const result = {
    bench: "pipeline",
    events: EVENTS,
    pairs: BENCH_PAIRS,
    repeats: REPEATS,
    maxInFlight: MAX_IN_FLIGHT,
    queueMiB: QUEUE_MB,
    ringKiB: QUEUE_MB * 1024,
    meanItemsPerBatch: round(items.length / batches.length, 1),
    cpus: navigator.hardwareConcurrency,
    journal,
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
    totalSeconds: round((performance.now() - started) / 1000, 1),
  };
  console.log(
    `median: pipeline with journal ${journal.endToEndPerSec.toLocaleString("en")} events/s end to end (steady ${journal.steadyPerSec.toLocaleString("en")}/s), ` +
      `without ${direct.endToEndPerSec.toLocaleString("en")} (steady ${direct.steadyPerSec.toLocaleString("en")}/s); raw ${result.rawItemsPerSec.toLocaleString("en")} items/s ` +
      `(from a Worker ${result.rawInWorkerItemsPerSec.toLocaleString("en")}/s): journal ${result.journalEndToEndOverRaw}, direct ${result.directEndToEndOverRaw} of the raw ceiling`,
  );
  printResult(result);
} finally {
  await ddb.close();
}
process.exit(0);
