/**
 * Shared pieces of the end-to-end benchmarks: the fake exchange and obcap as child processes, their
 * log lines with arrival times, /proc sampling, DynamoDB Local, statistics, the result line.
 * Benchmark code (not shipped), so Bun and node APIs are fine here.
 *
 * Every benchmark prints human lines, then one JSON object on its last stdout line; bench/run.ts
 * collects those objects into BENCHMARKS.md.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { DeleteTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createDynamoClient } from "../src/store/dynamodb/client.ts";
import { createTable } from "../src/store/dynamodb/table-admin.ts";
import { startDynamoDbLocal } from "../tests/support/dynamodb-local.ts";
import { TEST_AWS_ENV } from "../tests/support/env.ts";

export const ROOT = resolve(import.meta.dir, "..");
/** The binary under test: dist/obcap (OBCAP_BENCH_BINARY overrides it, to try another build by hand). */
export const BINARY = process.env.OBCAP_BENCH_BINARY ?? resolve(ROOT, "dist/obcap");
const FAKE_EXCHANGE_MAIN = resolve(ROOT, "tests/support/fake-exchange-main.ts");

/** Two pairs, orders and trades: four channels on one connection, as a typical capture. */
export const BENCH_PAIRS = ["btcusd", "ethusd"] as const;
/** Exchange time of the first generated frame (fixed, so every run plays the same frames). */
export const FIXED_START_MS = 1_788_551_771_000;
/** bench/run.ts starts one DynamoDB Local and passes its endpoint (and pid) here; a bench run alone starts its own. */
export const DYNAMODB_ENDPOINT_ENV = "OBCAP_BENCH_DYNAMODB_ENDPOINT";
export const DYNAMODB_PID_ENV = "OBCAP_BENCH_DYNAMODB_PID";

// ---------------------------------------------------------------------------------------------
// Child processes and their log lines

export interface TimedLine {
  /** performance.now() of this process when the line arrived. */
  atMs: number;
  text: string;
}

/** A child process whose stderr (and stdout) lines are kept with their arrival times. */
export class WatchedProcess {
  readonly child: ChildProcess;
  readonly spawnedAtMs: number;
  readonly stderrLines: TimedLine[] = [];
  readonly stdoutLines: TimedLine[] = [];
  readonly exited: Promise<number>;
  readonly #listeners = new Set<() => void>();

  constructor(command: string, args: string[], env: Record<string, string> = {}) {
    this.spawnedAtMs = performance.now();
    this.child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...TEST_AWS_ENV, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    splitLines(this.child.stderr!, (text) => this.#add(this.stderrLines, text));
    splitLines(this.child.stdout!, (text) => this.#add(this.stdoutLines, text));
    this.exited = new Promise((done) => this.child.on("exit", (code, signal) => done(code ?? (signal ? 128 + signalNumber(signal) : 1))));
    void this.exited.then(() => this.#notify());
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  isRunning(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first stderr (or stdout) line matching `pattern`; rejects after `timeoutMs` or on exit. */
  waitForLine(pattern: RegExp | ((text: string) => boolean), timeoutMs: number, stream: "stderr" | "stdout" = "stderr"): Promise<TimedLine> {
    const lines = stream === "stderr" ? this.stderrLines : this.stdoutLines;
    const matches = typeof pattern === "function" ? pattern : (text: string) => pattern.test(text);
    const find = () => lines.find((line) => matches(line.text));
    const what = typeof pattern === "function" ? "the awaited line" : String(pattern);
    return new Promise((resolveLine, reject) => {
      const check = () => {
        const line = find();
        if (line) finish(() => resolveLine(line));
        else if (!this.isRunning()) finish(() => reject(new Error(`process exited before logging ${what}; log:\n${this.log()}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no line matching ${what} within ${timeoutMs} ms; log:\n${this.log()}`))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        settle();
      };
      this.#listeners.add(check);
      check();
    });
  }

  /** The last 40 stderr lines, for error messages. */
  log(): string {
    return this.stderrLines.slice(-40).map((l) => l.text).join("\n");
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). Returns the exit code. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 20_000): Promise<number> {
    if (this.isRunning()) {
      this.child.kill(signal);
      const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
      const code = await this.exited;
      clearTimeout(timer);
      return code;
    }
    return this.exited;
  }

  #add(lines: TimedLine[], text: string): void {
    lines.push({ atMs: performance.now(), text });
    this.#notify();
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}

function splitLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
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
  stream.on("end", () => {
    if (rest) onLine(rest);
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 0;
}

export interface FakeExchangeProcess extends WatchedProcess {
  wsUrl: string;
  restUrl: string;
}

export interface FakeExchangeSpec {
  countPerPair: number;
  /** Frames/s over all channels; 0 = as fast as the socket drains. */
  ratePerSec: number;
  loop?: boolean;
  pairs?: readonly string[];
}

/** Starts tests/support/fake-exchange-main.ts in its own process (no permessage-deflate, fixed seed and start). */
export async function spawnFakeExchange(spec: FakeExchangeSpec): Promise<FakeExchangeProcess> {
  const pairs = spec.pairs ?? BENCH_PAIRS;
  const args = [
    FAKE_EXCHANGE_MAIN,
    "--port", "0",
    "--pairs", pairs.join(","),
    "--count", String(spec.countPerPair),
    "--rate", String(spec.ratePerSec),
    "--seed", "1",
    "--start-ms", String(FIXED_START_MS),
    "--no-deflate",
    ...(spec.loop ? ["--loop"] : []),
  ];
  const fake = new WatchedProcess(process.execPath, args);
  const first = await fake.waitForLine(/^\{/, 30_000, "stdout");
  const { wsUrl, restUrl } = JSON.parse(first.text) as { wsUrl: string; restUrl: string };
  return Object.assign(fake, { wsUrl, restUrl });
}

/** `received N frames, written W, in flight F, queue Q KiB (high H KiB), lost L` of obcap's log. */
export interface ProgressLine {
  atMs: number;
  received: number;
  written: number;
  inFlight: number;
  queueKiB: number;
  highKiB: number;
  lost: number;
  /** `upload backlog X MiB` (journal with a table), when the line has it. */
  uploadBacklogMiB?: number;
}

export const PROGRESS_RE = /received (\d+) frames, written (\d+), in flight (\d+), queue (\d+) KiB \(high (\d+) KiB\), lost (\d+)/;

export function progressLines(lines: readonly TimedLine[]): ProgressLine[] {
  const out: ProgressLine[] = [];
  for (const line of lines) {
    const m = PROGRESS_RE.exec(line.text);
    if (!m) continue;
    const backlog = /upload backlog ([\d.]+) MiB/.exec(line.text);
    out.push({
      atMs: line.atMs,
      received: Number(m[1]),
      written: Number(m[2]),
      inFlight: Number(m[3]),
      queueKiB: Number(m[4]),
      highKiB: Number(m[5]),
      lost: Number(m[6]),
      ...(backlog ? { uploadBacklogMiB: Number(backlog[1]) } : {}),
    });
  }
  return out;
}

/** Arguments of `obcap` (capture) against a fake exchange. */
export function captureArgs(fake: FakeExchangeProcess, extra: string[]): string[] {
  return ["--pair", BENCH_PAIRS.join(","), "--ws-url", fake.wsUrl, "--rest-url", fake.restUrl, ...extra];
}

// ---------------------------------------------------------------------------------------------
// /proc

/** `VmRSS` / `VmHWM` of a process in bytes, from /proc/<pid>/status; undefined once it is gone. */
export function procStatusBytes(pid: number, field: "VmRSS" | "VmHWM"): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in seconds; undefined once it is gone. */
export function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces), closed by the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SEC;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux architecture obcap targets (the kernel fixes it for /proc). */
const CLOCK_TICKS_PER_SEC = 100;

/** The three load averages of /proc/loadavg. */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = readFileSync("/proc/loadavg", "utf8").split(" ").map(Number);
  return [a ?? NaN, b ?? NaN, c ?? NaN];
}

// ---------------------------------------------------------------------------------------------
// DynamoDB Local

export interface BenchDynamoDb {
  endpoint: string;
  /** Process id of the DynamoDB Local JVM (for its CPU time), when known. */
  pid: number | undefined;
  client: DynamoDBClient;
  /** Stops the instance if this process started it; destroys the client. */
  close(): Promise<void>;
}

/** DynamoDB Local: the one bench/run.ts started, or a new one. Sets the test credentials in process.env. */
export async function benchDynamoDb(): Promise<BenchDynamoDb> {
  Object.assign(process.env, TEST_AWS_ENV);
  const given = process.env[DYNAMODB_ENDPOINT_ENV];
  const own = given ? undefined : await startDynamoDbLocal();
  const endpoint = given ?? own!.endpoint;
  const client = createDynamoClient({ endpoint });
  const pid = own ? own.process.pid : Number(process.env[DYNAMODB_PID_ENV]) || undefined;
  return {
    endpoint,
    pid,
    client,
    async close() {
      client.destroy();
      await own?.stop();
    },
  };
}

/** How long bench/longrun.bench.ts captures: LONGRUN_SECONDS, default an hour (bench/run.ts sizes its timeout from it). */
export function longrunSeconds(): number {
  return Number(process.env.LONGRUN_SECONDS ?? 3600);
}

/** Creates an obcap table (default shards) named `<prefix>-<random>`; returns its name and shard count. */
export async function createBenchTable(client: DynamoDBClient, prefix: string): Promise<{ table: string; shards: number }> {
  const table = `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const { shards } = await createTable({ client, table, shards: 4, createdBy: "obcap bench" });
  return { table, shards };
}

/** Deletes a bench table so DynamoDB Local (in memory) does not grow from run to run. */
export async function dropBenchTable(client: DynamoDBClient, table: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// Statistics and output

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Rounds to `digits` decimals (for the JSON line). */
export function round(value: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Full GC when the runtime offers it, so one run does not pay for another's garbage. */
export function collectGarbage(): void {
  (globalThis as { Bun?: { gc(force: boolean): void } }).Bun?.gc(true);
}

export function sleepMs(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

/** Prints the bench's result object as the last stdout line. */
export function printResult(result: object): void {
  console.log(JSON.stringify(result));
}

// ---------------------------------------------------------------------------------------------
// CPU placement

/** CPU masks for taskset: DynamoDB Local alone on the second CPU, the writers on the first. */
const WRITER_CPU_MASK = "1";
const DYNAMODB_CPU_MASK = "2";

/**
 * Pins DynamoDB Local (all its threads) to one CPU and this process (with the obcap processes it
 * starts) to the other, as on AWS where DynamoDB does not share obcap's CPUs; returns the undo, or
 * the reason it cannot (one CPU, no taskset, DynamoDB Local's pid unknown).
 */
export function pinCpus(ddbPid: number | undefined): { undo(): void } | string {
  if (ddbPid === undefined) return "DynamoDB Local's process id is unknown";
  if ((navigator.hardwareConcurrency ?? 1) < 2) return "one CPU";
  const all = (pid: number) => spawnSync("taskset", ["-a", "-p", "-c", `0-${navigator.hardwareConcurrency - 1}`, String(pid)], { encoding: "utf8" });
  const pin = (mask: string, pid: number) => spawnSync("taskset", ["-a", "-p", mask, String(pid)], { encoding: "utf8" });
  const a = pin(DYNAMODB_CPU_MASK, ddbPid);
  const b = pin(WRITER_CPU_MASK, process.pid);
  if (a.status !== 0 || b.status !== 0) {
    all(ddbPid);
    all(process.pid);
    return `taskset failed: ${(a.error?.message ?? a.stderr) || (b.error?.message ?? b.stderr)}`.trim();
  }
  return {
    undo() {
      all(ddbPid);
      all(process.pid);
    },
  };
}
