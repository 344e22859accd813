/**
 * One capture per journal directory: the kernel's lock, flock(2), on the file `DIR/obcap.lock`.
 *
 * Cron starts a copy every minute; while one runs, the others must leave at once without touching
 * the directory.
 *
 * Why flock: the kernel drops the lock when its holder dies (SIGKILL, the OOM killer, a crash), so
 * there is no staleness to judge and nothing to take over. The former lock (a file whose existence
 * was the lock, judged stale by pid, boot id and host name) let a newcomer win while the first
 * holder still believed it held the lock when three copies raced over a stale file, and never freed
 * a lock written under another host name (issue "Close the loss and hang windows", case 7).
 *
 * - Acquire: open `obcap.lock` (created if missing), `flock(LOCK_EX | LOCK_NB)`. Once locked, check
 *   that the path still names the locked file (someone may have deleted or replaced it: then start
 *   over), and write our record `{pid, host, startedAt, version}` into it.
 * - Held: a newcomer only reads the record and returns `{ heldBy }`; it writes nothing, so the
 *   directory's listing and mtimes stay as they were. A new holder locks first and writes its record
 *   just after: a newcomer that reads a record which cannot be the holder's (released, empty, a dead
 *   pid of this host) re-reads it for up to {@link HOLDER_WAIT_MS}, then reports an unknown holder.
 * - Release: the record gets `releasedAt`, then the fd is closed, which drops the kernel lock. Also
 *   from a process "exit" hook (the second SIGINT's `process.exit()`). After SIGKILL or a crash the
 *   kernel drops the lock anyway and the record stays without `releasedAt`: the next holder reports
 *   it (`tookOver`) so the capture can warn.
 * - Another host name in a record whose kernel lock is free changes nothing: no process that shares
 *   this filesystem's locks holds it, so it is taken (and reported). A filesystem that does not share
 *   locks between machines must not hold one journal directory for two machines.
 * - The file is never deleted: a newcomer could lock the deleted file while another creates a new
 *   one, and both would hold "the" lock. It must not be deleted by hand while a capture runs either.
 */
import { closeSync, constants, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, statSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { describeError, isObcapError, obcapError } from "../base/errors.ts";
import { VERSION } from "../base/version.ts";
import type { FileLock } from "../runtime/ports.ts";

export const LOCK_FILE_NAME = "obcap.lock";
/** How long a newcomer waits for a new holder's record (it is written right after the flock). */
export const HOLDER_WAIT_MS = 1_000;
const HOLDER_POLL_MS = 5;
/** Rounds of open + lock; each lost round means the file was deleted or replaced meanwhile. */
const MAX_ROUNDS = 8;
/** A lock record is a few hundred bytes; more is not ours. */
const MAX_LOCK_BYTES = 4096;

/** Who holds (or held) the lock, as written in the lock file. `pid` 0: unknown. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO 8601 time the holder took the lock. */
  startedAt: string;
  version: string;
  /** ISO 8601 time the holder released the lock; absent while held, or when the holder died. */
  releasedAt?: string;
}

/** A held lock whose file names no holder (yet). */
export const UNKNOWN_HOLDER: LockHolder = { pid: 0, host: "?", startedAt: "?", version: "?" };


export interface LockOptions {
  /** Our pid (default `process.pid`). */
  pid?: number;
  /** Our host name (default `os.hostname()`). */
  host?: string;
  /** Wall clock in ms (default `Date.now`): `startedAt`, `releasedAt`. */
  now?: () => number;
  /** Only to tell a current record from a dead predecessor's (default {@link processExists}). */
  processExists?: (pid: number) => boolean;
  /** Default {@link HOLDER_WAIT_MS}. */
  holderWaitMs?: number;
  /** Release from a process "exit" hook too (default true). */
  releaseOnExit?: boolean;
}

/** The lock is ours until `release()`. */
export interface JournalLock {
  kind: "acquired";
  path: string;
  holder: LockHolder;
  /** The file named a holder that never released it (killed, crashed, another host name): for a warning. */
  tookOver?: { holder: LockHolder | undefined; reason: string };
  /** Marks the record released and drops the kernel lock. Idempotent. */
  release(): void;
}

/** Another process holds the lock. Nothing was written. */
export interface LockHeld {
  kind: "held";
  path: string;
  heldBy: LockHolder;
}

/**
 * Takes `DIR/obcap.lock`, creating DIR and the file if needed. Returns `{ kind: "held", heldBy }`
 * without writing anything when another process holds the kernel lock. Throws E_LOCK_FAILED when
 * the directory or the file cannot be used, or flock fails.
 */
export function acquireJournalLock(dir: string, fileLock: FileLock, options: LockOptions = {}): JournalLock | LockHeld {
  const pid = options.pid ?? process.pid;
  const host = options.host ?? hostname();
  const now = options.now ?? Date.now;
  const path = join(dir, LOCK_FILE_NAME);
  const holder: LockHolder = { pid, host, startedAt: new Date(now()).toISOString(), version: VERSION };

  for (let round = 0; round < MAX_ROUNDS; round++) {
    const fd = openLockFile(dir, path);
    let keep = false;
    try {
      if (!tryLock(fileLock, fd, path)) {
        const self = { pid, host, processExists: options.processExists ?? processExists };
        return { kind: "held", path, heldBy: currentHolder(fd, self, options.holderWaitMs ?? HOLDER_WAIT_MS) };
      }
      if (!pathNamesFile(path, fd)) continue; // deleted or replaced since we opened it: lock what it names now
      const previous = readRecord(fd);
      writeRecord(fd, holder);
      keep = true;
      const tookOver = tookOverFrom(previous, host);
      return { kind: "acquired", path, holder, ...(tookOver ? { tookOver } : {}), release: releaser(fd, holder, now, options.releaseOnExit ?? true) };
    } catch (err) {
      if (isObcapError(err)) throw err;
      throw obcapError("E_LOCK_FAILED", `cannot use the lock file ${path}: ${describeError(err)}; check that it is writable by this user and the disk is not full, or choose another --journal directory`, err);
    } finally {
      if (!keep) closeSync(fd);
    }
  }
  throw obcapError("E_LOCK_FAILED", `cannot lock ${path}: it was deleted or replaced ${MAX_ROUNDS} times while obcap took it; stop whatever removes it (the file must stay, even when no capture runs)`);
}

/** One line naming the holder: `pid 123 on host since 2026-01-01T00:00:00.000Z` (`pid ?` when unknown). */
export function describeHolder(holder: LockHolder): string {
  return `pid ${holder.pid > 0 ? holder.pid : "?"} on ${holder.host} since ${holder.startedAt}`;
}

/** `kill(pid, 0)`: false only for ESRCH (EPERM means it exists, owned by another user). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** A lock record, or undefined when the text is not one. */
export function parseHolder(text: string): LockHolder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const o = value as Record<string, unknown>;
  if (typeof o.pid !== "number" || !Number.isSafeInteger(o.pid) || o.pid <= 0) return undefined;
  if (typeof o.host !== "string" || typeof o.startedAt !== "string") return undefined;
  return {
    pid: o.pid,
    host: o.host,
    startedAt: o.startedAt,
    version: typeof o.version === "string" ? o.version : "?",
    ...(typeof o.releasedAt === "string" ? { releasedAt: o.releasedAt } : {}),
  };
}

function openLockFile(dir: string, path: string): number {
  try {
    mkdirSync(dir, { recursive: true }); // changes nothing when DIR exists
    return openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644); // O_CREAT without O_EXCL: racers open one file
  } catch (err) {
    throw obcapError("E_LOCK_FAILED", `cannot open the lock file ${path}: ${describeError(err)}; check that the directory exists or can be created and is writable by this user, or choose another --journal directory`, err);
  }
}

function tryLock(fileLock: FileLock, fd: number, path: string): boolean {
  try {
    return fileLock.tryLockExclusive(fd);
  } catch (err) {
    throw obcapError("E_LOCK_FAILED", `cannot lock ${path}: ${describeError(err)}; the journal directory must be on a filesystem with flock (a local disk on Linux): choose another --journal directory`, err);
  }
}

/** Does `path` still name the file open as `fd`? */
function pathNamesFile(path: string, fd: number): boolean {
  const locked = fstatSync(fd);
  try {
    const named = statSync(path);
    return named.ino === locked.ino && named.dev === locked.dev;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/**
 * The record of the process holding the lock. The holder writes it just after taking the lock, so a
 * record that cannot be the holder's is re-read until `waitMs` has passed.
 */
function currentHolder(fd: number, self: { pid: number; host: string; processExists: (pid: number) => boolean }, waitMs: number): LockHolder {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const record = parseHolder(readRecord(fd));
    if (record && record.releasedAt === undefined) {
      // Another host's pid means nothing here; on this host a dead pid (or ours) is a predecessor's.
      if (record.host !== self.host || (record.pid !== self.pid && self.processExists(record.pid))) return record;
    }
    if (Date.now() >= deadline) return record && record.releasedAt === undefined ? record : UNKNOWN_HOLDER;
    sleepMs(HOLDER_POLL_MS);
  }
}

/** Why the record found on taking the lock is worth a warning; undefined when it was released (or empty). */
function tookOverFrom(text: string, host: string): JournalLock["tookOver"] {
  if (text.trim() === "") return undefined; // a new file, or a holder that died before writing
  const record = parseHolder(text);
  if (!record) return { holder: undefined, reason: "the file held no lock record" };
  if (record.releasedAt !== undefined) return undefined;
  if (record.host !== host) {
    return { holder: record, reason: `written under another host name (this is ${host}); its kernel lock was free, so no process sharing this filesystem's locks holds it` };
  }
  return { holder: record, reason: "it ended without releasing the lock (killed or crashed)" };
}

/** The file's first MAX_LOCK_BYTES, as text (positional read: the fd's offset does not matter). */
function readRecord(fd: number): string {
  const buffer = new Uint8Array(MAX_LOCK_BYTES);
  const length = readSync(fd, buffer, 0, MAX_LOCK_BYTES, 0);
  return new TextDecoder().decode(buffer.subarray(0, length));
}

/** Replaces the file's content; only while holding the lock. */
function writeRecord(fd: number, record: LockHolder): void {
  ftruncateSync(fd, 0);
  writeSync(fd, `${JSON.stringify(record)}\n`, 0);
}

function releaser(fd: number, holder: LockHolder, now: () => number, onExit: boolean): () => void {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.off("exit", release);
    try {
      writeRecord(fd, { ...holder, releasedAt: new Date(now()).toISOString() });
    } catch {
      // The record only informs the next holder; the lock itself is dropped by the close below.
    }
    try {
      closeSync(fd);
    } catch {
      // Already closed: nothing holds the lock.
    }
  };
  if (onExit) process.on("exit", release);
  return release;
}

const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

function sleepMs(ms: number): void {
  Atomics.wait(SLEEPER, 0, 0, ms);
}
