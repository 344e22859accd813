/**
 * One capture per journal directory: the file `DIR/obcap.lock`.
 *
 * Cron starts a copy every minute; while one runs, the others must leave at once without touching
 * the directory. The lock file holds JSON `{pid, host, startedAt, version, bootId?, startTicks?}`.
 *
 * - Create: the content is written to a private temporary file, then `link()`ed to `obcap.lock`.
 *   `link` fails with EEXIST when the name exists, so creation is atomic and the lock is never seen
 *   half written (an O_EXCL open would show an empty file for a moment).
 * - Held: a newcomer only reads. When the holder is alive it returns `{ heldBy }` having written
 *   nothing, so the directory's listing and mtimes stay as they were.
 * - Stale: the holder is dead, i.e. on this host and `kill(pid, 0)` says ESRCH (EPERM means alive,
 *   owned by another user); or its pid was reused (Linux: the process start time in /proc differs);
 *   or the machine rebooted since (Linux boot id differs); or the pid is our own (a dead predecessor
 *   in a container that always starts as pid 1). A file that is not a lock (empty, not JSON) is stale
 *   once older than `garbageStaleMs`. A lock written on another host is never judged stale: its pid
 *   means nothing here (remove the file by hand if that host is gone).
 * - Takeover, atomic against newcomers racing: `rename()` the stale file to a private name, then
 *   check it is the very file judged stale (same inode and content). If another newcomer's fresh lock was moved
 *   instead, it is linked back at once and the newcomer reports that holder. Only then is our own
 *   lock linked in, again with EEXIST deciding between racers.
 * - Release: on normal end through `release()`, and from a process "exit" hook for `process.exit()`
 *   paths (second SIGINT). SIGKILL or a crash leave the file behind: it is stale and taken over.
 */
import { closeSync, fstatSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { describeError, obcapError } from "../errors.ts";
import { VERSION } from "../version.ts";

export const LOCK_FILE_NAME = "obcap.lock";
/** A lock file that cannot be read as a lock counts as stale after this long (by mtime). */
export const GARBAGE_STALE_MS = 10_000;
/** Leftover temporary files of dead racers are removed by the next holder after this long. */
const LEFTOVER_MS = 60_000;
/** Rounds of inspect + create before giving up (each lost round means another process moved). */
const MAX_ROUNDS = 8;
/** A lock file is a few hundred bytes; more is not ours. */
const MAX_LOCK_BYTES = 4096;

/** Who holds a lock, as written in the lock file. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO 8601 time the holder took the lock. */
  startedAt: string;
  version: string;
  /** Linux `/proc/sys/kernel/random/boot_id` when the lock was written. */
  bootId?: string;
  /** Linux process start time (clock ticks since boot, `/proc/<pid>/stat` field 22). */
  startTicks?: string;
}

/** Is the process `pid` (described by `holder`) still running? `process.kill(pid, 0)` semantics. */
export type ProcessProbe = (pid: number, holder: LockHolder) => boolean;

export interface LockOptions {
  /** Our pid (default `process.pid`). */
  pid?: number;
  /** Our host name (default `os.hostname()`). */
  host?: string;
  /** Wall clock in ms (default `Date.now`): `startedAt` and the age of garbage files. */
  now?: () => number;
  /** Liveness of another pid on this host (default {@link processIsAlive}). */
  isAlive?: ProcessProbe;
  garbageStaleMs?: number;
  /** Remove the lock from a process "exit" hook too (default true). */
  releaseOnExit?: boolean;
  /** Test seam: runs after a lock was judged stale, before it is taken over. */
  beforeTakeover?: () => void;
}

/** The lock is ours until `release()`. */
export interface JournalLock {
  kind: "acquired";
  path: string;
  holder: LockHolder;
  /** Whether a stale lock was taken over, and why it was stale. */
  tookOver?: { holder: LockHolder | undefined; reason: string };
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

/** Another live process holds the lock. Nothing was written. */
export interface LockHeld {
  kind: "held";
  path: string;
  heldBy: LockHolder;
}

type Inspection =
  | { kind: "none" }
  | { kind: "held"; holder: LockHolder }
  | { kind: "stale"; file: FileIdentity; holder: LockHolder | undefined; reason: string };

/**
 * A file as judged: inode AND content. Inode numbers alone are not enough, a file created right after
 * another was deleted often gets the same number (tmpfs, ext4).
 */
interface FileIdentity {
  ino: number;
  text: string;
}

/**
 * Takes `DIR/obcap.lock`, creating DIR if needed. Returns `{ kind: "held", heldBy }` without writing
 * anything when a live process holds it. Throws E_LOCK_FAILED when the directory cannot be used.
 */
export function acquireJournalLock(dir: string, options: LockOptions = {}): JournalLock | LockHeld {
  const pid = options.pid ?? process.pid;
  const host = options.host ?? hostname();
  const now = options.now ?? Date.now;
  const isAlive = options.isAlive ?? processIsAlive;
  const garbageStaleMs = options.garbageStaleMs ?? GARBAGE_STALE_MS;
  const path = join(dir, LOCK_FILE_NAME);
  const bootId = readBootId();
  const holder: LockHolder = {
    pid,
    host,
    startedAt: new Date(now()).toISOString(),
    version: VERSION,
    ...(bootId ? { bootId } : {}),
    ...(options.pid === undefined ? startTicksOf(pid) : {}),
  };
  const context = { pid, host, bootId, now, isAlive, garbageStaleMs };

  try {
    mkdirSync(dir, { recursive: true });
    let tookOver: JournalLock["tookOver"];
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const found = inspect(path, context);
      if (found.kind === "held") return { kind: "held", path, heldBy: found.holder };
      if (found.kind === "stale") {
        options.beforeTakeover?.();
        if (!removeStale(path, found.file, pid)) continue; // someone else moved first: look again
        tookOver = { holder: found.holder, reason: found.reason };
      }
      const file = tryCreate(path, holder);
      if (file === undefined) continue; // a racer created it first: look again
      removeLeftovers(dir, now());
      return { kind: "acquired", path, holder, ...(tookOver ? { tookOver } : {}), release: releaser(path, file, options.releaseOnExit ?? true) };
    }
    const last = inspect(path, context);
    if (last.kind === "held") return { kind: "held", path, heldBy: last.holder };
  } catch (err) {
    throw obcapError(
      "E_LOCK_FAILED",
      `cannot lock ${path}: ${describeError(err)}; check that the directory exists and is writable by this user, or choose another directory`,
      err,
    );
  }
  throw obcapError("E_LOCK_FAILED", `cannot lock ${path}: other processes kept replacing it over ${MAX_ROUNDS} attempts; is something else writing this file?`);
}

/** One line naming the holder: `pid 123 on host since 2026-01-01T00:00:00.000Z`. */
export function describeHolder(holder: LockHolder): string {
  return `pid ${holder.pid > 0 ? holder.pid : "?"} on ${holder.host} since ${holder.startedAt}`;
}

/**
 * Default {@link ProcessProbe}: `kill(pid, 0)` (ESRCH = dead, EPERM = alive but another user's);
 * when alive and the lock recorded a Linux start time, a different start time means the pid was
 * reused by another process, so the holder is dead.
 */
export function processIsAlive(pid: number, holder: LockHolder): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ESRCH") return false;
    if (code !== "EPERM") return true; // unknown: assume alive, never steal a live lock
  }
  if (holder.startTicks === undefined) return true;
  const current = startTicksOf(pid).startTicks;
  return current === undefined || current === holder.startTicks;
}

interface InspectContext {
  pid: number;
  host: string;
  bootId: string | undefined;
  now: () => number;
  isAlive: ProcessProbe;
  garbageStaleMs: number;
}

/** Reads the lock through one descriptor, so the inode and the content belong to the same file. */
function inspect(path: string, context: InspectContext): Inspection {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { kind: "none" };
    throw err;
  }
  try {
    const st = fstatSync(fd);
    const file = { ino: st.ino, text: readHead(fd) };
    const text = file.text;
    const holder = parseHolder(text);
    if (!holder) {
      const ageMs = context.now() - st.mtimeMs;
      if (ageMs >= context.garbageStaleMs) return { kind: "stale", file, holder: undefined, reason: `not a lock file, ${Math.round(ageMs / 1000)} s old` };
      return { kind: "held", holder: { pid: 0, host: "?", startedAt: new Date(st.mtimeMs).toISOString(), version: "?" } };
    }
    const reason = staleReason(holder, context);
    return reason ? { kind: "stale", file, holder, reason } : { kind: "held", holder };
  } finally {
    closeSync(fd);
  }
}

function staleReason(holder: LockHolder, context: InspectContext): string | undefined {
  if (holder.host !== context.host) return undefined;
  if (holder.bootId && context.bootId && holder.bootId !== context.bootId) return "written before this machine's last boot";
  if (holder.pid === context.pid) return "written by a dead process with our own pid";
  if (!context.isAlive(holder.pid, holder)) return `process ${holder.pid} is not running`;
  return undefined;
}

/** The lock file's content, or undefined when it is not a lock. */
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
    ...(typeof o.bootId === "string" ? { bootId: o.bootId } : {}),
    ...(typeof o.startTicks === "string" ? { startTicks: o.startTicks } : {}),
  };
}

/**
 * Moves the stale lock (`stale`) out of the way. False when the file at `path` was no longer that
 * one: a racer took over first; if its fresh lock was moved, it is put back.
 */
function removeStale(path: string, stale: FileIdentity, pid: number): boolean {
  const grave = `${path}.${pid}.${randomSuffix()}.stale`;
  try {
    renameSync(path, grave);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
  if (isSameFile(grave, stale)) {
    unlinkSync(grave);
    return true;
  }
  // We moved a live racer's lock: link it back. EEXIST means yet another process created one in the
  // meantime; that one wins and the moved file is dropped.
  try {
    linkSync(grave, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  unlinkSync(grave);
  return false;
}

function isSameFile(path: string, file: FileIdentity): boolean {
  const fd = openSync(path, "r");
  try {
    return fstatSync(fd).ino === file.ino && readHead(fd) === file.text;
  } finally {
    closeSync(fd);
  }
}

/** The first MAX_LOCK_BYTES of a file, as text. */
function readHead(fd: number): string {
  const buffer = new Uint8Array(MAX_LOCK_BYTES);
  const length = readSync(fd, buffer, 0, MAX_LOCK_BYTES, 0);
  return new TextDecoder().decode(buffer.subarray(0, length));
}

/** Links a complete lock file into place; its identity, or undefined if the name exists. */
function tryCreate(path: string, holder: LockHolder): FileIdentity | undefined {
  const temp = `${path}.${holder.pid}.${randomSuffix()}.tmp`;
  const text = `${JSON.stringify(holder)}\n`;
  const fd = openSync(temp, "wx", 0o644);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, path);
    return { ino: lstatSync(temp).ino, text };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return undefined;
    throw err;
  } finally {
    unlinkSync(temp);
  }
}

function releaser(path: string, file: FileIdentity, onExit: boolean): () => void {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.off("exit", release);
    try {
      // Only our own file: after a takeover race the name may point at another holder's lock.
      if (isSameFile(path, file)) unlinkSync(path);
    } catch {
      // Already gone, or the directory went away: nothing to release.
    }
  };
  if (onExit) process.on("exit", release);
  return release;
}

/** Temporary and moved-aside files of racers that died between two steps. */
function removeLeftovers(dir: string, nowMs: number): void {
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(`${LOCK_FILE_NAME}.`) || !(name.endsWith(".tmp") || name.endsWith(".stale"))) continue;
    try {
      const file = join(dir, name);
      if (nowMs - lstatSync(file).mtimeMs > LEFTOVER_MS) unlinkSync(file);
    } catch {
      // A racer removed it itself.
    }
  }
}

function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 10);
}

function readBootId(): string | undefined {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Linux: field 22 of /proc/<pid>/stat (after the parenthesised command name, which may hold spaces). */
function startTicksOf(pid: number): { startTicks?: string } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = fields[19];
    return ticks && /^\d+$/.test(ticks) ? { startTicks: ticks } : {};
  } catch {
    return {};
  }
}
