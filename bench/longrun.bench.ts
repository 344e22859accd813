/**
 * Long-run benchmark: `bun bench/run.ts --only longrun` (or `make bench-long`; not part of `make bench`:
 * it lasts an hour). Prints human lines, then one JSON object of figures on the last line.
 *
 * The compiled binary captures 2 pairs at RATE frames/s in all (the fake exchange process, `--rate
 * RATE --loop`: orders and trades of btcusd and ethusd) for LONGRUN_SECONDS (default 3600) the way a
 * server runs it: journal on, upload into a table created by `obcap table create` (the default layout),
 * metrics served on a port and scraped, a snapshot every 15 min (the default). Retention is set short,
 * `--journal-keep 10m --segment-age 5m`, so that within the hour the journal must stop growing: its
 * oldest data can be at most keep + segment age (+ one sweep) old, whatever the run's length.
 *
 * Every SAMPLE_S: VmRSS, VmHWM, open file descriptors (/proc/<pid>/fd), the journal's bytes on disk and
 * files, and the age of its oldest segment (from the segment's name: the receive time it was opened).
 * Every minute: /metrics (frames received, events written, frames lost). At the end: SIGINT, and
 * obcap's summary line must show every frame received accounted for and 0 lost.
 *
 * The binary is copied to a temporary directory first, so rebuilding dist/obcap during the hour does
 * not touch the running file. OBCAP_BENCH_BINARY picks another binary (e.g. dist/obcap-linux-x64).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BENCH_PAIRS, BINARY, WatchedProcess, benchDynamoDb, captureArgs, dropBenchTable, longrunSeconds, printResult, procStatusBytes, round, sleepMs, spawnFakeExchange,
} from "./harness.ts";

const RATE = 1_000;
const DURATION_S = longrunSeconds();
const SAMPLE_S = 10;
const METRICS_EVERY_S = 60;
const KEEP_MIN = 10;
const SEGMENT_AGE_MIN = 5;
/** The retention sweep runs about once a minute; a segment may outlive keep + segment age by that much. */
const SWEEP_SLACK_MIN = 1;
const MIB = 1024 * 1024;

/** One sample of the run (also the rows of its BENCHMARKS.md table, bench/sections.ts). */
export interface Sample {
  atS: number;
  rssMiB: number;
  hwmMiB: number;
  fds: number;
  journalMiB: number;
  journalFiles: number;
  oldestSegmentAgeMin: number;
}

interface MetricsSample {
  atS: number;
  received: number;
  written: number;
  lost: number;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port"))));
    });
  });
}

function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}

/** The kinds of the open descriptors at the end (files by directory, sockets, pipes, anon inodes). */
function fdKinds(pid: number, journalDir: string): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const kind = target.startsWith(journalDir) ? "journal file" : target.startsWith("socket:") ? "socket" : target.startsWith("pipe:") ? "pipe"
      : target.startsWith("anon_inode:") ? target : target.startsWith("/dev/") ? "device" : "other file";
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

function journalUsage(dir: string, nowMs: number): { bytes: number; files: number; oldestSegmentAgeMin: number } {
  let bytes = 0;
  let files = 0;
  let oldestMicros = Number.POSITIVE_INFINITY;
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        try {
          bytes += statSync(path).size;
          files++;
        } catch {
          continue; // deleted between the listing and the stat
        }
        const m = /^(\d{16})-\d+\.ndjson/.exec(entry.name);
        if (m) oldestMicros = Math.min(oldestMicros, Number(m[1]));
      }
    }
  };
  walk(dir);
  return { bytes, files, oldestSegmentAgeMin: Number.isFinite(oldestMicros) ? (nowMs - oldestMicros / 1000) / 60_000 : 0 };
}

function metricValue(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

const started = performance.now();
const ddb = await benchDynamoDb();
const work = mkdtempSync(join(tmpdir(), "obcap-bench-longrun-"));
const binary = join(work, "obcap");
copyFileSync(BINARY, binary);
const version = spawnSync(binary, ["--version"], { encoding: "utf8" }).stdout.trim();
const table = `bench-longrun-${Date.now().toString(36)}`;
const journalDir = join(work, "journal");
const create = spawnSync(binary, ["table", "create", "--table", table, "--endpoint", ddb.endpoint], { encoding: "utf8" });
if (create.status !== 0) throw new Error(`table create failed: ${create.stderr}`);
console.log(`longrun bench: ${version}; ${RATE} frames/s (${BENCH_PAIRS.join(", ")}, orders + trades) for ${DURATION_S} s into ${table} (${create.stderr.trim().split("\n").at(-1)})`);

const metricsPort = await freePort();
const fake = await spawnFakeExchange({ countPerPair: 0, ratePerSec: RATE, loop: true });
const obcap = new WatchedProcess(
  binary,
  captureArgs(fake, [
    "--table", table, "--endpoint", ddb.endpoint, "--journal", journalDir,
    "--journal-keep", `${KEEP_MIN}m`, "--segment-age", `${SEGMENT_AGE_MIN}m`,
    "--metrics-port", String(metricsPort), "--progress-s", "60",
  ]),
);
const samples: Sample[] = [];
const metrics: MetricsSample[] = [];
let summary = "";
let fdKindsAtEnd: Record<string, number> = {};
try {
  const capturing = await obcap.waitForLine(/capturing .* subscribed in/, 30_000);
  const t0 = capturing.atMs;
  let nextMetricsS = 0;
  for (;;) {
    const atS = (performance.now() - t0) / 1000;
    const usage = journalUsage(journalDir, Date.now());
    const sample: Sample = {
      atS: round(atS, 1),
      rssMiB: round((procStatusBytes(obcap.pid, "VmRSS") ?? Number.NaN) / MIB, 1),
      hwmMiB: round((procStatusBytes(obcap.pid, "VmHWM") ?? Number.NaN) / MIB, 1),
      fds: fdCount(obcap.pid),
      journalMiB: round(usage.bytes / MIB, 1),
      journalFiles: usage.files,
      oldestSegmentAgeMin: round(usage.oldestSegmentAgeMin, 1),
    };
    if (!Number.isFinite(sample.rssMiB)) throw new Error(`obcap is gone after ${atS.toFixed(0)} s:\n${obcap.log()}`);
    samples.push(sample);
    if (atS >= nextMetricsS) {
      nextMetricsS += METRICS_EVERY_S;
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      metrics.push({
        atS: round(atS, 1),
        received: metricValue(text, "obcap_receiver_frames_total"),
        written: metricValue(text, "obcap_events_written_total"),
        lost: metricValue(text, "obcap_frames_lost_total"),
      });
      const m = metrics.at(-1) as MetricsSample;
      console.log(
        `${(atS / 60).toFixed(1)} min: RSS ${sample.rssMiB} MiB (peak ${sample.hwmMiB}), fds ${sample.fds}, journal ${sample.journalMiB} MiB in ${sample.journalFiles} files ` +
          `(oldest segment ${sample.oldestSegmentAgeMin} min), received ${m.received}, written ${m.written}, lost ${m.lost}`,
      );
    }
    if (atS >= DURATION_S) break;
    await sleepMs(SAMPLE_S * 1000 - (((performance.now() - t0) / 1000) % SAMPLE_S) * 1000);
  }
  fdKindsAtEnd = fdKinds(obcap.pid, journalDir);
  obcap.child.kill("SIGINT");
  const line = await obcap.waitForLine(/summary: received/, 120_000);
  summary = line.text.replace(/^.*summary: /, "");
  const code = await obcap.exited;
  if (code !== 0) throw new Error(`obcap exited ${code}:\n${obcap.log()}`);
} finally {
  await obcap.stop("SIGKILL");
  await fake.stop("SIGTERM");
  await dropBenchTable(ddb.client, table);
  rmSync(work, { recursive: true, force: true });
  await ddb.close();
}

const received = Number(/received (\d+) frames/.exec(summary)?.[1]);
const lost = Number(/lost (\d+)/.exec(summary)?.[1]);
if (!(received > 0) || lost !== 0) throw new Error(`expected frames received and 0 lost: ${summary}`);
const boundMin = KEEP_MIN + SEGMENT_AGE_MIN + SWEEP_SLACK_MIN;
const settledAfterS = boundMin * 60;
const settled = samples.filter((s) => s.atS >= settledAfterS);
const last = samples.at(-1) as Sample;
const part = (from: number, to: number) => samples.filter((s) => s.atS >= from * DURATION_S && s.atS < to * DURATION_S);
const maxOf = (xs: Sample[], key: keyof Sample) => Math.max(...xs.map((s) => s[key]));
printResult({
  bench: "longrun",
  version,
  durationS: DURATION_S,
  ratePerSec: RATE,
  pairs: BENCH_PAIRS,
  keepMin: KEEP_MIN,
  segmentAgeMin: SEGMENT_AGE_MIN,
  sampleEveryS: SAMPLE_S,
  peakRssMiB: last.hwmMiB,
  finalRssMiB: last.rssMiB,
  rssMaxFirstHalfMiB: maxOf(part(0, 0.5), "rssMiB"),
  rssMaxSecondHalfMiB: maxOf(part(0.5, 1.01), "rssMiB"),
  fdsMin: Math.min(...samples.map((s) => s.fds)),
  fdsMax: maxOf(samples, "fds"),
  fdsFinal: last.fds,
  fdKindsAtEnd,
  journalMaxMiB: maxOf(samples, "journalMiB"),
  journalMaxSettledMiB: settled.length ? maxOf(settled, "journalMiB") : Number.NaN,
  journalFinalMiB: last.journalMiB,
  oldestSegmentMaxAgeMin: maxOf(samples, "oldestSegmentAgeMin"),
  retentionBoundMin: boundMin,
  // Every 5 minutes (the sample nearest each mark): the table of the report.
  series: samples.filter((s, i) => i === 0 || i === samples.length - 1 || Math.floor(s.atS / 300) !== Math.floor((samples[i - 1] as Sample).atS / 300)),
  metrics: metrics.filter((_, i) => i % 5 === 0 || i === metrics.length - 1),
  summary,
  totalSeconds: round((performance.now() - started) / 1000),
});
