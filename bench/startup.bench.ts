/**
 * Start-up benchmark: `bun bench/startup.bench.ts` (needs dist/obcap: `make build`). Prints human
 * lines, then one JSON object of figures on the last line (for BENCHMARKS.md). About 10 seconds.
 *
 * - Binary size of dist/obcap.
 * - Time from start to first subscription: dist/obcap is spawned RUNS times in journal mode
 *   (no --table, `--journal <fresh temporary directory>`) against the fake exchange process (2 pairs, 4 channels). Measured here: from
 *   the spawn() call to the arrival of the "capturing ... subscribed in N ms" log line (process start,
 *   pair list over REST, writer Worker ready, WebSocket open, all 4 subscriptions acknowledged). The
 *   line's own N is the in-process part (from runCapture's start). Each run is then stopped with
 *   SIGINT and must exit 0; the time to exit is reported too.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, WatchedProcess, captureArgs, median, printResult, round, spawnFakeExchange } from "./harness.ts";

const RUNS = 7;
const SUBSCRIBED_RE = /capturing .* subscribed in (\d+) ms/;

const started = performance.now();
const sizeBytes = statSync(BINARY).size;
console.log(`startup bench: dist/obcap is ${sizeBytes.toLocaleString("en")} bytes (${(sizeBytes / 1024 / 1024).toFixed(1)} MiB); ${RUNS} starts`);

const fake = await spawnFakeExchange({ countPerPair: 0, ratePerSec: 0 });
// A fresh journal directory per start, so no start finds another's lock or segments.
const dir = mkdtempSync(join(tmpdir(), "obcap-bench-startup-"));
const spawnToSubscribedMs: number[] = [];
const inProcessMs: number[] = [];
const stopMs: number[] = [];
try {
  for (let i = 0; i < RUNS; i++) {
    const obcap = new WatchedProcess(BINARY, captureArgs(fake, ["--journal", join(dir, `run-${i}`)]));
    try {
      const line = await obcap.waitForLine(SUBSCRIBED_RE, 30_000);
      spawnToSubscribedMs.push(line.atMs - obcap.spawnedAtMs);
      inProcessMs.push(Number(SUBSCRIBED_RE.exec(line.text)?.[1]));
      const t0 = performance.now();
      const code = await obcap.stop("SIGINT");
      stopMs.push(performance.now() - t0);
      if (code !== 0) throw new Error(`obcap exited ${code} after SIGINT:\n${obcap.log()}`);
      console.log(
        `run ${i + 1}: spawn -> subscribed ${spawnToSubscribedMs.at(-1)!.toFixed(1)} ms (in-process ${inProcessMs.at(-1)} ms); SIGINT -> exit ${stopMs.at(-1)!.toFixed(1)} ms`,
      );
    } finally {
      await obcap.stop("SIGKILL");
    }
  }
} finally {
  await fake.stop("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}

const result = {
  bench: "startup",
  binaryBytes: sizeBytes,
  binaryMiB: round(sizeBytes / 1024 / 1024, 1),
  runs: RUNS,
  channels: 4,
  spawnToSubscribedMs: { median: round(median(spawnToSubscribedMs), 1), min: round(Math.min(...spawnToSubscribedMs), 1), max: round(Math.max(...spawnToSubscribedMs), 1), all: spawnToSubscribedMs.map((v) => round(v, 1)) },
  inProcessSubscribedMs: { median: median(inProcessMs), min: Math.min(...inProcessMs), all: inProcessMs },
  sigintToExitMs: { median: round(median(stopMs), 1), max: round(Math.max(...stopMs), 1) },
  totalSeconds: round((performance.now() - started) / 1000, 1),
};
console.log(`median spawn -> subscribed ${result.spawnToSubscribedMs.median} ms (min ${result.spawnToSubscribedMs.min} ms); in-process median ${result.inProcessSubscribedMs.median} ms`);
printResult(result);
process.exit(0);
