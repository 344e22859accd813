/**
 * Temporary directories for tests, under one root per test process that is removed once the process
 * is gone (`bun test` does not run exit handlers reliably, so a detached watcher does it, as in env.ts).
 * Each obcap run gets its own working directory: the default journal `./obcap-data` (and its lock)
 * is then private to the run.
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let root: string | undefined;

/** A new empty directory, removed with the others after this test process exits. */
export function testTempDir(prefix: string): string {
  root ??= createRoot();
  return mkdtempSync(join(root, `${prefix}-`));
}

function createRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), "obcap-test-"));
  const watcher = spawn("sh", ["-c", `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done; rm -rf '${dir}'`], {
    detached: true,
    stdio: "ignore",
  });
  watcher.unref();
  return dir;
}
