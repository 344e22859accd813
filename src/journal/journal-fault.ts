/**
 * A stalled disk, for tests of the capture through the binary: while the file named by the environment
 * variable OBCAP_TEST_DISK_STALL_FILE exists, every write and fsync of a journal segment waits, as a
 * write to a disk that stopped answering would (the pipeline Worker blocks and answers nothing). Unset,
 * it does nothing. Web standards + `node:fs`; wired by the pipeline Worker's entry.
 */
import { existsSync } from "node:fs";

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** The hook for JournalStage, or undefined when no stall file is configured. */
export function diskStallFromEnv(env: Record<string, string | undefined>): (() => void) | undefined {
  const file = env.OBCAP_TEST_DISK_STALL_FILE;
  if (!file) return undefined;
  return () => {
    while (existsSync(file)) Atomics.wait(PAUSE, 0, 0, 20);
  };
}
