/**
 * Release build flags: `bun bench/run.ts --only release` (also part of `--all`). Prints human lines,
 * then one JSON object of figures on the last line. About a minute.
 *
 * Builds obcap for linux-x64 with scripts/build-binary.ts in each combination of `--minify`,
 * `--bytecode` and `--sourcemap` that matters, into a temporary directory, and measures for each:
 * - the binary's size (and the .map files bun writes beside it, which the binary does not need);
 * - `--version`: spawn to exit (the runtime's start and the CLI's module loading), median of RUNS;
 * - spawn to the "capturing ... subscribed" line against the fake exchange (journal only, 2 pairs,
 *   4 channels: the pipeline Worker's start included), median of RUNS, and VmHWM right then.
 * The variants run alternately within each round, so drift of the machine spreads over all of them.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBinary, gitCommit } from "../scripts/build-binary.ts";
import { WatchedProcess, captureArgs, median, printResult, procStatusBytes, round, spawnFakeExchange } from "./harness.ts";

const RUNS = 9;
const VARIANTS = [
  { name: "plain", flags: "(none)", minify: false, bytecode: false, sourcemap: false },
  { name: "minify", flags: "--minify", minify: true, bytecode: false, sourcemap: false },
  { name: "minify-sourcemap", flags: "--minify --sourcemap", minify: true, bytecode: false, sourcemap: true },
  { name: "minify-bytecode", flags: "--minify --bytecode", minify: true, bytecode: true, sourcemap: false },
  { name: "release", flags: "--minify --bytecode --sourcemap", minify: true, bytecode: true, sourcemap: true },
] as const;
/** What `make release` builds (scripts/release.ts: buildBinary's defaults). */
const CHOSEN = "release";

const started = performance.now();
const dir = mkdtempSync(join(tmpdir(), "obcap-bench-release-"));
const commit = gitCommit();
const built = VARIANTS.map((v) => {
  const sub = join(dir, v.name);
  const outfile = join(sub, "obcap");
  const t0 = performance.now();
  const bytes = buildBinary({ outfile, target: "linux-x64", minify: v.minify, bytecode: v.bytecode, sourcemap: v.sourcemap }, commit);
  const buildSeconds = (performance.now() - t0) / 1000;
  const sideBytes = readdirSync(sub).filter((f) => f !== "obcap").reduce((sum, f) => sum + statSync(join(sub, f)).size, 0);
  console.log(`${v.flags}: ${(bytes / 1048576).toFixed(1)} MiB (+ ${(sideBytes / 1024).toFixed(0)} KiB of .map files beside it), built in ${buildSeconds.toFixed(1)} s`);
  return { ...v, outfile, bytes, sideBytes, buildSeconds, versionMs: [] as number[], subscribedMs: [] as number[], hwmMiB: [] as number[] };
});

const fake = await spawnFakeExchange({ countPerPair: 0, ratePerSec: 0 });
try {
  for (let round = 0; round < RUNS; round++) {
    for (const b of built) {
      const t0 = performance.now();
      const run = spawnSync(b.outfile, ["--version"], { encoding: "utf8" });
      b.versionMs.push(performance.now() - t0);
      if (run.status !== 0 || !run.stdout.startsWith("obcap ")) throw new Error(`${b.flags}: --version failed: ${run.stderr}`);
      const obcap = new WatchedProcess(b.outfile, captureArgs(fake, ["--journal", join(dir, `${b.name}-journal-${round}`)]));
      try {
        const line = await obcap.waitForLine(/capturing .* subscribed in/, 30_000);
        b.subscribedMs.push(line.atMs - obcap.spawnedAtMs);
        b.hwmMiB.push((procStatusBytes(obcap.pid, "VmHWM") ?? Number.NaN) / 1048576);
        const code = await obcap.stop("SIGINT");
        if (code !== 0) throw new Error(`${b.flags}: exited ${code} after SIGINT:\n${obcap.log()}`);
      } finally {
        await obcap.stop("SIGKILL");
      }
    }
  }
} finally {
  await fake.stop("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}

for (const b of built) {
  console.log(`${b.flags}: --version ${median(b.versionMs).toFixed(1)} ms, spawn to subscribed ${median(b.subscribedMs).toFixed(1)} ms, VmHWM then ${median(b.hwmMiB).toFixed(1)} MiB`);
}
const runtime = spawnSync(process.execPath, ["--version"], { encoding: "utf8" }).stdout.trim();
printResult({
  bench: "release",
  bun: runtime,
  target: "linux-x64",
  runs: RUNS,
  chosen: CHOSEN,
  variants: built.map((b) => ({
    name: b.name,
    flags: b.flags,
    bytes: b.bytes,
    sideBytes: b.sideBytes,
    buildSeconds: round(b.buildSeconds, 1),
    versionMs: round(median(b.versionMs), 1),
    subscribedMs: round(median(b.subscribedMs), 1),
    hwmMiB: round(median(b.hwmMiB), 1),
  })),
  totalSeconds: round((performance.now() - started) / 1000),
});
