/**
 * Packed vs event layout: `bun bench/packed.bench.ts` (needs dist/obcap and java). Prints human lines,
 * then one JSON object of figures on its last line (for BENCHMARKS.md).
 *
 * Load: the same streams stored in a fresh table of each layout with `dist/obcap replay`:
 * - "20/s": btcusd and ethusd at about 20 events/s each (generated, tests/support/frame-generator.ts,
 *   orders and trades, bursts), LOW_MINUTES of exchange time;
 * - "500/s": the same at about 500 events/s each, HIGH_MINUTES;
 * - "recorded": every real fixture file of ../shared/fixtures (a few hundred stored events).
 * The rates are measured from the generated frames (events / exchange-time span / pairs).
 *
 * Write units are counted the way DynamoDB bills them (src/store/dynamodb/write-meter.ts): per item
 * written in each request, retries included, rounded up to 1 KB, a replaced item or a failed
 * condition on the larger of before and after; coverage and gap items included (the replay's summary
 * line, `write units N`). Stored bytes: every item of the table but the metadata item, by DynamoDB's
 * size rules (item-limits.ts `itemSizeBytes`), without and with the 100 bytes DynamoDB adds per item
 * for storage billing. Export: `dist/obcap export` of the whole range into a file, EXPORT_RUNS times:
 * the rate its summary line gives (from its first Query to its last line) and the whole process's,
 * medians; the output of both layouts compared byte for byte.
 *
 * Prices (on-demand, us-east-1, Standard table class; the prices in force since the reduction of
 * 1 November 2024): $0.625 per million write request units, $0.25 per GB-month of storage.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ScanCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { journalLine } from "../src/journal/journal-line.ts";
import { itemSizeBytes } from "../src/store/dynamodb/item-limits.ts";
import { createTable } from "../src/store/dynamodb/table-admin.ts";
import { DEFAULT_PACK_MS } from "../src/store/packed/pack-ms.ts";
import { generateFramesIter } from "../tests/support/frame-generator.ts";
import { FIXTURES_DIR } from "../tests/support/fixtures.ts";
import { BINARY, ROOT, WatchedProcess, benchDynamoDb, dropBenchTable, median, printResult, round, type BenchDynamoDb } from "./harness.ts";

const PAIRS = ["btcusd", "ethusd"];
const LOW_MINUTES = 30;
const HIGH_MINUTES = 5;
const START_MICROS = 1_788_552_000_000_000; // 2026-09-04T20:00:00Z
const WRU_USD_PER_MILLION = 0.625;
const STORAGE_USD_PER_GB_MONTH = 0.25;
const SECONDS_PER_MONTH = 30 * 86_400;
const STORAGE_OVERHEAD_BYTES = 100;
const LAYOUTS = ["event", "packed"] as const;
const EXPORT_RUNS = 3;
type Layout = (typeof LAYOUTS)[number];

interface Dataset {
  name: string;
  pairs: readonly string[];
  path: string;
  events: number;
  /** Measured events/s per pair (exchange time); undefined for the recorded files. */
  perPairRate?: number;
}

interface LayoutRun {
  events: number;
  writeUnits: number;
  itemWrites: number;
  unknownItems: number;
  writeUnitsPer1000: number;
  items: number;
  itemBytesPerEvent: number;
  storedBytesPerEvent: number;
  replaySeconds: number;
  /** Whole `dist/obcap export` process (start-up included), median of EXPORT_RUNS. */
  exportEventsPerSec: number;
  /** The export's summary rate (from its first Query on), median of EXPORT_RUNS. */
  exportStreamingPerSec: number;
  exportSha256: string;
}

const started = performance.now();
const ddb = await benchDynamoDb();
const dir = mkdtempSync(join(tmpdir(), "obcap-bench-packed-"));

/** A journal file of generated frames of both pairs at about `perPairRate` events/s each. */
function generated(name: string, perPairRate: number, minutes: number, seed: number): Dataset {
  const spanMicros = minutes * 60_000_000;
  // The generator's mean gap is per simulation step across the pairs; a step gives 1.3-1.5 events.
  const meanGapMs = 1000 / (perPairRate * PAIRS.length / 1.4);
  const lines: string[] = [];
  let first = 0;
  let last = 0;
  for (const frame of generateFramesIter({ pairs: PAIRS, countPerPair: Math.ceil(perPairRate * minutes * 60 * 1.2), seed, startMicros: START_MICROS, meanGapMs })) {
    const micros = Number(/"microtimestamp":"(\d+)"/.exec(frame)![1]);
    if (micros - START_MICROS >= spanMicros) break;
    if (lines.length === 0) first = micros;
    last = micros;
    lines.push(journalLine(micros + 2_000, frame));
  }
  const path = join(dir, `${name.replace("/", "-per-")}.ndjson`);
  writeFileSync(path, lines.join(""));
  return { name, pairs: PAIRS, path, events: lines.length, perPairRate: lines.length / ((last - first) / 1e6) / PAIRS.length };
}

function recorded(): Dataset {
  const files = readdirSync(FIXTURES_DIR).filter((f) => f.endsWith(".ndjson") && f.includes("_ws_") || f.startsWith("live_orders_"));
  const lines = files.flatMap((f) => readFileSync(join(FIXTURES_DIR, f), "utf8").split("\n").filter((l) => l.includes('"live_orders_') || l.includes('"live_trades_')).filter((l) => !l.includes('"bts:')));
  const path = join(dir, "recorded.ndjson");
  writeFileSync(path, `${lines.join("\n")}\n`);
  const pairs = [...new Set(lines.map((l) => /"live_(?:orders|trades)_([a-z0-9]+)"/.exec(l)![1]!))];
  return { name: "recorded", pairs, path, events: lines.length };
}

async function scanSizes(d: BenchDynamoDb, table: string): Promise<{ items: number; bytes: number }> {
  let items = 0;
  let bytes = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await d.client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) {
      if (item.pk?.S === "obcap#meta") continue;
      items++;
      bytes += itemSizeBytes(item);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return { items, bytes };
}

/**
 * `dist/obcap export` of everything into a file (`--out`: the reader of a pipe would share the CPUs
 * and set the pace): its summary's rate, the whole process's, and the SHA-256 and lines of the file.
 */
function exportAll(table: string, pairs: readonly string[]): Promise<{ lines: number; seconds: number; sha256: string; streamingPerSec: number }> {
  return new Promise((resolve, reject) => {
    const out = join(dir, "export.ndjson");
    const t0 = performance.now();
    const child = spawn(BINARY, ["export", "--table", table, "--endpoint", ddb.endpoint, "--pair", pairs.join(","), "--from", "2000-01-01", "--to", "2100-01-01", "--out", out], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (code) => {
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(`export exited ${code}: ${stderr}`));
      const bytes = readFileSync(out);
      let lines = 0;
      for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) lines++;
      rmSync(out, { force: true });
      // The summary's own rate: items over the time from the first Query to the last line handed on.
      resolve({ lines, seconds, sha256: createHash("sha256").update(bytes).digest("hex"), streamingPerSec: Number(/(\d+) items\/s/.exec(stderr)?.[1] ?? NaN) });
    });
  });
}

async function runLayout(data: Dataset, layout: Layout): Promise<LayoutRun> {
  const table = `bench-packed-${layout}-${Date.now().toString(36)}`;
  await createTable({ client: ddb.client, table, shards: 4, layout, packMs: DEFAULT_PACK_MS, createdBy: "obcap bench" });
  try {
    const t0 = performance.now();
    const replay = new WatchedProcess(BINARY, ["replay", data.path, "--table", table, "--endpoint", ddb.endpoint, "--checkpoint", join(dir, `${table}.checkpoint`), "--progress-s", "3600"]);
    if ((await replay.exited) !== 0) throw new Error(`replay failed: ${replay.log()}`);
    const replaySeconds = (performance.now() - t0) / 1000;
    const summary = replay.log().split("\n").find((l) => l.includes("summary:")) ?? "";
    const m = /events (\d+),.*write units (\d+) \((\d+) item writes(?:, (\d+) more without an answer)?\)/.exec(summary);
    if (!m) throw new Error(`no write units in the replay summary: ${summary}`);
    const events = Number(m[1]);
    const writeUnits = Number(m[2]);
    const sizes = await scanSizes(ddb, table);
    const exports = [];
    for (let i = 0; i < EXPORT_RUNS; i++) exports.push(await exportAll(table, data.pairs));
    for (const out of exports) if (out.lines !== events) throw new Error(`export gave ${out.lines} lines of ${events} events (${layout}, ${data.name})`);
    const out = exports[0]!;
    return {
      events,
      writeUnits,
      itemWrites: Number(m[3]),
      unknownItems: Number(m[4] ?? 0),
      writeUnitsPer1000: round((writeUnits / events) * 1000, 1),
      items: sizes.items,
      itemBytesPerEvent: round(sizes.bytes / events, 1),
      storedBytesPerEvent: round((sizes.bytes + STORAGE_OVERHEAD_BYTES * sizes.items) / events, 1),
      replaySeconds: round(replaySeconds, 2),
      exportEventsPerSec: Math.round(median(exports.map((e) => events / e.seconds))),
      exportStreamingPerSec: Math.round(median(exports.map((e) => e.streamingPerSec))),
      exportSha256: out.sha256,
    };
  } finally {
    await dropBenchTable(ddb.client, table);
  }
}

/** Monthly on-demand cost of writes, and storage added per month, at `eventsPerSec` with `run`'s figures. */
function monthly(eventsPerSec: number, run: LayoutRun): { writeUsd: number; storageGbPerMonth: number; storageUsdPerMonthKept: number } {
  const events = eventsPerSec * SECONDS_PER_MONTH;
  const gb = (events * run.storedBytesPerEvent) / 1e9;
  return {
    writeUsd: round((events * run.writeUnitsPer1000) / 1000 / 1e6 * WRU_USD_PER_MILLION, 2),
    storageGbPerMonth: round(gb, 2),
    storageUsdPerMonthKept: round(gb * STORAGE_USD_PER_GB_MONTH, 2),
  };
}

try {
  const datasets = [generated("20/s", 20, LOW_MINUTES, 11), generated("500/s", 500, HIGH_MINUTES, 12), recorded()];
  const results: Record<string, Record<Layout, LayoutRun> & { perPairRate?: number }> = {};
  for (const data of datasets) {
    console.log(`${data.name}: ${data.events} events${data.perPairRate ? ` at ${data.perPairRate.toFixed(1)} events/s per pair` : ""}`);
    const byLayout = {} as Record<Layout, LayoutRun>;
    for (const layout of LAYOUTS) {
      const run = await runLayout(data, layout);
      byLayout[layout] = run;
      console.log(
        `  ${layout}: ${run.writeUnits} write units for ${run.events} events = ${run.writeUnitsPer1000} per 1,000 (${run.itemWrites} item writes); ` +
          `${run.items} items, ${run.itemBytesPerEvent} B/event (${run.storedBytesPerEvent} with DynamoDB's 100 B per item); replay ${run.replaySeconds} s; export ${run.exportStreamingPerSec.toLocaleString("en")} events/s streaming (${run.exportEventsPerSec.toLocaleString("en")} whole process)`,
      );
    }
    if (byLayout.event.exportSha256 !== byLayout.packed.exportSha256) throw new Error(`${data.name}: the two layouts export different bytes`);
    console.log(`  export output identical on both layouts (sha256 ${byLayout.event.exportSha256.slice(0, 16)}); write units packed/event ${(byLayout.packed.writeUnits / byLayout.event.writeUnits).toFixed(3)}`);
    results[data.name] = { ...byLayout, ...(data.perPairRate ? { perPairRate: round(data.perPairRate, 1) } : {}) };
  }
  const low = results["20/s"]!;
  const high = results["500/s"]!;
  const cost = {
    at200PerSec: { event: monthly(200, low.event), packed: monthly(200, low.packed), basis: "the 20/s per pair figures (10 pairs of 20/s)" },
    at2000PerSec: { event: monthly(2000, high.event), packed: monthly(2000, high.packed), basis: "the 500/s per pair figures (4 pairs of 500/s)" },
  };
  console.log(`monthly writes at 200 events/s: event $${cost.at200PerSec.event.writeUsd}, packed $${cost.at200PerSec.packed.writeUsd}; at 2,000/s: event $${cost.at2000PerSec.event.writeUsd}, packed $${cost.at2000PerSec.packed.writeUsd}`);
  printResult({
    bench: "packed",
    packMs: DEFAULT_PACK_MS,
    pairs: PAIRS,
    prices: { wruUsdPerMillion: WRU_USD_PER_MILLION, storageUsdPerGbMonth: STORAGE_USD_PER_GB_MONTH, region: "us-east-1", since: "2024-11-01" },
    datasets: results,
    cost,
    seconds: round((performance.now() - started) / 1000, 1),
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
  await ddb.close();
}
