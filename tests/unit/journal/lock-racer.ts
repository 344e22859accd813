/**
 * Test child process for lock.test.ts: `bun lock-racer.ts DIR`. Prints "ready", waits for a line
 * "go" on stdin (so two racers start together), tries the lock and prints one JSON line
 * `{kind, pid, heldBy?}`. A winner keeps the lock until stdin closes, then releases it and exits.
 */
import { acquireJournalLock } from "../../../src/journal/lock.ts";

const dir = process.argv[2]!;
let input = "";
let result: ReturnType<typeof acquireJournalLock> | undefined;

process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  input += chunk;
  if (result || !input.includes("go\n")) return;
  result = acquireJournalLock(dir);
  const line = result.kind === "acquired" ? { kind: result.kind, pid: process.pid } : { kind: result.kind, pid: process.pid, heldBy: result.heldBy };
  process.stdout.write(`${JSON.stringify(line)}\n`);
});
process.stdin.on("end", () => {
  if (result?.kind === "acquired") result.release();
  process.exit(0);
});
process.stdout.write("ready\n");
