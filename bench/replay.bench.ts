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
 */
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
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

const BIG_LINES = 2_000_000;
const DB_LINES = 200_000;
const STAGE_LINES = 200_000;
const SAMPLE_MS = 100;
const MIB = 1024 * 1024;
const START_RX_MICROS = 1_788_551_771_000_000;

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

const big = writeJournal("big.ndjson", BIG_LINES);
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
  stages: stageFigures,
});
