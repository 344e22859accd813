/**
 * The journal directory lock (flock on DIR/obcap.lock): one holder, newcomers leave without writing,
 * the kernel frees the lock of a dead holder (no staleness judged, whatever host name the file
 * names), and any number of racing newcomers never both hold it.
 */
import type { FileLock } from "../../../src/runtime/ports.ts";
import { describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, constants, lstatSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import {
  acquireJournalLock, describeHolder, LOCK_FILE_NAME, parseHolder, UNKNOWN_HOLDER, type JournalLock, type LockHeld, type LockHolder,
} from "../../../src/journal/lock.ts";
import { bunFileLock } from "../../../src/runtime/bun/file-lock.ts";
import { isObcapError, type ObcapError } from "../../../src/base/errors.ts";
import { testTempDir } from "../../support/temp-dirs.ts";

const RACER = join(import.meta.dir, "../../support/lock-racer.ts");

function tempDir(): string {
  return testTempDir("lock");
}

/** A pid that just ended (spawnSync waits for the child). */
function deadPid(): number {
  return spawnSync("true").pid!;
}

function acquire(dir: string, options: Parameters<typeof acquireJournalLock>[2] = {}): JournalLock | LockHeld {
  return acquireJournalLock(dir, bunFileLock, { releaseOnExit: false, ...options });
}

function acquired(result: JournalLock | LockHeld): JournalLock {
  if (result.kind !== "acquired") throw new Error(`expected to acquire, but held by ${describeHolder(result.heldBy)}`);
  return result;
}

function held(result: JournalLock | LockHeld): LockHeld {
  if (result.kind !== "held") throw new Error("expected the lock to be held by another process");
  return result;
}

function writeLock(dir: string, holder: Partial<LockHolder>): void {
  writeFileSync(join(dir, LOCK_FILE_NAME), JSON.stringify({ host: hostname(), startedAt: "2026-01-01T00:00:00.000Z", version: "0.0.1", ...holder }));
}

function lockContent(dir: string): LockHolder {
  return parseHolder(readFileSync(join(dir, LOCK_FILE_NAME), "utf8"))!;
}

/** Holds the kernel lock of DIR/obcap.lock through a file of our own, as another holder would. */
function holdKernelLock(dir: string): { release(): void } {
  const fd = openSync(join(dir, LOCK_FILE_NAME), constants.O_RDWR | constants.O_CREAT, 0o644);
  expect(bunFileLock.tryLockExclusive(fd)).toBe(true);
  return { release: () => closeSync(fd) };
}

function lockError(run: () => unknown): ObcapError {
  try {
    run();
  } catch (err) {
    if (isObcapError(err)) return err;
    throw err;
  }
  throw new Error("expected an error");
}

/** Names, inodes, sizes and mtimes of a directory and its files. */
function listing(dir: string): string[] {
  return [`. ${statSync(dir).mtimeMs}`, ...readdirSync(dir).sort().map((name) => {
    const st = lstatSync(join(dir, name));
    return `${name} ${st.ino} ${st.size} ${st.mtimeMs}`;
  })];
}

describe("acquiring", () => {
  test("creates the directory and a lock file naming this process", () => {
    const dir = join(tempDir(), "journal");
    const lock = acquired(acquire(dir));
    expect(lock.path).toBe(join(dir, LOCK_FILE_NAME));
    expect(lock.tookOver).toBeUndefined();
    const content = lockContent(dir);
    expect(content.pid).toBe(process.pid);
    expect(content.host).toBe(hostname());
    expect(Number.isNaN(Date.parse(content.startedAt))).toBe(false);
    expect(content.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(content.releasedAt).toBeUndefined();
    expect(readdirSync(dir)).toEqual([LOCK_FILE_NAME]);
    lock.release();
  });

  test("a second acquirer sees the holder at once and writes nothing", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "segment-000001.ndjson"), "{}\n");
    const first = acquired(acquire(dir));
    const before = listing(dir);
    const startedMs = performance.now();
    const second = held(acquire(dir, { pid: process.pid + 1 }));
    expect(performance.now() - startedMs).toBeLessThan(500);
    expect(second.heldBy.pid).toBe(process.pid);
    expect(second.heldBy.startedAt).toBe(first.holder.startedAt);
    expect(listing(dir)).toEqual(before);
    first.release();
  });

  test("release keeps the file, marks the record released and frees the lock: the next acquirer has nothing to warn about", () => {
    const dir = tempDir();
    const first = acquired(acquire(dir, { now: () => Date.parse("2026-02-03T04:05:06.000Z") }));
    first.release();
    first.release(); // idempotent
    expect(readdirSync(dir)).toEqual([LOCK_FILE_NAME]);
    expect(lockContent(dir)).toMatchObject({ pid: process.pid, releasedAt: "2026-02-03T04:05:06.000Z" });
    const next = acquired(acquire(dir, { pid: 4242 }));
    expect(next.tookOver).toBeUndefined();
    expect(lockContent(dir)).toEqual({ ...next.holder });
    next.release();
  });

  test("a directory that cannot be created is E_LOCK_FAILED (exit 3) naming the lock path and what to do", () => {
    const parent = tempDir();
    writeFileSync(join(parent, "file"), "x");
    const dir = join(parent, "file", "journal");
    const error = lockError(() => acquire(dir));
    expect(error.code).toBe("E_LOCK_FAILED");
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain(`cannot open the lock file ${join(dir, LOCK_FILE_NAME)}: `);
    expect(error.message).toContain("choose another --journal directory");
  });

  test("a flock that fails (not EWOULDBLOCK) is E_LOCK_FAILED naming the cause, and writes nothing", () => {
    const dir = tempDir();
    const failing: FileLock = {
      tryLockExclusive: () => {
        throw new Error("flock(LOCK_EX|LOCK_NB) failed with ENOLCK");
      },
    };
    const error = lockError(() => acquireJournalLock(dir, failing, { releaseOnExit: false }));
    expect(error.code).toBe("E_LOCK_FAILED");
    expect(error.message).toBe(
      `cannot lock ${join(dir, LOCK_FILE_NAME)}: Error: flock(LOCK_EX|LOCK_NB) failed with ENOLCK; the journal directory must be on a filesystem with flock (a local disk on Linux): choose another --journal directory`,
    );
    expect(readFileSync(join(dir, LOCK_FILE_NAME), "utf8")).toBe("");
  });

  test("a lock file deleted after it was opened is not trusted: the lock is taken on the file the path names", () => {
    const dir = tempDir();
    const path = join(dir, LOCK_FILE_NAME);
    let calls = 0;
    // Someone deletes the file between our open and our flock: the lock we got is on a ghost.
    const deleting: FileLock = {
      tryLockExclusive(fd) {
        if (calls++ === 0) unlinkSync(path);
        return bunFileLock.tryLockExclusive(fd);
      },
    };
    const lock = acquired(acquireJournalLock(dir, deleting, { releaseOnExit: false }));
    expect(calls).toBe(2);
    expect(lockContent(dir).pid).toBe(process.pid);
    held(acquire(dir, { pid: process.pid + 1 })); // the file the path names is the locked one
    lock.release();
  });
});

describe("a lock file whose kernel lock is free is taken, whatever it says", () => {
  test("one left by a process killed with SIGKILL, at once, reporting the previous holder", async () => {
    const dir = tempDir();
    const holder = await startRacer(dir, join(tempDir(), "race.log"), -1);
    holder.child.stdin!.write("go\n");
    const line = await holder.result;
    expect(line.kind).toBe("acquired");
    holder.child.kill("SIGKILL");
    await holder.exited;
    expect(lockContent(dir).pid).toBe(line.pid);
    const startedMs = performance.now();
    const lock = acquired(acquire(dir));
    expect(performance.now() - startedMs).toBeLessThan(500);
    expect(lock.tookOver?.holder?.pid).toBe(line.pid);
    expect(lock.tookOver?.reason).toBe("it ended without releasing the lock (killed or crashed)");
    lock.release();
  });

  test("one written under another host name: taken, the previous holder reported so the capture can warn", () => {
    const dir = tempDir();
    writeLock(dir, { pid: 1, host: "old-container-name" });
    const lock = acquired(acquire(dir));
    expect(lock.tookOver?.holder).toMatchObject({ pid: 1, host: "old-container-name" });
    expect(lock.tookOver?.reason).toContain(`written under another host name (this is ${hostname()})`);
    expect(lockContent(dir)).toMatchObject({ pid: process.pid, host: hostname() });
    lock.release();
  });

  test("one naming a live process of this host (the pid is not judged: only the kernel lock counts)", () => {
    const dir = tempDir();
    writeLock(dir, { pid: 1 });
    const lock = acquired(acquire(dir));
    expect(lock.tookOver?.holder?.pid).toBe(1);
    lock.release();
  });

  test.each([
    ["not JSON", "{\"pid\":12", true],
    ["JSON without a pid", "{\"host\":\"x\"}", true],
    ["larger than any lock file", "x".repeat(10_000), true],
    ["empty (a holder that died before writing)", "", false],
  ])("one that is not a lock record (%s)", (_label, text, warns) => {
    const dir = tempDir();
    writeFileSync(join(dir, LOCK_FILE_NAME), text);
    const lock = acquired(acquire(dir));
    expect(lock.tookOver).toEqual(warns ? { holder: undefined, reason: "the file held no lock record" } : undefined);
    expect(lockContent(dir).pid).toBe(process.pid);
    lock.release();
  });
});

describe("a held lock", () => {
  test("under another host name is held, named as the file says", () => {
    const dir = tempDir();
    writeLock(dir, { pid: 1234, host: "other-machine" });
    const other = holdKernelLock(dir);
    try {
      expect(held(acquire(dir)).heldBy).toMatchObject({ pid: 1234, host: "other-machine" });
    } finally {
      other.release();
    }
  });

  test("whose record is still the dead predecessor's is re-read until the new holder has written its own", () => {
    const dir = tempDir();
    const dead = deadPid();
    writeLock(dir, { pid: dead });
    const other = holdKernelLock(dir);
    const asked: number[] = [];
    try {
      const result = held(acquire(dir, {
        processExists: (pid) => {
          asked.push(pid);
          // The new holder finishes writing its record while we wait.
          if (pid === dead) writeLock(dir, { pid: 4321 });
          return pid !== dead;
        },
      }));
      expect(result.heldBy.pid).toBe(4321);
      expect(asked).toEqual([dead, 4321]);
    } finally {
      other.release();
    }
  });

  test.each([
    ["empty (the holder is writing it)", ""],
    ["not JSON", "{\"pid\":"],
    ["released by its previous holder", JSON.stringify({ pid: 5, host: hostname(), startedAt: "x", version: "1", releasedAt: "y" })],
  ])("whose record stays unusable (%s) is reported with an unknown holder, and nothing is written", (_label, text) => {
    const dir = tempDir();
    writeFileSync(join(dir, LOCK_FILE_NAME), text);
    const other = holdKernelLock(dir);
    try {
      const before = listing(dir);
      const startedMs = performance.now();
      const result = held(acquire(dir, { holderWaitMs: 50 }));
      expect(performance.now() - startedMs).toBeGreaterThanOrEqual(45);
      expect(result.heldBy).toEqual(UNKNOWN_HOLDER);
      expect(describeHolder(result.heldBy)).toBe("pid ? on ? since ?");
      expect(listing(dir)).toEqual(before);
    } finally {
      other.release();
    }
  });
});

interface RacerLine {
  kind: "acquired" | "held";
  pid: number;
  heldBy?: LockHolder;
}

/** Starts a racer and resolves once it is ready; `result` resolves with its JSON line. */
async function startRacer(dir: string, logPath: string, holdMs: number) {
  const child = spawn(process.execPath, [RACER, dir, logPath, String(holdMs)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! });
  const ready = Promise.withResolvers<void>();
  const result = Promise.withResolvers<RacerLine>();
  lines.on("line", (line) => (line === "ready" ? ready.resolve() : result.resolve(JSON.parse(line) as RacerLine)));
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  void exited.then(() => {
    ready.reject(new Error("racer exited before it was ready"));
    result.reject(new Error("racer exited without a result"));
  });
  await ready.promise;
  return { child, result: result.promise, exited };
}

/** The hold intervals in a race log (`<pid> acquired|released <ns>` lines in append order); throws if two overlap. */
function holdIntervals(log: string): { pid: number; fromNs: bigint; toNs: bigint }[] {
  const intervals: { pid: number; fromNs: bigint; toNs: bigint }[] = [];
  let open: { pid: number; fromNs: bigint } | undefined;
  for (const line of log.split("\n").filter(Boolean)) {
    const [pid, event, ns] = line.split(" ");
    if (event === "acquired") {
      if (open) throw new Error(`pid ${pid} acquired while pid ${open.pid} still held the lock:\n${log}`);
      open = { pid: Number(pid), fromNs: BigInt(ns!) };
    } else {
      if (!open || open.pid !== Number(pid)) throw new Error(`pid ${pid} released a lock it did not hold:\n${log}`);
      intervals.push({ ...open, toNs: BigInt(ns!) });
      open = undefined;
    }
  }
  if (open) throw new Error(`pid ${open.pid} never released:\n${log}`);
  for (let i = 1; i < intervals.length; i++) {
    if (intervals[i]!.fromNs < intervals[i - 1]!.toNs) throw new Error(`hold intervals overlap:\n${log}`);
  }
  return intervals;
}

describe("across processes", () => {
  test("20 processes racing over a stale lock, 20 rounds: exactly one holds it, the others name that live holder", async () => {
    // Against the former link/rename lock, about 1 round in 40 ended with two holders on 2 cores.
    const ROUNDS = 20;
    const RACERS = 20;
    for (let round = 0; round < ROUNDS; round++) {
      const dir = tempDir();
      const logPath = join(tempDir(), "race.log");
      writeFileSync(logPath, "");
      writeLock(dir, { pid: deadPid() });
      const racers = await Promise.all(Array.from({ length: RACERS }, () => startRacer(dir, logPath, 300)));
      for (const racer of racers) racer.child.stdin!.write("go\n");
      const results = await Promise.all(racers.map((r) => r.result));
      expect(await Promise.all(racers.map((r) => r.exited))).toEqual(racers.map(() => 0));

      const intervals = holdIntervals(readFileSync(logPath, "utf8"));
      const winners = results.filter((r) => r.kind === "acquired");
      expect(winners.length).toBe(1);
      expect(intervals.map((i) => i.pid)).toEqual([winners[0]!.pid]);
      for (const loser of results.filter((r) => r.kind === "held")) {
        expect(loser.heldBy).toMatchObject({ pid: winners[0]!.pid, host: hostname() });
      }
      expect(lockContent(dir)).toMatchObject({ pid: winners[0]!.pid, releasedAt: expect.any(String) });
    }
  }, 60_000);

  test("process.exit() releases the lock through the exit hook", () => {
    const dir = tempDir();
    const script = `import { acquireJournalLock } from ${JSON.stringify(join(import.meta.dir, "../../../src/journal/lock.ts"))};
      import { bunFileLock } from ${JSON.stringify(join(import.meta.dir, "../../../src/runtime/bun/file-lock.ts"))};
      const lock = acquireJournalLock(${JSON.stringify(dir)}, bunFileLock);
      if (lock.kind !== "acquired") process.exit(9);
      process.exit(130);`;
    const run = spawnSync(process.execPath, ["-e", script]);
    expect(run.status).toBe(130);
    expect(lockContent(dir)).toMatchObject({ pid: run.pid, releasedAt: expect.any(String) });
    const next = acquired(acquire(dir));
    expect(next.tookOver).toBeUndefined();
    next.release();
  });
});
