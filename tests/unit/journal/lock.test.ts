/**
 * The journal directory lock: one holder, newcomers leave without writing, stale locks (dead pid,
 * garbage, old boot) are taken over, and racing newcomers never both win.
 */
import { describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import {
  acquireJournalLock, describeHolder, LOCK_FILE_NAME, parseHolder, processIsAlive, type JournalLock, type LockHeld, type LockHolder,
} from "../../../src/journal/lock.ts";
import { isObcapError } from "../../../src/errors.ts";

const RACER = join(import.meta.dir, "lock-racer.ts");

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "obcap-lock-"));
}

/** A pid that just ended (spawnSync waits for the child). */
function deadPid(): number {
  const child = spawnSync("true");
  return child.pid!;
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
    const lock = acquired(acquireJournalLock(dir, { releaseOnExit: false }));
    expect(lock.path).toBe(join(dir, LOCK_FILE_NAME));
    const content = lockContent(dir);
    expect(content.pid).toBe(process.pid);
    expect(content.host).toBe(hostname());
    expect(Number.isNaN(Date.parse(content.startedAt))).toBe(false);
    expect(content.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(readdirSync(dir)).toEqual([LOCK_FILE_NAME]); // no temporary file left behind
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
  });

  test("a second acquirer sees the live holder and writes nothing", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "segment-000001.ndjson"), "{}\n");
    const first = acquired(acquireJournalLock(dir, { releaseOnExit: false }));
    const before = listing(dir);
    const second = held(acquireJournalLock(dir, { pid: process.pid + 1, isAlive: () => true, releaseOnExit: false }));
    expect(second.heldBy.pid).toBe(process.pid);
    expect(second.heldBy.startedAt).toBe(first.holder.startedAt);
    expect(listing(dir)).toEqual(before);
    first.release();
  });

  test("after release the next acquirer gets the lock", () => {
    const dir = tempDir();
    acquired(acquireJournalLock(dir, { releaseOnExit: false })).release();
    const next = acquired(acquireJournalLock(dir, { pid: 4242, isAlive: () => true, releaseOnExit: false }));
    expect(lockContent(dir).pid).toBe(4242);
    next.release();
  });

  test("release is idempotent and never removes another holder's lock", () => {
    const dir = tempDir();
    const lock = acquired(acquireJournalLock(dir, { releaseOnExit: false }));
    // Someone replaced the file (it looked stale to them): ours is gone, theirs must stay.
    unlinkSync(lock.path);
    writeLock(dir, { pid: 777 });
    lock.release();
    lock.release();
    expect(lockContent(dir).pid).toBe(777);
  });

  test("a directory that cannot be created is E_LOCK_FAILED naming the lock path", () => {
    const parent = tempDir();
    writeFileSync(join(parent, "file"), "x");
    const dir = join(parent, "file", "journal");
    let error: unknown;
    try {
      acquireJournalLock(dir, { releaseOnExit: false });
    } catch (err) {
      error = err;
    }
    expect(isObcapError(error)).toBe(true);
    if (!isObcapError(error)) return;
    expect(error.code).toBe("E_LOCK_FAILED");
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain(join(dir, LOCK_FILE_NAME));
  });
});

describe("stale locks", () => {
  test("a lock of a dead pid is taken over", () => {
    const dir = tempDir();
    const dead = deadPid();
    writeLock(dir, { pid: dead });
    const lock = acquired(acquireJournalLock(dir, { releaseOnExit: false }));
    expect(lock.tookOver?.holder?.pid).toBe(dead);
    expect(lock.tookOver?.reason).toBe(`process ${dead} is not running`);
    expect(lockContent(dir).pid).toBe(process.pid);
    expect(readdirSync(dir)).toEqual([LOCK_FILE_NAME]);
    lock.release();
  });

  test("the probe decides liveness: alive holds, dead is taken over", () => {
    const dir = tempDir();
    writeLock(dir, { pid: 1234 });
    const seen: number[] = [];
    held(acquireJournalLock(dir, { pid: 99, isAlive: (pid) => (seen.push(pid), true), releaseOnExit: false }));
    expect(seen).toEqual([1234]);
    acquired(acquireJournalLock(dir, { pid: 99, isAlive: () => false, releaseOnExit: false })).release();
  });

  test("a lock with our own pid is a dead predecessor's (containers start as pid 1)", () => {
    const dir = tempDir();
    writeLock(dir, { pid: 1 });
    const lock = acquired(acquireJournalLock(dir, { pid: 1, isAlive: () => true, releaseOnExit: false }));
    expect(lock.tookOver?.reason).toContain("our own pid");
    lock.release();
  });

  test("a lock from before the last boot is stale even if its pid is running now", () => {
    const dir = tempDir();
    writeLock(dir, { pid: 1, bootId: "00000000-0000-0000-0000-000000000000" });
    const bootKnown = existsSync("/proc/sys/kernel/random/boot_id");
    const result = acquireJournalLock(dir, { pid: 99, isAlive: () => true, releaseOnExit: false });
    expect(result.kind).toBe(bootKnown ? "acquired" : "held");
    if (result.kind === "acquired") result.release();
  });

  test("a lock written on another host is never taken over", () => {
    const dir = tempDir();
    writeLock(dir, { pid: deadPid(), host: `not-${hostname()}` });
    const result = held(acquireJournalLock(dir, { releaseOnExit: false }));
    expect(result.heldBy.host).toBe(`not-${hostname()}`);
  });

  test.each([
    ["empty", ""],
    ["not JSON", "{\"pid\":12"],
    ["JSON without a pid", "{\"host\":\"x\"}"],
    ["larger than any lock file", "x".repeat(10_000)],
    ["a pid of 0 (would signal our process group)", `{"pid":0,"host":"${hostname()}","startedAt":"x"}`],
  ])("a garbage lock file (%s) is held while young and taken over once older than the bound", (_label, text) => {
    const dir = tempDir();
    const path = join(dir, LOCK_FILE_NAME);
    writeFileSync(path, text);
    const mtimeMs = lstatSync(path).mtimeMs;
    const young = held(acquireJournalLock(dir, { pid: 99, now: () => mtimeMs + 9_999, garbageStaleMs: 10_000, releaseOnExit: false }));
    expect(young.heldBy.pid).toBe(0);
    expect(describeHolder(young.heldBy)).toContain("pid ?");
    const lock = acquired(acquireJournalLock(dir, { pid: 99, now: () => mtimeMs + 10_000, garbageStaleMs: 10_000, releaseOnExit: false }));
    expect(lock.tookOver?.holder).toBeUndefined();
    expect(lockContent(dir).pid).toBe(99);
    lock.release();
  });

  test("a racer that took over first keeps its lock: ours moved it aside and put it back", () => {
    const dir = tempDir();
    writeLock(dir, { pid: 1234 });
    let racer: JournalLock | undefined;
    const result = acquireJournalLock(dir, {
      pid: 100,
      isAlive: (pid) => pid !== 1234,
      releaseOnExit: false,
      // Between our judgement and our takeover, another newcomer takes the stale lock over.
      beforeTakeover: () => {
        racer ??= acquired(acquireJournalLock(dir, { pid: 200, isAlive: (pid) => pid !== 1234, releaseOnExit: false }));
      },
    });
    expect(held(result).heldBy.pid).toBe(200);
    expect(lockContent(dir).pid).toBe(200);
    expect(readdirSync(dir)).toEqual([LOCK_FILE_NAME]);
    // The racer's lock is the same file it created: its release still removes it.
    racer!.release();
    expect(existsSync(join(dir, LOCK_FILE_NAME))).toBe(false);
  });

  test("leftover temporary files of dead racers are removed by the next holder", () => {
    const dir = tempDir();
    const leftover = join(dir, `${LOCK_FILE_NAME}.123.abc.tmp`);
    const fresh = join(dir, `${LOCK_FILE_NAME}.124.abd.tmp`);
    writeFileSync(leftover, "{}");
    writeFileSync(fresh, "{}");
    utimesSync(leftover, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    const lock = acquired(acquireJournalLock(dir, { releaseOnExit: false }));
    expect(readdirSync(dir).sort()).toEqual([LOCK_FILE_NAME, `${LOCK_FILE_NAME}.124.abd.tmp`]);
    lock.release();
  });
});

describe("processIsAlive", () => {
  const self: LockHolder = { pid: process.pid, host: hostname(), startedAt: "", version: "" };

  test("says our own process is alive and an ended one is not", () => {
    expect(processIsAlive(process.pid, self)).toBe(true);
    const dead = deadPid();
    expect(processIsAlive(dead, { ...self, pid: dead })).toBe(false);
  });

  test("says a reused pid (another start time) is not the holder", () => {
    if (!existsSync(`/proc/${process.pid}/stat`)) return;
    expect(processIsAlive(process.pid, { ...self, startTicks: "1" })).toBe(false);
  });
});

describe("across processes", () => {
  interface RacerLine {
    kind: "acquired" | "held";
    pid: number;
    heldBy?: LockHolder;
  }

  /** Starts a racer and resolves once it is ready; `result` resolves with its JSON line. */
  async function startRacer(dir: string) {
    const child = spawn(process.execPath, [RACER, dir], { stdio: ["pipe", "pipe", "inherit"] });
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

  test("two newcomers racing for a free or stale lock: exactly one wins, the other names it", async () => {
    for (let round = 0; round < 8; round++) {
      const dir = tempDir();
      if (round % 2 === 1) writeLock(dir, { pid: deadPid() });
      const [a, b] = await Promise.all([startRacer(dir), startRacer(dir)]);
      a.child.stdin!.write("go\n");
      b.child.stdin!.write("go\n");
      const results = await Promise.all([a.result, b.result]);
      const winners = results.filter((r) => r.kind === "acquired");
      expect(winners.length).toBe(1);
      const winner = winners[0]!;
      const loser = results.find((r) => r.kind === "held")!;
      expect(loser.heldBy?.pid).toBe(winner.pid);
      expect(lockContent(dir).pid).toBe(winner.pid);
      a.child.stdin!.end();
      b.child.stdin!.end();
      expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0]);
      expect(readdirSync(dir)).toEqual([]);
    }
  }, 60_000);

  test("process.exit() releases the lock through the exit hook", () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const script = `import { acquireJournalLock } from ${JSON.stringify(join(import.meta.dir, "../../../src/journal/lock.ts"))};
      const lock = acquireJournalLock(${JSON.stringify(dir)});
      if (lock.kind !== "acquired") process.exit(9);
      process.exit(130);`;
    const run = spawnSync(process.execPath, ["-e", script]);
    expect(run.status).toBe(130);
    expect(readdirSync(dir)).toEqual([]);
  });

  test("a killed holder leaves a stale lock that the next process takes over", async () => {
    const dir = tempDir();
    const holder = await startRacer(dir);
    holder.child.stdin!.write("go\n");
    const line = await holder.result;
    expect(line.kind).toBe("acquired");
    holder.child.kill("SIGKILL");
    await holder.exited;
    expect(lockContent(dir).pid).toBe(line.pid);
    const lock = acquired(acquireJournalLock(dir, { releaseOnExit: false }));
    expect(lock.tookOver?.holder?.pid).toBe(line.pid);
    lock.release();
  });
});
