/**
 * `make bench` (`bun bench/run.ts`): runs every benchmark once, one after the other, on this machine,
 * and writes BENCHMARKS.md at the project root from what they measured (bench/report.ts renders it).
 *
 * Each benchmark is its own process (a clean heap, no JIT state shared): it prints human lines, which
 * are echoed here with its name, and one JSON object of figures on its last line. One DynamoDB Local
 * is started here for the two benchmarks that need it (its endpoint and pid are passed in the
 * environment). A benchmark that fails or times out is recorded as failed in BENCHMARKS.md, the rest
 * still run, and the exit code is 1.
 *
 * `--all` also runs every other bench/*.bench.ts (each takes minutes: not part of `make bench`); their
 * sections in BENCHMARKS.md show their own output lines and figures.
 *
 * `--only NAME[,NAME]` runs just those and rewrites their blocks of BENCHMARKS.md (bench/sections.ts:
 * `release`, and `longrun`, which lasts an hour and is never part of `--all`: `make bench-long`).
 *
 * Needs dist/obcap (`make bench` builds it first) and java (DynamoDB Local).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { resolve } from "node:path";
import { startDynamoDbLocal } from "../tests/support/dynamodb-local.ts";
import { BINARY, DYNAMODB_ENDPOINT_ENV, DYNAMODB_PID_ENV, ROOT, loadAverage, longrunSeconds, round } from "./harness.ts";
import { renderReport, type BenchOutcome, type MachineInfo } from "./report.ts";
import { SECTION_BENCHES as SECTION_NAMES, SEPARATE_ONLY, markedBlocks, renderSection, spliceBlocks } from "./sections.ts";

interface BenchSpec {
  name: string;
  file: string;
  timeoutMs: number;
}

/** The figures of the issue, in run order; the bounds are generous (a noisy machine), the whole run is ~4 minutes. */
const BENCHES: BenchSpec[] = [
  { name: "ring", file: "bench/ring.bench.ts", timeoutMs: 120_000 },
  { name: "decode", file: "bench/decode.bench.ts", timeoutMs: 180_000 },
  { name: "receive", file: "bench/receive.bench.ts", timeoutMs: 180_000 },
  { name: "pipeline", file: "bench/pipeline.bench.ts", timeoutMs: 300_000 },
  { name: "rss", file: "bench/rss.bench.ts", timeoutMs: 180_000 },
  { name: "startup", file: "bench/startup.bench.ts", timeoutMs: 120_000 },
  { name: "book", file: "bench/book.bench.ts", timeoutMs: 180_000 },
];
/** Other benchmarks found in bench/ run only with `--all` (they take minutes each); their sections show their own output. */
const EXTRA_TIMEOUT_MS = 900_000;
const OUTPUT = resolve(ROOT, "BENCHMARKS.md");
const COMMAND = "make bench";

function firstLine(text: string): string {
  return text.split("\n").find((l) => l.trim() !== "")?.trim() ?? "";
}

function machineInfo(): Omit<MachineInfo, "loadAtEnd" | "totalSeconds"> {
  const nproc = spawnSync("nproc", { encoding: "utf8" }).stdout?.trim() || String(navigator.hardwareConcurrency);
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown";
  const memKiB = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1]);
  const java = spawnSync("java", ["-version"], { encoding: "utf8" });
  const simulator = JSON.parse(readFileSync(resolve(ROOT, "node_modules/amplify-dynamodb-simulator/package.json"), "utf8")) as { version: string };
  return {
    nproc,
    cpuModel,
    ramGiB: round(memKiB / 1024 / 1024, 1),
    kernel: release(),
    bun: `${Bun.version} (${Bun.revision.slice(0, 9)})`,
    java: firstLine(java.stderr ?? "") || "not found",
    dynamoDbLocal: `amplify-dynamodb-simulator ${simulator.version} jar, -inMemory -sharedDb`,
    date: new Date().toISOString(),
    command: process.argv.includes("--all") ? "`bun bench/run.ts --all`" : `\`${COMMAND}\` (runs \`bun bench/run.ts\`)`,
    loadAtStart: loadAverage(),
  };
}

/** Runs one benchmark process; echoes its output; resolves with its last-line JSON or the failure. */
function runBench(bench: BenchSpec, env: Record<string, string>): Promise<BenchOutcome> {
  const loadBefore = loadAverage();
  const t0 = performance.now();
  // Its own process group, so a timeout also ends the processes it started (fake exchange, obcap).
  const child = spawn(process.execPath, [bench.file], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let lastLine = "";
  const humanLines: string[] = [];
  let stderrTail = "";
  const echo = (stream: NodeJS.ReadableStream, onLine: (line: string) => void) => {
    let rest = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      rest += chunk;
      let nl: number;
      while ((nl = rest.indexOf("\n")) !== -1) {
        onLine(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
      }
    });
    stream.on("end", () => rest && onLine(rest));
  };
  echo(child.stdout!, (line) => {
    if (!line.trim()) return;
    if (lastLine) humanLines.push(lastLine);
    lastLine = line;
    console.log(`[${bench.name}] ${line.length > 400 ? `${line.slice(0, 400)}...` : line}`);
  });
  echo(child.stderr!, (line) => {
    stderrTail = `${stderrTail}\n${line}`.slice(-2000);
    console.error(`[${bench.name}] ${line}`);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      child.kill("SIGKILL");
    }
  }, bench.timeoutMs);
  return new Promise((done) => {
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      const seconds = round((performance.now() - t0) / 1000, 1);
      const base = { name: bench.name, file: bench.file, seconds, loadBefore, humanLines };
      if (timedOut) return done({ ...base, ok: false, error: `timed out after ${bench.timeoutMs / 1000} s${stderrTail}` });
      if (code !== 0) return done({ ...base, ok: false, error: `exited ${code ?? signal}${stderrTail}` });
      try {
        const figures = JSON.parse(lastLine) as Record<string, unknown>;
        done({ ...base, ok: true, figures });
      } catch {
        done({ ...base, ok: false, error: `its last line is not JSON: ${lastLine.slice(0, 200)}` });
      }
    });
  });
}

const runAll = process.argv.includes("--all");
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt === -1 ? undefined : (process.argv[onlyAt + 1] ?? "").split(",").filter(Boolean);
const coreFiles = new Set(BENCHES.map((b) => b.file));
/** The long run's own timeout: its hour, the stop, and DynamoDB Local's start. */
const LONG_TIMEOUT_MS = longrunSeconds() * 1000 + 600_000;
const allExtras: BenchSpec[] = readdirSync(resolve(ROOT, "bench"))
  .filter((f) => f.endsWith(".bench.ts") && !coreFiles.has(`bench/${f}`))
  .sort()
  .map((f) => {
    const name = f.replace(/\.bench\.ts$/, "");
    return { name, file: `bench/${f}`, timeoutMs: SEPARATE_ONLY.has(name) ? LONG_TIMEOUT_MS : EXTRA_TIMEOUT_MS };
  });
const extras = allExtras.filter((b) => !SEPARATE_ONLY.has(b.name));
// Only the benchmarks with a block of their own can be measured alone: the rest of the file is one run's.
const chosen = only?.map((name) => {
  const bench = allExtras.find((b) => b.name === name);
  if (!bench || !(SECTION_NAMES as readonly string[]).includes(name)) {
    console.error(`--only ${name}: only ${SECTION_NAMES.join(", ")} have a block of their own in BENCHMARKS.md; the others run with 'make bench'`);
    process.exit(2);
  }
  return bench;
});

// --only rewrites blocks of an existing file: say so before an hour of measuring, not after.
if (chosen && !existsSync(OUTPUT)) {
  console.error(`${OUTPUT} does not exist: run 'make bench' first, then --only`);
  process.exit(1);
}
if (!existsSync(BINARY)) {
  console.error(`dist/obcap not found: run 'make bench' (it builds the binary) or 'make build' first`);
  process.exit(1);
}
const started = performance.now();
const machine = machineInfo();
console.log(`obcap benchmarks: ${machine.nproc} CPUs (${machine.cpuModel}), ${machine.ramGiB} GiB, Bun ${machine.bun}; load ${machine.loadAtStart.join(" ")}`);

const ddb = await startDynamoDbLocal();
const stopDdb = () => ddb.process.kill("SIGKILL");
process.on("exit", stopDdb);
const env = { [DYNAMODB_ENDPOINT_ENV]: ddb.endpoint, [DYNAMODB_PID_ENV]: String(ddb.process.pid) };
console.log(`DynamoDB Local at ${ddb.endpoint}`);

const outcomes: BenchOutcome[] = [];
try {
  for (const bench of chosen ?? (runAll ? [...BENCHES, ...extras] : BENCHES)) {
    console.log(`--- ${bench.name}: ${bench.file}`);
    const outcome = await runBench(bench, env);
    outcomes.push(outcome);
    console.log(`--- ${bench.name}: ${outcome.ok ? "done" : `FAILED (${firstLine(outcome.error ?? "")})`} in ${outcome.seconds} s`);
  }
} finally {
  await ddb.stop();
  process.off("exit", stopDdb);
}

const totalSeconds = round((performance.now() - started) / 1000, 1);
const previous = existsSync(OUTPUT) ? readFileSync(OUTPUT, "utf8") : "";
const context = { ...machine, command: chosen ? `bun bench/run.ts --only ${only?.join(",")}` : machine.command };
const blocks = markedBlocks(previous);
for (const o of outcomes) if ((SECTION_NAMES as readonly string[]).includes(o.name)) blocks.set(o.name, renderSection(o, context));
if (chosen) {
  writeFileSync(OUTPUT, spliceBlocks(previous, blocks));
} else {
  const notRun = runAll ? allExtras.filter((b) => SEPARATE_ONLY.has(b.name)).map((b) => b.file) : extras.map((b) => b.file);
  const report = renderReport({ ...machine, loadAtEnd: loadAverage(), totalSeconds }, outcomes.filter((o) => !blocks.has(o.name)), notRun);
  writeFileSync(OUTPUT, spliceBlocks(report, blocks));
}
const failed = outcomes.filter((o) => !o.ok).map((o) => o.name);
console.log(`wrote ${OUTPUT} in ${totalSeconds} s${failed.length ? `; FAILED: ${failed.join(", ")}` : ""}`);
process.exit(failed.length ? 1 : 0);
