/**
 * Memory benchmark: `bun bench/rss.bench.ts` (needs dist/obcap: `make build`). Prints human lines,
 * then one JSON object of figures on the last line (for BENCHMARKS.md). About 100 seconds.
 *
 * The compiled binary captures a steady feed of RATE frames/s (the fake exchange process, 2 pairs,
 * `--rate RATE --loop`) for DURATION_S seconds, with its default settings (16 MiB ring, 16 MiB
 * overflow, journal in a fresh temporary directory), in two modes: (i) into DynamoDB Local (journal +
 * upload), (ii) journal lines to files only (no --table: the journal is the output), (iii) --no-journal
 * into DynamoDB Local; then (ii) again with `--queue-mb 1`, to show what the default ring adds once
 * the feed has touched all of it, and an idle run (1 frame/s, journal only) as the floor. VmRSS at
 * the end is split into anonymous, file-backed and shared pages (/proc/<pid>/status).
 * VmRSS is read from /proc/<pid>/status every SAMPLE_MS from the "capturing" line on; VmHWM (the
 * kernel's peak RSS of the process) is read at the end, before the stop signal.
 * Peak = VmHWM; steady = median VmRSS over the last third of the window. The rates obcap sustained
 * (received/s, written/s) come from its progress lines over the window.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BINARY, WatchedProcess, benchDynamoDb, captureArgs, createBenchTable, dropBenchTable, median, printResult,
  procStatusBytes, progressLines, round, sleepMs, spawnFakeExchange, type BenchDynamoDb, type ProgressLine,
} from "./harness.ts";

const RATE = 5_000;
const DURATION_S = 30;
const SAMPLE_MS = 250;
const MIB = 1024 * 1024;
const TARGET_RSS_MIB = 96;
const TRACE_EVERY_S = 5;

type Mode = "idle" | "journal" | "dynamodb" | "direct" | "journalSmallRing";

/**
 * Extra flags per mode. `idle`: the same process with a feed of 1 frame/s (the runtime, the code, the
 * Worker: the floor). `direct`: --no-journal into DynamoDB Local. `journalSmallRing` shows what the
 * default ring adds once its pages are touched. Differences between modes give the breakdown.
 */
const MODE_FLAGS: Record<Mode, string[]> = { idle: [], journal: [], dynamodb: [], direct: ["--no-journal"], journalSmallRing: ["--queue-mb", "1"] };
const MODE_RATE: Record<Mode, number> = { idle: 1, journal: RATE, dynamodb: RATE, direct: RATE, journalSmallRing: RATE };
/** Modes that write to DynamoDB Local. */
const WITH_TABLE: ReadonlySet<Mode> = new Set(["dynamodb", "direct"]);

interface RssRun {
  mode: Mode;
  peakMiB: number;
  steadyMiB: number;
  maxSampledMiB: number;
  firstSampleMiB: number;
  /** VmRSS every TRACE_EVERY_S seconds of the window, to show whether it levels off. */
  traceMiB: number[];
  samples: number;
  receivedPerSec: number;
  writtenPerSec: number;
  /** Backlog in the ring at the end (KiB) and its high-water mark: a writer that keeps up leaves ~0. */
  queueKiBAtEnd: number;
  ringHighKiB: number;
  /** Journal bytes not yet in DynamoDB at the end of the window (with a table), MiB. */
  uploadBacklogMiBAtEnd: number | undefined;
  lost: number;
  journalBytes?: number;
  /** /proc/<pid>/status at the end of the window: anonymous memory (heaps, buffers), file pages (the binary), shared (the ring). */
  endMiB: { rss: number; anon: number; file: number; shmem: number };
  summary: string;
}

/** VmRSS split as the kernel counts it (/proc/<pid>/status), MiB. */
function rssParts(pid: number): { rss: number; anon: number; file: number; shmem: number } {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) / 1024;
  return { rss: round(field("VmRSS"), 1), anon: round(field("RssAnon"), 1), file: round(field("RssFile"), 1), shmem: round(field("RssShmem"), 1) };
}

/** Rate of a counter between the first and last progress line (the first one comes 1 s in). */
function rateOf(lines: readonly ProgressLine[], pick: (l: ProgressLine) => number): number {
  if (lines.length < 2) return NaN;
  const a = lines[0] as ProgressLine;
  const b = lines.at(-1) as ProgressLine;
  return ((pick(b) - pick(a)) * 1000) / (b.atMs - a.atMs);
}

/** Bytes of the files under `dir` (the journal the run wrote). */
function dirBytes(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce((sum, entry) => sum + statSync(join(entry.parentPath, entry.name)).size, 0);
}

async function rssRun(mode: Mode, ddb: BenchDynamoDb | undefined): Promise<RssRun> {
  const dir = mkdtempSync(join(tmpdir(), "obcap-bench-rss-"));
  const table = WITH_TABLE.has(mode) ? (await createBenchTable(ddb!.client, "bench-rss")).table : undefined;
  const fake = await spawnFakeExchange({ countPerPair: 0, ratePerSec: MODE_RATE[mode], loop: true });
  const target = [...(table ? ["--table", table, "--endpoint", ddb!.endpoint] : []), ...(mode === "direct" ? [] : ["--journal", dir])];
  const obcap = new WatchedProcess(BINARY, captureArgs(fake, [...target, ...MODE_FLAGS[mode], "--progress-s", "1"]));
  try {
    const capturing = await obcap.waitForLine(/capturing .* subscribed in/, 30_000);
    const rssSamples: number[] = [];
    const endMs = capturing.atMs + DURATION_S * 1000;
    while (performance.now() < endMs) {
      const rss = procStatusBytes(obcap.pid, "VmRSS");
      if (rss === undefined) throw new Error(`obcap exited during the run:\n${obcap.log()}`);
      rssSamples.push(rss);
      await sleepMs(SAMPLE_MS);
    }
    const hwm = procStatusBytes(obcap.pid, "VmHWM") ?? NaN;
    const endMiB = rssParts(obcap.pid);
    const lines = progressLines(obcap.stderrLines).filter((l) => l.atMs <= endMs);
    const exitCode = await obcap.stop("SIGINT");
    if (exitCode !== 0) throw new Error(`obcap exited ${exitCode}:\n${obcap.log()}`);
    const last = lines.at(-1);
    const summary = obcap.stderrLines.find((l) => l.text.includes("summary:"))?.text.replace(/^.*summary: /, "") ?? "(no summary line)";
    const steadyFrom = Math.floor((rssSamples.length * 2) / 3);
    return {
      mode,
      peakMiB: Math.max(hwm, ...rssSamples) / MIB,
      steadyMiB: median(rssSamples.slice(steadyFrom)) / MIB,
      maxSampledMiB: Math.max(...rssSamples) / MIB,
      firstSampleMiB: (rssSamples[0] ?? NaN) / MIB,
      traceMiB: rssSamples.filter((_, i) => i % ((TRACE_EVERY_S * 1000) / SAMPLE_MS) === 0 || i === rssSamples.length - 1).map((b) => round(b / MIB, 1)),
      samples: rssSamples.length,
      receivedPerSec: rateOf(lines, (l) => l.received),
      writtenPerSec: rateOf(lines, (l) => l.written),
      queueKiBAtEnd: last?.queueKiB ?? NaN,
      ringHighKiB: last?.highKiB ?? NaN,
      uploadBacklogMiBAtEnd: last?.uploadBacklogMiB,
      lost: last?.lost ?? NaN,
      journalBytes: dirBytes(dir),
      endMiB,
      summary,
    };
  } finally {
    await obcap.stop("SIGKILL");
    await fake.stop("SIGTERM");
    if (table) await dropBenchTable(ddb!.client, table);
    rmSync(dir, { recursive: true, force: true });
  }
}

const started = performance.now();
const ddb = await benchDynamoDb();
try {
  console.log(`rss bench: dist/obcap at ${RATE} frames/s for ${DURATION_S} s per mode, VmRSS every ${SAMPLE_MS} ms`);
  const runs: RssRun[] = [];
  for (const mode of ["idle", "journal", "dynamodb", "direct", "journalSmallRing"] as const) {
    const run = await rssRun(mode, ddb);
    runs.push(run);
    console.log(
      `${mode.padEnd(16)}: peak (VmHWM) ${run.peakMiB.toFixed(1)} MiB, steady ${run.steadyMiB.toFixed(1)} MiB (first sample ${run.firstSampleMiB.toFixed(1)} MiB); ` +
        `every ${TRACE_EVERY_S} s: ${run.traceMiB.join(", ")} MiB; received ${Math.round(run.receivedPerSec)}/s, written ${Math.round(run.writtenPerSec)}/s; queue at end ${run.queueKiBAtEnd} KiB (high ${run.ringHighKiB} KiB)` +
        `${run.uploadBacklogMiBAtEnd === undefined ? "" : `, upload backlog ${run.uploadBacklogMiBAtEnd} MiB`}; lost ${run.lost}; ` +
        `at the end anon ${run.endMiB.anon} / file ${run.endMiB.file} / shmem ${run.endMiB.shmem} MiB`,
    );
  }
  const byMode = Object.fromEntries(
    runs.map((r) => [
      r.mode,
      {
        peakMiB: round(r.peakMiB, 1),
        steadyMiB: round(r.steadyMiB, 1),
        maxSampledMiB: round(r.maxSampledMiB, 1),
        firstSampleMiB: round(r.firstSampleMiB, 1),
        traceMiB: r.traceMiB,
        samples: r.samples,
        receivedPerSec: Math.round(r.receivedPerSec),
        writtenPerSec: Math.round(r.writtenPerSec),
        queueKiBAtEnd: r.queueKiBAtEnd,
        ringHighKiB: r.ringHighKiB,
        uploadBacklogMiBAtEnd: r.uploadBacklogMiBAtEnd,
        lost: r.lost,
        journalBytes: r.journalBytes,
        endMiB: r.endMiB,
        summary: r.summary,
      },
    ]),
  );
  printResult({
    bench: "rss",
    ratePerSec: RATE,
    durationSeconds: DURATION_S,
    sampleMs: SAMPLE_MS,
    traceEverySeconds: TRACE_EVERY_S,
    targetRssMiB: TARGET_RSS_MIB,
    ...byMode,
    totalSeconds: round((performance.now() - started) / 1000, 1),
  });
} finally {
  await ddb.close();
}
process.exit(0);
