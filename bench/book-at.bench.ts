/**
 * `obcap book --at` latency: `bun bench/book-at.bench.ts` (needs dist/obcap and java). Prints human
 * lines, then one JSON object of figures on its last line (for BENCHMARKS.md). A few minutes.
 *
 * Load: a 6-hour capture of btcusd at 50 events/s (generated, tests/support/frame-generator.ts: order
 * events and trades, 1,080,000 frames) with a snapshot of the true book every 15 minutes of exchange
 * time (the capture's --snapshot-every default; then again every 5 minutes), written as a journal, stored with
 * `dist/obcap replay` into a fresh table of DynamoDB Local (so keys, coverage and snapshot chunks are
 * the capture's). Then, for SAMPLES random instants T of the 6 hours:
 * - in this process: bookAt(TableHistory) (src/history/), the time from the call to the book;
 * - the compiled binary: `dist/obcap book --table T --at T --json`, wall time of the whole process
 *   (start-up, table check, reads), for BINARY_SAMPLES of them.
 * p50 and p95 of each; target p95 <= 1 s.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bookAt } from "../src/history/book-at.ts";
import { TableHistory } from "../src/history/table-history.ts";
import { dynamoQueryFn } from "../src/export/partition-query.ts";
import { journalLine, ownLine } from "../src/journal/journal-line.ts";
import { segmentName } from "../src/journal/segments.ts";
import { buildSnapshotRecord } from "../src/model/order-book-snapshot.ts";
import { openCaptureTable } from "../src/store/dynamodb/table.ts";
import { generateFramesIter } from "../tests/support/frame-generator.ts";
import { seededRandom } from "../tests/support/seeded-random.ts";
import { BINARY, WatchedProcess, benchDynamoDb, createBenchTable, dropBenchTable, percentile, printResult, round } from "./harness.ts";

const PAIR = "btcusd";
const HOURS = 6;
const FRAMES_PER_SEC = 50;
const FRAMES = HOURS * 3600 * FRAMES_PER_SEC;
/** The capture's --snapshot-every default, and a shorter cadence for comparison. */
const CADENCES_S = [15 * 60, 5 * 60];
const SAMPLES = 40;
const BINARY_SAMPLES = 40;
const TARGET_P95_MS = 1000;
const START_MICROS = 1_788_551_771_000_000;

const started = performance.now();
const ddb = await benchDynamoDb();

interface Latency {
  p50: number;
  p95: number;
  max: number;
}

function stats(xs: number[]): Latency {
  const sorted = Float64Array.from(xs).sort();
  return { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), max: round(sorted[sorted.length - 1]!) };
}

/** One capture with a snapshot every `everyS` seconds: journal, replay, then the latencies. */
async function measure(everyS: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), "obcap-bench-book-at-"));
  try {
    // The journal: frames at their exchange time + 2 ms, a snapshot record of the true book every `everyS`.
    mkdirSync(join(dir, "segments"));
    const fd = openSync(join(dir, "segments", segmentName(START_MICROS, 1)), "w");
    // A simulation step writes 1.5 frames on average (a taker's trade and its maker's change): a step
    // every 30 ms gives ~50 frames/s (the rate and span actually generated are printed).
    const gen = generateFramesIter({ pairs: [PAIR], countPerPair: FRAMES, seed: 5, startMicros: START_MICROS, meanGapMs: 30, initialOrdersPerPair: 200 });
    let nextSnapshot = START_MICROS;
    let parts: string[] = [];
    let lastMicros = START_MICROS;
    let snapshots = 0;
    for (const frame of gen) {
      const micros = Number(/"microtimestamp":"(\d+)"/.exec(frame)![1]);
      lastMicros = micros;
      parts.push(journalLine(micros + 2000, frame));
      if (micros >= nextSnapshot) {
        const body = new TextEncoder().encode(gen.bookSnapshot(PAIR)!);
        parts.push(ownLine(micros + 150_000, buildSnapshotRecord({ pair: PAIR, requestedMicros: micros + 3000, receivedMicros: micros + 150_000, body }).record));
        nextSnapshot += everyS * 1_000_000;
        snapshots++;
      }
      if (parts.length >= 20_000) {
        writeSync(fd, parts.join(""));
        parts = [];
      }
    }
    writeSync(fd, parts.join(""));
    closeSync(fd);
    const spanHours = (lastMicros - START_MICROS) / 3_600_000_000;
    const framesPerSec = FRAMES / ((lastMicros - START_MICROS) / 1e6);
    console.log(`journal: ${FRAMES.toLocaleString("en")} frames over ${spanHours.toFixed(2)} h (${framesPerSec.toFixed(1)} frames/s), ${snapshots} snapshots (every ${everyS / 60} min)`);

    const { table } = await createBenchTable(ddb.client, "bench-book-at");
    try {
      const t0 = performance.now();
      const replay = new WatchedProcess(BINARY, ["replay", dir, "--table", table, "--endpoint", ddb.endpoint, "--checkpoint", join(dir, "replay.checkpoint"), "--progress-s", "3600"]);
      const code = await replay.exited;
      if (code !== 0) throw new Error(`replay failed (${code}): ${replay.log()}`);
      console.log(`stored with dist/obcap replay in ${round((performance.now() - t0) / 1000, 1)} s`);

      const { shards, metadata } = await openCaptureTable({ client: ddb.client, table });
      const query = dynamoQueryFn({ client: ddb.client, table, pageItems: 1000, parallel: 16 });
      const source = new TableHistory({ client: ddb.client, table, shards, coverageComplete: metadata.coverage === "complete", query });
      const rand = seededRandom(11);
      const instants = Array.from({ length: SAMPLES }, () => START_MICROS + Math.floor(rand() * (lastMicros - START_MICROS)));
      await bookAt(source, PAIR, instants[0]!); // warm-up: the JIT, the connections
      const inProcess: number[] = [];
      let events = 0;
      for (const at of instants) {
        const s = performance.now();
        const result = await bookAt(source, PAIR, at);
        inProcess.push(performance.now() - s);
        events += result.eventsApplied;
      }
      const binary: number[] = [];
      for (const at of instants.slice(0, BINARY_SAMPLES)) {
        const s = performance.now();
        const run = new WatchedProcess(BINARY, ["book", "--table", table, "--endpoint", ddb.endpoint, "--pair", PAIR, "--at", String(at), "--json"]);
        const exit = await run.exited;
        if (exit !== 0) throw new Error(`book failed (${exit}): ${run.log()}`);
        binary.push(performance.now() - s);
      }
      const inStats = stats(inProcess);
      const binStats = stats(binary);
      console.log(
        `snapshot every ${everyS / 60} min: book at a random T (${SAMPLES} samples): in process p50 ${inStats.p50} ms, p95 ${inStats.p95} ms (max ${inStats.max}), ` +
          `${Math.round(events / SAMPLES).toLocaleString("en")} events applied on average; dist/obcap book --at (${BINARY_SAMPLES} runs, whole process) p50 ${binStats.p50} ms, p95 ${binStats.p95} ms (target p95 <= ${TARGET_P95_MS} ms)`,
      );
      return {
        hours: round(spanHours, 2),
        framesPerSec: round(framesPerSec, 1),
        snapshotEverySec: everyS,
        snapshots,
        meanEventsApplied: Math.round(events / SAMPLES),
        inProcessMs: inStats,
        binaryMs: binStats,
      };
    } finally {
      await dropBenchTable(ddb.client, table);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  const cadences = [];
  for (const everyS of CADENCES_S) cadences.push(await measure(everyS));
  printResult({
    bench: "book-at",
    frames: FRAMES,
    samples: SAMPLES,
    binarySamples: BINARY_SAMPLES,
    targetP95Ms: TARGET_P95_MS,
    ...cadences[0],
    cadences,
    seconds: round((performance.now() - started) / 1000, 1),
  });
} finally {
  await ddb.close();
}
process.exit(0);
