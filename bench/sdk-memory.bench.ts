/**
 * What the AWS SDK's request path costs in memory: `bun bench/sdk-memory.bench.ts` (about 2 minutes;
 * runs with `make bench`'s `--all`). bench/sdk-memory-probe.ts is compiled like dist/obcap
 * (--compile --minify --bytecode) and writes 5,000 items/s into DynamoDB Local for DURATION_S
 * seconds, through the SDK and through a bare fetch, twice each, alternating. The difference is what
 * a lighter request path could save obcap's upload stage (BENCHMARKS.md, section 4).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, benchDynamoDb, createBenchTable, dropBenchTable, median, printResult } from "./harness.ts";

const DURATION_S = 20;
const dir = mkdtempSync(join(tmpdir(), "obcap-bench-sdk-"));
const probe = join(dir, "probe");
const built = spawnSync(join(ROOT, "node_modules/.bin/bun"), ["build", "--compile", "--minify", "--bytecode", "--format=esm", "bench/sdk-memory-probe.ts", "--outfile", probe], { cwd: ROOT, encoding: "utf8" });
if (built.status !== 0) throw new Error(`cannot build the probe: ${built.stderr}`);
const ddb = await benchDynamoDb();
try {
  const runs: Array<{ mode: string; written: number; peakMiB: number; endMiB: number }> = [];
  for (const mode of ["sdk", "fetch", "sdk", "fetch"]) {
    const { table } = await createBenchTable(ddb.client, "bench-sdk");
    const run = spawnSync(probe, [ddb.endpoint, table, mode, String(DURATION_S)], { encoding: "utf8", env: process.env });
    await dropBenchTable(ddb.client, table);
    if (run.status !== 0) throw new Error(`probe ${mode} failed: ${run.stderr}`);
    const result = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
    runs.push(result);
    console.log(`${mode.padEnd(5)}: ${result.written} items in ${DURATION_S} s, RSS peak ${result.peakMiB} MiB, at the end ${result.endMiB} MiB`);
  }
  const of = (mode: string, key: "peakMiB" | "endMiB") => median(runs.filter((r) => r.mode === mode).map((r) => r[key]));
  printResult({
    bench: "sdk-memory",
    durationSeconds: DURATION_S,
    itemsPerSec: 5000,
    runs,
    sdkPeakMiB: of("sdk", "peakMiB"),
    fetchPeakMiB: of("fetch", "peakMiB"),
    sdkEndMiB: of("sdk", "endMiB"),
    fetchEndMiB: of("fetch", "endMiB"),
  });
} finally {
  await ddb.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
