/**
 * The `--out` copy: never blocks, never cuts a line, bounded memory, counts what it skips. The write
 * here is a stand-in the test completes by hand (a pipe whose reader is stopped, then reads again);
 * the real pipe is exercised through the binary in tests/integration/journal-faults.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { TeeOutput } from "../../../src/journal/tee-output.ts";
import { waitFor } from "../../support/wait.ts";

const text = new TextDecoder();
const bytes = (s: string) => new TextEncoder().encode(s);

/** An fs.write stand-in: each call waits until the test answers it. */
function manualWrite() {
  const calls: Array<{ data: string; done: (err: NodeJS.ErrnoException | null, written: number) => void }> = [];
  return {
    calls,
    writeAsync: (_fd: number, data: Uint8Array, done: (err: NodeJS.ErrnoException | null, written: number) => void) => {
      calls.push({ data: text.decode(data), done });
    },
    /** Completes the oldest pending write with `written` bytes (all by default) or an error code. */
    answer(written?: number | string) {
      const call = calls.shift()!;
      if (typeof written === "string") call.done(Object.assign(new Error(written), { code: written }), 0);
      else call.done(null, written ?? bytes(call.data).length);
    },
  };
}

describe("TeeOutput", () => {
  test("writes chunks in order, one at a time", () => {
    const w = manualWrite();
    const tee = new TeeOutput({ fd: 1, name: "stdout", writeAsync: w.writeAsync });
    tee.offer(bytes("a\n"), 1);
    tee.offer(bytes("b\nc\n"), 2);
    expect(w.calls.map((c) => c.data)).toEqual(["a\n"]);
    w.answer();
    expect(w.calls.map((c) => c.data)).toEqual(["b\nc\n"]);
    w.answer();
    expect(tee.stats()).toEqual({ writtenLines: 3, skippedLines: 0, queuedBytes: 0 });
  });

  test("a reader that stops: once the queue holds its bound, new lines are skipped and counted, never queued", () => {
    const w = manualWrite();
    const tee = new TeeOutput({ fd: 1, name: "stdout", writeAsync: w.writeAsync, maxQueuedBytes: 10 });
    tee.offer(bytes("12345\n"), 1); // being written (the reader is stopped: no answer)
    tee.offer(bytes("abc\n"), 1); // 10 bytes queued: at the bound
    tee.offer(bytes("x\n"), 1);
    tee.offer(bytes("y\nz\n"), 2);
    expect(tee.stats()).toEqual({ writtenLines: 0, skippedLines: 3, queuedBytes: 10 });
    w.answer(); // the reader reads again
    w.answer();
    tee.offer(bytes("w\n"), 1);
    w.answer();
    expect(tee.stats()).toEqual({ writtenLines: 3, skippedLines: 3, queuedBytes: 0 });
  });

  test("a short write continues with the rest of the same chunk, so no line is cut", () => {
    const w = manualWrite();
    const tee = new TeeOutput({ fd: 1, name: "stdout", writeAsync: w.writeAsync });
    tee.offer(bytes("hello\nworld\n"), 2);
    tee.offer(bytes("next\n"), 1);
    w.answer(4);
    expect(w.calls.map((c) => c.data)).toEqual(["o\nworld\n"]);
    w.answer();
    expect(w.calls.map((c) => c.data)).toEqual(["next\n"]);
  });

  test("EAGAIN (a full non-blocking pipe) retries later; EPIPE (the reader went away) ends the copy", async () => {
    const w = manualWrite();
    const tee = new TeeOutput({ fd: 1, name: "stdout (--out -)", writeAsync: w.writeAsync, retryMs: 1 });
    tee.offer(bytes("a\n"), 1);
    w.answer("EAGAIN");
    await waitFor(() => w.calls.length > 0, { timeoutMs: 5_000, what: "the write retried after EAGAIN" });
    expect(w.calls.map((c) => c.data)).toEqual(["a\n"]);
    tee.offer(bytes("b\n"), 1);
    w.answer("EPIPE");
    tee.offer(bytes("c\n"), 1);
    expect(w.calls).toEqual([]);
    expect(tee.stats()).toEqual({ writtenLines: 0, skippedLines: 3, queuedBytes: 0, closedReason: "the program reading stdout (--out -) went away" });
  });

  test("close skips what is queued but lets the chunk being written finish", () => {
    const w = manualWrite();
    const tee = new TeeOutput({ fd: 1, name: "stdout", writeAsync: w.writeAsync });
    tee.offer(bytes("a\n"), 1);
    tee.offer(bytes("b\n"), 1);
    tee.close();
    expect(tee.stats().skippedLines).toBe(1);
    w.answer(1);
    expect(w.calls.map((c) => c.data)).toEqual(["\n"]);
    w.answer();
    tee.offer(bytes("c\n"), 1);
    expect(tee.stats()).toEqual({ writtenLines: 1, skippedLines: 2, queuedBytes: 0 });
  });
});
