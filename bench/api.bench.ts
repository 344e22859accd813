/**
 * The REST API: `bun bench/api.bench.ts` (needs dist/obcap, dist/obcap-api-lambda.zip and java).
 * Prints human lines, then one JSON object of figures on its last line (for BENCHMARKS.md).
 *
 * Load: one hour of btcusd at 50 events/s (generated, tests/support/frame-generator.ts: 180,000
 * frames, order events and trades) with a snapshot of the true book every 15 minutes, written as a
 * journal and stored with `dist/obcap replay` into a fresh table of DynamoDB Local. Then, against
 * `dist/obcap serve` on loopback:
 * - `/v1/book` at SAMPLES random instants (level 2, depth 20): p50 / p95 of the whole HTTP request;
 * - `/v1/events` with `Accept: application/x-ndjson` over the whole hour: events/s streamed;
 * - `/v1/events?limit=10` (a small page at a random minute) from CLIENTS clients at once for
 *   LOAD_SECONDS: requests/s and p95 latency;
 * - the Lambda zip: its size, and under Node.js the cold start (import of index.mjs + the first
 *   /health invocation, which opens the table) and a warm /v1/book, COLD_RUNS fresh processes.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { journalLine, ownLine } from "../src/journal/journal-line.ts";
import { segmentName } from "../src/journal/segments.ts";
import { buildSnapshotRecord } from "../src/model/order-book-snapshot.ts";
import { generateFramesIter } from "../tests/support/frame-generator.ts";
import { httpApiEvent } from "../tests/support/http-api-event.ts";
import { seededRandom } from "../tests/support/seeded-random.ts";
import { TEST_AWS_ENV } from "../tests/support/env.ts";
import { createTable } from "../src/store/dynamodb/table-admin.ts";
import { DEFAULT_PACK_MS } from "../src/store/packed/pack-ms.ts";
import { BINARY, ROOT, WatchedProcess, benchDynamoDb, createBenchTable, dropBenchTable, median, percentile, printResult, round } from "./harness.ts";

const PAIR = "btcusd";
const FRAMES = 180_000;
const START_MICROS = 1_788_552_000_000_000; // 2026-09-04T20:00:00Z
const SNAPSHOT_EVERY_S = 15 * 60;
const SAMPLES = 40;
const CLIENTS = 16;
const LOAD_SECONDS = 10;
const COLD_RUNS = 5;
const ZIP = join(ROOT, "dist/obcap-api-lambda.zip");

const started = performance.now();
const ddb = await benchDynamoDb();
/** Set once the journal is written. */
const journalEnd = { lastMicros: 0, orderEvents: 0 };
const dir = mkdtempSync(join(tmpdir(), "obcap-bench-api-"));

/** `/v1/book` at `instants` (the first one a warm-up: connections, the JIT), then NDJSON of the whole hour. */
async function bookAndStream(base: string, instants: readonly number[], label: string): Promise<{ bookMs: { p50: number; p95: number }; applied: number; ndjsonPerSec: number }> {
  await (await fetch(`${base}/v1/book?pair=${PAIR}&at=${instants[0]}`)).text();
  const book: number[] = [];
  let applied = 0;
  for (const at of instants.slice(1)) {
    const t0 = performance.now();
    const response = await fetch(`${base}/v1/book?pair=${PAIR}&at=${at}&depth=20`);
    const body = (await response.json()) as { events_applied: number };
    book.push(performance.now() - t0);
    if (response.status !== 200) throw new Error(`/v1/book answered ${response.status}`);
    applied += body.events_applied;
  }
  const bookMs = stats(book);
  console.log(`${label}: /v1/book (${book.length} random T, level 2, depth 20): p50 ${bookMs.p50} ms, p95 ${bookMs.p95} ms, ${Math.round(applied / book.length).toLocaleString("en")} events applied on average`);
  const t0 = performance.now();
  const streamed = await fetch(`${base}/v1/events?pair=${PAIR}&from=${START_MICROS}&to=${journalEnd.lastMicros + 1}`, { headers: { accept: "application/x-ndjson" } });
  const text = await streamed.text();
  const streamSeconds = (performance.now() - t0) / 1000;
  const lines = text.split("\n").filter(Boolean).length;
  if (lines !== journalEnd.orderEvents) throw new Error(`NDJSON gave ${lines} lines, expected ${journalEnd.orderEvents}`);
  const ndjsonPerSec = lines / streamSeconds;
  console.log(`${label}: /v1/events NDJSON: ${lines.toLocaleString("en")} events in ${streamSeconds.toFixed(2)} s = ${Math.round(ndjsonPerSec).toLocaleString("en")} events/s`);
  return { bookMs, applied: applied / book.length, ndjsonPerSec };
}

/** The journal replayed into a packed table and served: the figures of {@link bookAndStream}. */
async function packedFigures(instants: readonly number[]): Promise<{ bookMs: { p50: number; p95: number }; meanEventsApplied: number; ndjsonEventsPerSec: number; packMs: number }> {
  const table = `bench-api-packed-${Date.now().toString(36)}`;
  await createTable({ client: ddb.client, table, shards: 4, layout: "packed", packMs: DEFAULT_PACK_MS, createdBy: "obcap bench" });
  try {
    const replay = new WatchedProcess(BINARY, ["replay", dir, "--table", table, "--endpoint", ddb.endpoint, "--checkpoint", join(dir, "replay-packed.checkpoint"), "--progress-s", "3600"]);
    if ((await replay.exited) !== 0) throw new Error(`replay failed: ${replay.log()}`);
    const serve = new WatchedProcess(BINARY, ["serve", "--table", table, "--endpoint", ddb.endpoint, "--port", "0"]);
    try {
      const line = await serve.waitForLine(/serving table/, 30_000);
      const base = /on (http:\/\/\S+) /.exec(line.text)![1]!;
      const f = await bookAndStream(base, instants, `packed layout (${DEFAULT_PACK_MS} ms windows)`);
      return { bookMs: f.bookMs, meanEventsApplied: Math.round(f.applied), ndjsonEventsPerSec: Math.round(f.ndjsonPerSec), packMs: DEFAULT_PACK_MS };
    } finally {
      await serve.stop("SIGTERM");
    }
  } finally {
    await dropBenchTable(ddb.client, table);
  }
}

function stats(xs: number[]): { p50: number; p95: number } {
  const sorted = Float64Array.from(xs).sort();
  return { p50: round(percentile(sorted, 50), 1), p95: round(percentile(sorted, 95), 1) };
}

try {
  // The journal: frames at their exchange time + 2 ms, a snapshot of the true book every 15 min.
  mkdirSync(join(dir, "segments"));
  const fd = openSync(join(dir, "segments", segmentName(START_MICROS, 1)), "w");
  const gen = generateFramesIter({ pairs: [PAIR], countPerPair: FRAMES, seed: 7, startMicros: START_MICROS, meanGapMs: 30, initialOrdersPerPair: 200 });
  let nextSnapshot = START_MICROS;
  let parts: string[] = [];
  let lastMicros = START_MICROS;
  let orderEvents = 0;
  let rx = 0;
  for (const frame of gen) {
    const micros = Number(/"microtimestamp":"(\d+)"/.exec(frame)![1]);
    lastMicros = micros;
    rx = Math.max(rx + 1, micros + 2000);
    if (frame.includes('"live_orders_')) orderEvents++;
    parts.push(journalLine(rx, frame));
    if (micros >= nextSnapshot) {
      const body = new TextEncoder().encode(gen.bookSnapshot(PAIR)!);
      parts.push(ownLine(rx, buildSnapshotRecord({ pair: PAIR, requestedMicros: micros + 3000, receivedMicros: rx, body }).record));
      nextSnapshot += SNAPSHOT_EVERY_S * 1_000_000;
    }
    if (parts.length >= 20_000) {
      writeSync(fd, parts.join(""));
      parts = [];
    }
  }
  writeSync(fd, parts.join(""));
  closeSync(fd);
  const spanS = (lastMicros - START_MICROS) / 1e6;
  journalEnd.lastMicros = lastMicros;
  journalEnd.orderEvents = orderEvents;
  console.log(`journal: ${FRAMES.toLocaleString("en")} frames (${orderEvents.toLocaleString("en")} order events) over ${(spanS / 60).toFixed(1)} min, a snapshot every 15 min`);

  const { table } = await createBenchTable(ddb.client, "bench-api");
  try {
    const replay = new WatchedProcess(BINARY, ["replay", dir, "--table", table, "--endpoint", ddb.endpoint, "--checkpoint", join(dir, "replay.checkpoint"), "--progress-s", "3600"]);
    if ((await replay.exited) !== 0) throw new Error(`replay failed: ${replay.log()}`);

    const serve = new WatchedProcess(BINARY, ["serve", "--table", table, "--endpoint", ddb.endpoint, "--port", "0"]);
    try {
      const line = await serve.waitForLine(/serving table/, 30_000);
      const base = /on (http:\/\/\S+) /.exec(line.text)![1]!;
      const rand = seededRandom(5);
      const span = lastMicros - START_MICROS - SNAPSHOT_EVERY_S * 1e6;
      const instant = () => START_MICROS + 1_000_000 + Math.floor(rand() * span);

      const instants = Array.from({ length: SAMPLES + 1 }, instant);
      const { bookMs, applied, ndjsonPerSec } = await bookAndStream(base, instants, "event layout");

      // Small pages from CLIENTS clients at once.
      const latencies: number[] = [];
      let requests = 0;
      const until = performance.now() + LOAD_SECONDS * 1000;
      const client = async () => {
        while (performance.now() < until) {
          const from = START_MICROS + Math.floor(rand() * (spanS - 60)) * 1_000_000;
          const s = performance.now();
          const response = await fetch(`${base}/v1/events?pair=${PAIR}&from=${from}&to=${from + 60_000_000}&limit=10`);
          await response.text();
          if (response.status !== 200) throw new Error(`/v1/events answered ${response.status}`);
          latencies.push(performance.now() - s);
          requests++;
        }
      };
      const l0 = performance.now();
      await Promise.all(Array.from({ length: CLIENTS }, client));
      const loadSeconds = (performance.now() - l0) / 1000;
      const pageMs = stats(latencies);
      const pagesPerSec = requests / loadSeconds;
      console.log(`/v1/events?limit=10 from ${CLIENTS} clients for ${LOAD_SECONDS} s: ${Math.round(pagesPerSec).toLocaleString("en")} requests/s, p50 ${pageMs.p50} ms, p95 ${pageMs.p95} ms`);

      // The Lambda handler under Node.js: zip size, cold start, a warm /v1/book.
      const zipBytes = statSync(ZIP).size;
      const lambdaDir = join(dir, "lambda");
      mkdirSync(lambdaDir);
      if (spawnSync("unzip", ["-q", ZIP, "-d", lambdaDir]).status !== 0) throw new Error("unzip failed");
      const eventsFile = join(dir, "lambda-events.json");
      writeFileSync(eventsFile, JSON.stringify([httpApiEvent("/health"), httpApiEvent(`/v1/book?pair=${PAIR}&at=${instant()}`)]));
      const cold: { loadMs: number; firstMs: number; bookMs: number; processMs: number }[] = [];
      for (let i = 0; i < COLD_RUNS; i++) {
        const s = performance.now();
        const run = spawnSync("node", [join(ROOT, "tests/support/lambda-runner.mjs"), lambdaDir, eventsFile], {
          encoding: "utf8",
          env: { PATH: process.env.PATH, ...TEST_AWS_ENV, OBCAP_TABLE: table, AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint },
        });
        const processMs = performance.now() - s;
        if (run.status !== 0) throw new Error(`lambda runner failed: ${run.stderr}`);
        const out = JSON.parse(run.stdout) as { loadMs: number; results: { ms: number; result: { statusCode: number } }[] };
        if (out.results.some((r) => r.result.statusCode !== 200)) throw new Error(`lambda answered ${out.results.map((r) => r.result.statusCode)}`);
        cold.push({ loadMs: out.loadMs, firstMs: out.results[0]!.ms, bookMs: out.results[1]!.ms, processMs });
      }
      const coldStartMs = median(cold.map((c) => c.loadMs + c.firstMs));
      console.log(
        `Lambda zip ${(zipBytes / 1024).toFixed(0)} KiB; under Node.js (${COLD_RUNS} fresh processes, median): import ${round(median(cold.map((c) => c.loadMs)), 1)} ms + first /health ${round(median(cold.map((c) => c.firstMs)), 1)} ms = cold start ${round(coldStartMs, 1)} ms; then /v1/book ${round(median(cold.map((c) => c.bookMs)), 1)} ms; whole node process ${round(median(cold.map((c) => c.processMs)), 0)} ms`,
      );

      // The same journal in a packed table: /v1/book and NDJSON at the same instants.
      const packed = await packedFigures(instants);

      printResult({
        bench: "api",
        packed,
        frames: FRAMES,
        orderEvents,
        minutes: round(spanS / 60, 1),
        samples: SAMPLES,
        bookMs,
        meanEventsApplied: Math.round(applied),
        ndjsonEventsPerSec: Math.round(ndjsonPerSec),
        clients: CLIENTS,
        pagesPerSec: Math.round(pagesPerSec),
        pageMs,
        lambdaZipBytes: zipBytes,
        lambdaColdStartMs: round(coldStartMs, 1),
        lambdaImportMs: round(median(cold.map((c) => c.loadMs)), 1),
        lambdaWarmBookMs: round(median(cold.map((c) => c.bookMs)), 1),
        seconds: round((performance.now() - started) / 1000, 1),
      });
    } finally {
      await serve.stop("SIGTERM");
    }
  } finally {
    await dropBenchTable(ddb.client, table);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  await ddb.close();
}
process.exit(0);
