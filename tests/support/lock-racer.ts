/**
 * Child process for tests/unit/journal/lock.test.ts: `bun lock-racer.ts DIR LOG HOLD_MS`.
 *
 * Prints "ready", waits for a line "go" on stdin (so many racers start together), then tries the
 * journal lock with the real Bun adapter and prints one JSON line `{kind, pid, heldBy?}`.
 * A winner appends `<pid> acquired <hrtime ns>` to LOG (O_APPEND, so the lines of all racers
 * interleave in the order they were written), holds the lock for HOLD_MS (or, with HOLD_MS -1,
 * until stdin closes), appends `<pid> released <hrtime ns>`, releases and exits 0.
 */
import { appendFileSync } from "node:fs";
import { acquireJournalLock, type JournalLock, type LockHeld } from "../../src/journal/lock.ts";
import { bunFileLock } from "../../src/runtime/bun/file-lock.ts";

const [dir, logPath, holdArg] = process.argv.slice(2);
if (!dir || !logPath || holdArg === undefined) throw new Error("usage: lock-racer.ts DIR LOG HOLD_MS");
const holdMs = Number(holdArg);

let input = "";
let result: JournalLock | LockHeld | undefined;

function logLine(event: string): void {
  appendFileSync(logPath!, `${process.pid} ${event} ${process.hrtime.bigint()}\n`);
}

function finish(): void {
  if (result?.kind === "acquired") {
    logLine("released");
    result.release();
  }
  process.exit(0);
}

process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  input += chunk;
  if (result || !input.includes("go\n")) return;
  result = acquireJournalLock(dir, bunFileLock);
  if (result.kind === "acquired") logLine("acquired");
  const line = result.kind === "acquired" ? { kind: result.kind, pid: process.pid } : { kind: result.kind, pid: process.pid, heldBy: result.heldBy };
  // A loser exits once its line is out; a winner holds on.
  process.stdout.write(`${JSON.stringify(line)}\n`, () => {
    if (result?.kind !== "acquired") finish();
  });
  if (result.kind === "acquired" && holdMs >= 0) setTimeout(finish, holdMs);
});
process.stdin.on("end", () => {
  if (result === undefined || holdMs < 0) finish();
});
process.stdout.write("ready\n");
