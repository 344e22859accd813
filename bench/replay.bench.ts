/**
 * Replay and export benchmark: `bun bench/replay.bench.ts` (needs dist/obcap: `make build`, and java
 * for DynamoDB Local). Prints human lines, then one JSON object of figures on its last line (for
 * BENCHMARKS.md). A few minutes; writes a ~1 GB temporary file (removed at the end).
 *
 * Input: BIG_LINES journal lines `{"rx":µs,"m":frame}` of generated 2026-format frames (two pairs,
 * orders and trades, tests/support/frame-generator.ts), the layout a capture writes.
 * 1. Where the time of one line goes, in this process on the first STAGE_LINES lines (median of 3):
 *    read + split, parseRecordedLine, JSON.parse, parseJsonExact, decodeFrame, encodeItem, the whole
 *    mapRecordedLine.
 * 2. `dist/obcap replay BIG --dry-run`: lines/s from its summary line, and peak RSS (VmHWM, sampled
 *    from /proc every SAMPLE_MS) of a streaming replay of the 2,000,000-line file; the same peak for
 *    the file 10x smaller shows that memory does not grow with the input.
 * 3. `dist/obcap replay SMALL --table T` into DynamoDB Local (DB_LINES lines): lines/s and peak RSS.
 * 4. `dist/obcap export` of those items to a file: items/s.
 * 5. Requests in flight, adaptive (the default: from 8 up to --in-flight-max 64) against pinned
 *    `--in-flight 8` ("fixed 8"), replaying ADAPT_LINES lines (a fresh table and checkpoint each run,
 *    ADAPT_REPEATS runs each, alternating, median; `--verbose` for the `write concurrency A -> B`
 *    lines, whose highest B is reported). One raw run first warms DynamoDB Local's JIT up. Then:
 *    - direct into DynamoDB Local, against the raw BatchWriteItem ceiling of the same items (what the
 *      replay stores, mapped in this process, written by BatchWriter alone, 8 in flight), measured right
 *      before the first and right after the last run; the higher is kept; target >= 0.95 of it;
 *    - the same with DynamoDB Local pinned to one CPU and this process (and the obcap it starts) to the
 *      other (taskset), the ceiling measured the same way: on AWS, DynamoDB does not share obcap's CPU;
 *    - through tests/support/fault-proxy.ts with `latencyMs: PROXY_LATENCY_MS` on every BatchWriteItem
 *      (no faults): closer to AWS, several ms away, than DynamoDB Local is.
 *    lines/s = the exact rate of replay's summary line.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BENCH_PAIRS, BINARY, WatchedProcess, benchDynamoDb, collectGarbage, createBenchTable, dropBenchTable, median,
  printResult, procStatusBytes, round,
} from "./harness.ts";
import { generateFramesIter } from "../tests/support/frame-generator.ts";
import { journalLine, parseRecordedLine } from "../src/journal/journal-line.ts";
import { parseJsonExact } from "../src/base/exact-json.ts";
import { decodeFrame } from "../src/exchange/bitstamp/decode.ts";
import type { MarketEvent } from "../src/model/events.ts";
import { encodeItem } from "../src/store/dynamodb/event-item.ts";
import { StoredItems } from "../src/pipeline/stored-item.ts";
import { mapRecordedLine } from "../src/replay/line-mapper.ts";
import { LineSplitter } from "../src/replay/line-splitter.ts";
import { openInput } from "../src/replay/input-stream.ts";
import { resolveInputs } from "../src/replay/inputs.ts";
import { BatchWriter } from "../src/store/dynamodb/batch-writer.ts";
import type { Item } from "../src/store/dynamodb/item.ts";
import { startFaultProxy } from "../tests/support/fault-proxy.ts";
import { pinCpus, type BenchDynamoDb } from "./harness.ts";

const BIG_LINES = 2_000_000;
const DB_LINES = 200_000;
const STAGE_LINES = 200_000;
const SAMPLE_MS = 100;
const MIB = 1024 * 1024;
const START_RX_MICROS = 1_788_551_771_000_000;
const ADAPT_LINES = 150_000;
const ADAPT_REPEATS = 3;
/** Pinned runs' `--in-flight`, the raw writer's in flight, and the adaptive start. */
const FIXED_IN_FLIGHT = 8;
/** obcap's default `--in-flight-max`. */
const ADAPTIVE_MAX_IN_FLIGHT = 64;
/** Added by the fault proxy to every BatchWriteItem. */
const PROXY_LATENCY_MS = 8;
/** Share of the raw ceiling the issue asks of the adaptive replay. */
const TARGET_SHARE_OF_CEILING = 0.95;

const dir = mkdtempSync(join(tmpdir(), "obcap-bench-replay-"));

/** Exchange time of the first and last frame written (for the export range). */
const span = { firstMicros: Infinity, lastMicros: 0 };

/** Writes the first `lines` journal lines of the generated feed; returns the path. */
function writeJournal(name: string, lines: number): string {
  const path = join(dir, name);
  const fd = openSync(path, "w");
  const frames = generateFramesIter({ pairs: BENCH_PAIRS, countPerPair: Math.ceil(lines / BENCH_PAIRS.length), seed: 1 });
  let parts: string[] = [];
  let n = 0;
  for (const frame of frames) {
    if (n >= lines) break;
    parts.push(journalLine(START_RX_MICROS + n * 137, frame));
    const micros = Number(/"microtimestamp":"(\d+)"/.exec(frame)![1]);
    span.firstMicros = Math.min(span.firstMicros, micros);
    span.lastMicros = Math.max(span.lastMicros, micros);
    if (++n % 20_000 === 0) {
      writeSync(fd, parts.join(""));
      parts = [];
    }
  }
  writeSync(fd, parts.join(""));
  closeSync(fd);
  return path;
}

/** Per-line cost of each stage, in this process. */
async function stages(path: string): Promise<Record<string, number>> {
  const [input] = resolveInputs([path]);
  const lines: string[] = [];
  const readSplitPerSec: number[] = [];
  for (let r = 0; r < 3; r++) {
    lines.length = 0;
    collectGarbage();
    const t0 = performance.now();
    const reader = await openInput(input!, 0);
    const splitter = new LineSplitter(0, 1, MIB);
    for (let chunk = await reader.read(); chunk !== undefined && lines.length < STAGE_LINES; chunk = await reader.read()) {
      for (const text of splitter.push(chunk).texts) lines.push(text);
    }
    await reader.close();
    readSplitPerSec.push(lines.length / ((performance.now() - t0) / 1000));
  }
  const frames = lines.map((l) => (parseRecordedLine(l) as { frame: string }).frame);
  const events = frames.map((f) => (decodeFrame(f, 1) as { event: MarketEvent }).event);
  const rate = <T>(inputs: readonly T[], work: (x: T) => unknown): number => {
    const runs: number[] = [];
    let sink = 0;
    for (let r = 0; r < 4; r++) {
      collectGarbage();
      const t0 = performance.now();
      for (const x of inputs) if (work(x) !== undefined) sink++;
      if (r > 0) runs.push(inputs.length / ((performance.now() - t0) / 1000));
    }
    if (sink === 0) throw new Error("nothing measured");
    return Math.round(median(runs));
  };
  const figures = {
    readSplitPerSec: Math.round(median(readSplitPerSec)),
    parseRecordedLinePerSec: rate(lines, parseRecordedLine),
    jsonParsePerSec: rate(frames, (f) => JSON.parse(f)),
    parseJsonExactPerSec: rate(frames, parseJsonExact),
    decodeFramePerSec: rate(frames, (f) => decodeFrame(f, 1)),
    encodeItemPerSec: rate(events, (e) => encodeItem(e, 4)),
    mapRecordedLinePerSec: rate(lines, ((stored) => (l: string) => mapRecordedLine(l, stored))(new StoredItems(4))),
  };
  const us = (perSec: number) => (1e6 / perSec).toFixed(2);
  console.log(
    `per line (µs): read+split ${us(figures.readSplitPerSec)}, parseRecordedLine ${us(figures.parseRecordedLinePerSec)}, ` +
      `JSON.parse ${us(figures.jsonParsePerSec)}, parseJsonExact ${us(figures.parseJsonExactPerSec)}, ` +
      `decodeFrame ${us(figures.decodeFramePerSec)} (parse + valibot), encodeItem ${us(figures.encodeItemPerSec)}, ` +
      `mapRecordedLine ${us(figures.mapRecordedLinePerSec)}`,
  );
  return figures;
}

interface CliRun {
  code: number;
  elapsedS: number;
  peakRssMiB: number;
  summary: string;
}

/** Runs the binary, sampling VmHWM until it exits. */
async function runCli(args: string[]): Promise<CliRun> {
  const t0 = performance.now();
  const proc = new WatchedProcess(BINARY, args);
  let peak = 0;
  while (proc.isRunning()) {
    peak = Math.max(peak, procStatusBytes(proc.pid, "VmHWM") ?? 0);
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
  }
  const code = await proc.exited;
  const summary = proc.stderrLines.map((l) => l.text).find((t) => /summary:/.test(t)) ?? proc.log();
  return { code, elapsedS: (performance.now() - t0) / 1000, peakRssMiB: round(peak / MIB, 1), summary };
}

/** `lines N, ... elapsed X s, R lines/s` of replay's summary line. */
function linesPerSec(summary: string): number {
  const m = /lines (\d+),.*elapsed ([\d.]+) s/.exec(summary);
  if (!m) throw new Error(`no summary: ${summary}`);
  return Math.round(Number(m[1]) / Number(m[2]));
}

/** The exact `R lines/s` at the end of replay's summary line. */
function exactLinesPerSec(summary: string): number {
  const m = /lines (\d+),.*, (\d+) lines\/s/.exec(summary);
  if (!m) throw new Error(`no summary: ${summary}`);
  return Number(m[2]);
}

type InFlightMode = "adaptive" | "fixed8";

interface AdaptRun {
  linesPerSec: number;
  /** Highest and final limit from the `write concurrency A -> B` lines (pinned: FIXED_IN_FLIGHT). */
  concurrencyHighest: number;
  concurrencyFinal: number;
  concurrencyChanges: number;
}

/** One `dist/obcap replay` of `path` into a fresh table, at `endpoint` (DynamoDB Local or the proxy). */
async function adaptRun(ddb: BenchDynamoDb, path: string, endpoint: string, mode: InFlightMode, n: number): Promise<AdaptRun> {
  const { table } = await createBenchTable(ddb.client, "bench-replay-inflight");
  try {
    const proc = new WatchedProcess(BINARY, [
      "replay", path, "--table", table, "--endpoint", endpoint, "--checkpoint", join(dir, `cp-inflight-${n}`), "--progress-s", "3600", "--verbose",
      ...(mode === "fixed8" ? ["--in-flight", String(FIXED_IN_FLIGHT)] : []),
    ]);
    const code = await proc.exited;
    const summary = proc.stderrLines.map((l) => l.text).find((t) => /summary:/.test(t)) ?? proc.log();
    if (code !== 0) throw new Error(`replay (${mode}) into ${endpoint} failed (${code}): ${summary}`);
    const changes = proc.stderrLines.map((l) => /write concurrency (\d+) -> (\d+)/.exec(l.text)).filter((m) => m !== null).map((m) => Number(m[2]));
    if (mode === "fixed8" && changes.length > 0) throw new Error(`--in-flight ${FIXED_IN_FLIGHT} changed its limit ${changes.length} times`);
    return {
      linesPerSec: exactLinesPerSec(summary),
      concurrencyHighest: Math.max(FIXED_IN_FLIGHT, ...changes),
      concurrencyFinal: changes.at(-1) ?? FIXED_IN_FLIGHT,
      concurrencyChanges: changes.length,
    };
  } finally {
    await dropBenchTable(ddb.client, table);
  }
}

/** What the replay of `path` stores (mapped as replay maps it), in batches of 25. */
function replayItems(path: string, shards: number): Item[][] {
  const stored = new StoredItems(shards);
  const items: Item[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line === "") continue;
    const outcome = mapRecordedLine(line, stored);
    if (outcome.kind === "event") items.push(...outcome.chainGaps, outcome.item);
    else if (outcome.kind === "gap") items.push(...outcome.items);
  }
  const batches: Item[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  return batches;
}

/** The raw BatchWriteItem ceiling: `batches` written by BatchWriter alone into a fresh table, items/s. */
async function rawCeiling(ddb: BenchDynamoDb, batches: readonly Item[][]): Promise<number> {
  const { table } = await createBenchTable(ddb.client, "bench-replay-raw");
  try {
    collectGarbage();
    const writer = new BatchWriter({ client: ddb.client, table, maxInFlight: FIXED_IN_FLIGHT });
    const items = batches.reduce((s, b) => s + b.length, 0);
    const t0 = performance.now();
    for (const batch of batches) await writer.submit(batch);
    await writer.flush();
    const seconds = (performance.now() - t0) / 1000;
    if (writer.stats().written !== items) throw new Error(`raw writer wrote ${writer.stats().written} of ${items} items`);
    return items / seconds;
  } finally {
    await dropBenchTable(ddb.client, table);
  }
}

interface DirectGroup {
  before: number;
  after: number;
  ceiling: number;
  adaptive: AdaptRun[];
  fixed8: AdaptRun[];
}

/** Raw ceiling right before and after ADAPT_REPEATS alternating adaptive / fixed 8 replays straight into DynamoDB Local. */
async function directGroup(ddb: BenchDynamoDb, path: string, batches: readonly Item[][], label: string, next: () => number): Promise<DirectGroup> {
  const before = await rawCeiling(ddb, batches);
  console.log(`${label}: raw BatchWriter ceiling (before): ${Math.round(before).toLocaleString("en")} items/s`);
  const runs = { adaptive: [] as AdaptRun[], fixed8: [] as AdaptRun[] };
  for (let r = 0; r < ADAPT_REPEATS; r++) {
    for (const mode of r % 2 === 0 ? (["adaptive", "fixed8"] as const) : (["fixed8", "adaptive"] as const)) {
      const run = await adaptRun(ddb, path, ddb.endpoint, mode, next());
      runs[mode].push(run);
      console.log(
        `${label}: replay of ${ADAPT_LINES} lines, ${mode === "fixed8" ? `--in-flight ${FIXED_IN_FLIGHT}` : "adaptive"}: ` +
          `${run.linesPerSec.toLocaleString("en")} lines/s; concurrency highest ${run.concurrencyHighest}, final ${run.concurrencyFinal} (${run.concurrencyChanges} changes)`,
      );
    }
  }
  const after = await rawCeiling(ddb, batches);
  console.log(`${label}: raw BatchWriter ceiling (after): ${Math.round(after).toLocaleString("en")} items/s`);
  return { before, after, ceiling: Math.max(before, after), ...runs };
}

/** Part 5: adaptive vs fixed 8, direct (against the raw ceiling; CPUs shared, then pinned apart) and through the latency proxy. */
async function inFlightFigures(ddb: BenchDynamoDb, path: string): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const { shards } = await createBenchTable(ddb.client, "bench-replay-shards").then(async (t) => {
    await dropBenchTable(ddb.client, t.table);
    return t;
  });
  const batches = replayItems(path, shards);
  const items = batches.reduce((s, b) => s + b.length, 0);
  let n = 0;
  const next = () => n++;
  // DynamoDB Local's JIT keeps speeding it up for its first tens of seconds of writes (measured:
  // 9,564 -> 15,455 -> 16,186 items/s in three raw runs in a row): warm it up before any figure.
  const warmUp = await rawCeiling(ddb, batches);
  console.log(`warm-up of DynamoDB Local (not a figure): ${Math.round(warmUp).toLocaleString("en")} items/s`);
  const shared = await directGroup(ddb, path, batches, "CPUs shared", next);
  const pinning = pinCpus(ddb.pid);
  let pinned: DirectGroup | undefined;
  if (typeof pinning === "string") console.log(`CPUs pinned apart: skipped (${pinning})`);
  else {
    try {
      pinned = await directGroup(ddb, path, batches, "CPUs pinned apart", next);
    } finally {
      pinning.undo();
    }
  }
  const proxy = startFaultProxy({ target: ddb.endpoint, latencyMs: PROXY_LATENCY_MS });
  const proxiedRuns = { adaptive: [] as AdaptRun[], fixed8: [] as AdaptRun[] };
  try {
    for (let r = 0; r < ADAPT_REPEATS; r++) {
      for (const mode of r % 2 === 0 ? (["fixed8", "adaptive"] as const) : (["adaptive", "fixed8"] as const)) {
        const run = await adaptRun(ddb, path, proxy.url, mode, next());
        proxiedRuns[mode].push(run);
        console.log(
          `replay of ${ADAPT_LINES} lines through the proxy (+${PROXY_LATENCY_MS} ms), ${mode === "fixed8" ? `--in-flight ${FIXED_IN_FLIGHT}` : "adaptive"}: ` +
            `${run.linesPerSec.toLocaleString("en")} lines/s; concurrency highest ${run.concurrencyHighest}, final ${run.concurrencyFinal} (${run.concurrencyChanges} changes)`,
        );
      }
    }
  } finally {
    await proxy.stop();
  }
  const summarize = (runs: AdaptRun[]) => ({
    linesPerSec: Math.round(median(runs.map((x) => x.linesPerSec))),
    runsLinesPerSec: runs.map((x) => x.linesPerSec),
    concurrencyHighest: Math.max(...runs.map((x) => x.concurrencyHighest)),
    runsConcurrencyHighest: runs.map((x) => x.concurrencyHighest),
    runsConcurrencyFinal: runs.map((x) => x.concurrencyFinal),
  });
  // Items per line of this input (every line one event item; chained gaps would add items).
  const itemsPerLine = items / ADAPT_LINES;
  const group = (g: DirectGroup) => {
    const adaptive = summarize(g.adaptive);
    const fixed8 = summarize(g.fixed8);
    return {
      rawCeilingBeforeItemsPerSec: Math.round(g.before),
      rawCeilingAfterItemsPerSec: Math.round(g.after),
      rawCeilingItemsPerSec: Math.round(g.ceiling),
      adaptive,
      fixed8,
      /** Items stored per s over the ceiling (lines/s x items per line). */
      adaptiveOverCeiling: round((adaptive.linesPerSec * itemsPerLine) / g.ceiling, 3),
      fixed8OverCeiling: round((fixed8.linesPerSec * itemsPerLine) / g.ceiling, 3),
      adaptiveOverFixed8: round(adaptive.linesPerSec / fixed8.linesPerSec, 3),
    };
  };
  const direct = group(shared);
  const directPinned = pinned ? group(pinned) : undefined;
  const proxied = { adaptive: summarize(proxiedRuns.adaptive), fixed8: summarize(proxiedRuns.fixed8) };
  const figures = {
    lines: ADAPT_LINES,
    items,
    repeats: ADAPT_REPEATS,
    fixedInFlight: FIXED_IN_FLIGHT,
    adaptiveMaxInFlight: ADAPTIVE_MAX_IN_FLIGHT,
    proxyLatencyMs: PROXY_LATENCY_MS,
    targetShareOfCeiling: TARGET_SHARE_OF_CEILING,
    warmUpItemsPerSec: Math.round(warmUp),
    direct,
    directPinned: directPinned ?? (typeof pinning === "string" ? { skipped: pinning } : undefined),
    proxied,
    directAdaptiveOverCeiling: direct.adaptiveOverCeiling,
    directFixed8OverCeiling: direct.fixed8OverCeiling,
    pinnedAdaptiveOverCeiling: directPinned?.adaptiveOverCeiling,
    pinnedFixed8OverCeiling: directPinned?.fixed8OverCeiling,
    proxiedAdaptiveOverFixed8: round(proxied.adaptive.linesPerSec / proxied.fixed8.linesPerSec, 3),
    proxiedAdaptiveOverDirectAdaptive: round(proxied.adaptive.linesPerSec / direct.adaptive.linesPerSec, 3),
    seconds: round((performance.now() - t0) / 1000, 1),
  };
  const share = (g: ReturnType<typeof group>) =>
    `adaptive ${g.adaptive.linesPerSec.toLocaleString("en")} vs fixed ${FIXED_IN_FLIGHT} ${g.fixed8.linesPerSec.toLocaleString("en")} lines/s ` +
    `= ${g.adaptiveOverCeiling} / ${g.fixed8OverCeiling} of the raw ceiling ${g.rawCeilingItemsPerSec.toLocaleString("en")} items/s`;
  console.log(
    `in flight, ${ADAPT_LINES} lines (median of ${ADAPT_REPEATS}; target >= ${TARGET_SHARE_OF_CEILING} of the ceiling): CPUs shared: ${share(direct)}; ` +
      `CPUs pinned apart: ${directPinned ? share(directPinned) : `skipped (${String(pinning)})`}; ` +
      `through the proxy (+${PROXY_LATENCY_MS} ms) adaptive ${proxied.adaptive.linesPerSec.toLocaleString("en")} vs fixed ${FIXED_IN_FLIGHT} ${proxied.fixed8.linesPerSec.toLocaleString("en")} lines/s ` +
      `(x${figures.proxiedAdaptiveOverFixed8}); highest concurrency ${direct.adaptive.concurrencyHighest} direct, ${proxied.adaptive.concurrencyHighest} through the proxy; ${figures.seconds} s`,
  );
  return figures;
}

const big = writeJournal("big.ndjson", BIG_LINES);
const inFlightInput = writeJournal("inflight.ndjson", ADAPT_LINES);
span.firstMicros = Infinity;
span.lastMicros = 0;
const small = writeJournal("small.ndjson", DB_LINES);
console.log(`input: ${BIG_LINES} lines, ${round(statSync(big).size / MIB)} MiB; ${DB_LINES} lines, ${round(statSync(small).size / MIB)} MiB`);

const stageFigures = await stages(small);

const dry = await runCli(["replay", big, "--dry-run", "--progress-s", "3600"]);
if (dry.code !== 0) throw new Error(`dry run failed (${dry.code}): ${dry.summary}`);
const dryRate = linesPerSec(dry.summary);
console.log(`dry run of ${BIG_LINES} lines: ${dryRate.toLocaleString("en")} lines/s, peak RSS ${dry.peakRssMiB} MiB (${dry.summary})`);
// The same on a file 10x smaller: a streaming replay peaks at about the same RSS.
const drySmall = await runCli(["replay", small, "--dry-run", "--progress-s", "3600"]);
console.log(`dry run of ${DB_LINES} lines: peak RSS ${drySmall.peakRssMiB} MiB`);

const ddb = await benchDynamoDb();
let dbFigures: Record<string, number>;
let inFlight: Record<string, unknown>;
try {
  const { table } = await createBenchTable(ddb.client, "bench-replay");
  const toTable = await runCli(["replay", small, "--table", table, "--endpoint", ddb.endpoint, "--checkpoint", join(dir, "cp"), "--progress-s", "3600"]);
  if (toTable.code !== 0) throw new Error(`replay into DynamoDB Local failed (${toTable.code}): ${toTable.summary}`);
  const dbRate = linesPerSec(toTable.summary);
  console.log(`replay of ${DB_LINES} lines into DynamoDB Local: ${dbRate.toLocaleString("en")} lines/s, peak RSS ${toTable.peakRssMiB} MiB`);

  const exported = await runCli([
    "export", "--table", table, "--endpoint", ddb.endpoint, "--pair", BENCH_PAIRS.join(","),
    "--from", String(span.firstMicros), "--to", String(span.lastMicros + 1), "--out", join(dir, "export.ndjson"),
  ]);
  if (exported.code !== 0) throw new Error(`export failed (${exported.code}): ${exported.summary}`);
  const m = /frames (\d+).*elapsed ([\d.]+) s, (\d+) items\/s/.exec(exported.summary);
  const exportRate = m ? Number(m[3]) : NaN;
  console.log(`export of ${m?.[1]} items: ${exportRate.toLocaleString("en")} items/s, peak RSS ${exported.peakRssMiB} MiB (${exported.summary})`);
  await dropBenchTable(ddb.client, table);
  dbFigures = {
    dynamoDbLines: DB_LINES,
    dynamoDbLinesPerSec: dbRate,
    dynamoDbPeakRssMiB: toTable.peakRssMiB,
    exportItems: Number(m?.[1] ?? NaN),
    exportItemsPerSec: exportRate,
    exportPeakRssMiB: exported.peakRssMiB,
  };
  inFlight = await inFlightFigures(ddb, inFlightInput);
} finally {
  await ddb.close();
  rmSync(dir, { recursive: true, force: true });
}

printResult({
  bench: "replay",
  runtime: `bun ${Bun.version}`,
  dryRunLines: BIG_LINES,
  dryRunLinesPerSec: dryRate,
  dryRunPeakRssMiB: dry.peakRssMiB,
  dryRunSmallLines: DB_LINES,
  dryRunSmallPeakRssMiB: drySmall.peakRssMiB,
  dryRunTargetLinesPerSec: 300_000,
  ...dbFigures,
  inFlight,
  stages: stageFigures,
});
