/**
 * flock(2) through `bun:ffi`, for the journal directory lock (`FileLock` in src/journal/lock.ts).
 * Node's fs has no flock; Bun calls libc's directly. Linux with glibc only (`libc.so.6`).
 *
 * errno: bun:ffi returns only the -1. It is read right after the call through glibc's
 * `__errno_location()` (thread-local, same thread, no syscall in between: 100,000 contended calls
 * here all read EWOULDBLOCK, under `bun run` and in a `--compile` binary). Anything else is checked
 * with a second call before it is reported, so a clobbered errno cannot turn "held" into an error.
 */
import { dlopen, FFIType, read } from "bun:ffi";
import type { FileLock } from "../ports.ts";

/** <sys/file.h> */
const LOCK_EX = 2;
const LOCK_NB = 4;
/** Linux asm-generic/errno-base.h (EAGAIN == EWOULDBLOCK) and errno.h: the failures flock(2) lists. */
const ERRNO_NAMES: Record<number, string> = { 4: "EINTR", 9: "EBADF", 11: "EWOULDBLOCK", 22: "EINVAL", 37: "ENOLCK" };
const EWOULDBLOCK = 11;

function openLibc() {
  try {
    return dlopen("libc.so.6", {
      flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      __errno_location: { args: [], returns: FFIType.ptr },
    }).symbols;
  } catch (err) {
    throw new Error(`flock is unavailable: cannot load libc.so.6 (${(err as Error).message}); obcap's journal lock needs Linux with glibc`, { cause: err });
  }
}

let libc: ReturnType<typeof openLibc> | undefined;

/** One non-blocking exclusive flock: true = taken, false = EWOULDBLOCK, else throws naming errno. */
function lockOnce(fd: number): true | number {
  libc ??= openLibc();
  if (libc.flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
  const where = libc.__errno_location();
  return where === null ? 0 : read.i32(where, 0);
}

export const bunFileLock: FileLock = {
  tryLockExclusive(fd: number): boolean {
    const first = lockOnce(fd);
    if (first === true) return true;
    if (first === EWOULDBLOCK) return false;
    const second = lockOnce(fd);
    if (second === true) return true;
    if (second === EWOULDBLOCK) return false;
    const name = ERRNO_NAMES[second] ?? `errno ${second}`;
    throw Object.assign(new Error(`flock(LOCK_EX|LOCK_NB) failed with ${name}${second === 37 ? " (this filesystem gives out no locks)" : ""}`), { code: name });
  },
};
