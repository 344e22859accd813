/** Lock first, then the metrics endpoint; both undone by stop(), and by a failure half way. */
import { describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isLoopback, startLockAndMetrics } from "../../../src/capture/lock-and-metrics.ts";
import type { ListenHttp, ListenHttpOptions } from "../../../src/runtime/ports.ts";
import { acquireJournalLock, LOCK_FILE_NAME, parseHolder } from "../../../src/journal/lock.ts";
import { bunFileLock as fileLock } from "../../../src/runtime/bun/file-lock.ts";
import { isObcapError } from "../../../src/base/errors.ts";
import { emptyPipelineStats } from "../../../src/pipeline/pipeline-stats.ts";
import { parsePrometheusText, sampleValue } from "../../../src/metrics/parse.ts";
import { testTempDir } from "../../support/temp-dirs.ts";

const clock = () => 1_764_000_000_000_000;

/** The journal lock's record: `releasedAt` once released. */
function lockRecord(dir: string) {
  return parseHolder(readFileSync(join(dir, LOCK_FILE_NAME), "utf8"));
}

/** Whether another open file could take the kernel lock now (takes and releases it). */
function lockIsFree(dir: string): boolean {
  const probe = acquireJournalLock(dir, fileLock, { pid: process.pid + 1, releaseOnExit: false, holderWaitMs: 0 });
  if (probe.kind === "acquired") probe.release();
  return probe.kind === "acquired";
}

/** A listener that records what it was asked to serve. */
function fakeListen() {
  const served: ListenHttpOptions[] = [];
  let closed = 0;
  const listenHttp: ListenHttp = (options) => {
    served.push(options);
    return { port: options.port, url: `http://${options.hostname}:${options.port}`, close: async () => void closed++ };
  };
  return { listenHttp, served, closed: () => closed };
}

describe("startLockAndMetrics", () => {
  test("without a journal directory there is no lock, and without metrics no listener", async () => {
    const listen = fakeListen();
    const ops = startLockAndMetrics({}, { clock, listenHttp: listen.listenHttp });
    expect(ops.kind).toBe("running");
    expect(listen.served).toEqual([]);
    if (ops.kind === "running") await ops.stop();
  });

  test("holds the journal lock until stop()", async () => {
    const dir = testTempDir("ops");
    const ops = startLockAndMetrics({ journalDir: dir }, { clock, fileLock });
    expect(lockRecord(dir)).toMatchObject({ pid: process.pid });
    expect(lockIsFree(dir)).toBe(false);
    if (ops.kind === "running") await ops.stop();
    expect(lockRecord(dir)?.releasedAt).toBeString();
    expect(lockIsFree(dir)).toBe(true);
  });

  test("a journal directory without a file lock in the runtime is E_LOCK_FAILED (exit 3)", () => {
    const dir = testTempDir("ops");
    let error: unknown;
    try {
      startLockAndMetrics({ journalDir: dir }, { clock });
    } catch (err) {
      error = err;
    }
    expect(isObcapError(error) && error.code).toBe("E_LOCK_FAILED");
    expect(isObcapError(error) && error.exitCode).toBe(3);
  });

  test("a held lock starts nothing: no listener, and names the holder", async () => {
    const dir = testTempDir("ops");
    // The holder must be a live process other than this one: a child that sleeps until killed.
    const child = spawn("sleep", ["60"], { stdio: "ignore" });
    const exited = new Promise((done) => child.on("exit", done));
    try {
      const holder = acquireJournalLock(dir, fileLock, { pid: child.pid!, releaseOnExit: false });
      expect(holder.kind).toBe("acquired");
      const listen = fakeListen();
      const ops = startLockAndMetrics({ journalDir: dir, metrics: { host: "127.0.0.1", port: 9464 } }, { clock, fileLock, listenHttp: listen.listenHttp });
      expect(ops.kind).toBe("lock-held");
      if (ops.kind === "lock-held") {
        expect(ops.dir).toBe(dir);
        expect(ops.heldBy.pid).toBe(child.pid!);
      }
      expect(listen.served).toEqual([]);
      if (holder.kind === "acquired") holder.release();
    } finally {
      child.kill();
      await exited;
    }
  });

  test("a port that cannot be bound is E_METRICS_LISTEN (exit 3) and the lock is released", () => {
    const dir = testTempDir("ops");
    const listenHttp: ListenHttp = () => {
      throw Object.assign(new Error("Failed to start server. Is port 9464 in use?"), { code: "EADDRINUSE" });
    };
    let error: unknown;
    try {
      startLockAndMetrics({ journalDir: dir, metrics: { host: "127.0.0.1", port: 9464 } }, { clock, fileLock, listenHttp });
    } catch (err) {
      error = err;
    }
    expect(isObcapError(error) && error.code).toBe("E_METRICS_LISTEN");
    expect(isObcapError(error) && error.exitCode).toBe(3);
    expect(String((error as Error).message)).toContain("cannot serve metrics on 127.0.0.1:9464");
    expect(lockRecord(dir)?.releasedAt).toBeString();
    expect(lockIsFree(dir)).toBe(true);
  });

  test("serves the probe's snapshot: base figures at first, the session's once attached", async () => {
    const listen = fakeListen();
    const ops = startLockAndMetrics({ metrics: { host: "127.0.0.1", port: 9464 } }, { clock, listenHttp: listen.listenHttp });
    if (ops.kind !== "running") throw new Error("expected running");
    expect(ops.metricsUrl).toBe("http://127.0.0.1:9464/metrics");
    const scrape = async () => parsePrometheusText(await (await listen.served[0]!.fetch(new Request("http://127.0.0.1:9464/metrics"))).text());
    const before = await scrape();
    expect(sampleValue(before, "obcap_up")).toBe(1);
    expect(before.has("obcap_events_written_total")).toBe(false);
    ops.probe.attach(() => ({ receivedFrames: 5, writer: { ...emptyPipelineStats(), written: 4 } }));
    const after = await scrape();
    expect(sampleValue(after, "obcap_receiver_frames_total")).toBe(5);
    expect(sampleValue(after, "obcap_events_written_total")).toBe(4);
    await ops.stop();
    expect(listen.closed()).toBe(1);
  });
});

describe("isLoopback", () => {
  test("knows the loopback addresses and nothing else", () => {
    expect(["127.0.0.1", "127.1.2.3", "::1", "localhost"].map(isLoopback)).toEqual([true, true, true, true]);
    expect(["0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "example.com"].map(isLoopback)).toEqual([false, false, false, false, false]);
  });
});
