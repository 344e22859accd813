/**
 * The journal Worker's loop: drains the ring ALWAYS (it never waits for DynamoDB) and appends every
 * frame to the journal segments (appender.ts). Web standards + `node:fs`; the Worker entry
 * (`src/cli/journal.worker.ts`) only wires `postMessage`.
 *
 * After each write it bumps the shared writes counter and notifies the uploader; after a rotation it
 * bumps the rotations counter. Waiting: `Atomics.waitAsync` on the ring (no timeout, BUN-NOTES),
 * raced with a timer for the next fsync or age rotation and the progress report.
 */
import { openSync } from "node:fs";
import { RingConsumer } from "../queue/ring.ts";
import { JournalAppender } from "./appender.ts";
import { nowMicros } from "../clock.ts";
import { describeError, isObcapError, obcapError } from "../errors.ts";
import { SIGNAL_ROTATIONS, SIGNAL_WRITES, type JournalWriterInit, type JournalWriterMessage } from "../pipeline/journal-protocol.ts";

/** Records per drain call; the loop checks timers between calls. */
const DRAIN_CHUNK_RECORDS = 2000;
/** A busy loop yields to the event loop this often (messages, terminate). */
const YIELD_EVERY_MS = 50;

/** Runs until the ring is closed and drained (then "done"), or a journal I/O error ("fatal"). */
export async function runJournalWriter(init: JournalWriterInit, post: (message: JournalWriterMessage) => void): Promise<void> {
  const signal = new Int32Array(init.signal);
  const consumer = new RingConsumer(init.ring);
  let appender: JournalAppender;
  try {
    appender = new JournalAppender({
      dir: init.journal.dir,
      pid: init.pid,
      segmentBytes: init.journal.segmentBytes,
      segmentAgeMs: init.journal.segmentAgeMs,
      fsyncMs: init.journal.fsyncMs,
      clockMicros: nowMicros,
      teeFd: openTee(init.tee),
      onWritten: () => {
        Atomics.add(signal, SIGNAL_WRITES, 1);
        Atomics.notify(signal, SIGNAL_WRITES);
      },
      onRotated: () => {
        Atomics.add(signal, SIGNAL_ROTATIONS, 1);
        Atomics.notify(signal, SIGNAL_WRITES);
      },
    });
    const segment = appender.open();
    post({ type: "ready", segment, stats: appender.stats() });
  } catch (err) {
    post({ type: "fatal", ...describe(err), stats: emptyStats() });
    return;
  }

  const onRecord = (bytes: Uint8Array, rxMicros: number): void => appender.append(bytes, rxMicros);
  let lastProgressMs = performance.now();
  let lastYieldMs = lastProgressMs;
  let waiting: Promise<void> | undefined;
  try {
    for (;;) {
      const taken = consumer.drain(onRecord, DRAIN_CHUNK_RECORDS);
      const now = performance.now();
      if (now - lastProgressMs >= init.progressEveryMs) {
        lastProgressMs = now;
        post({ type: "progress", stats: appender.stats() });
      }
      if (taken > 0) {
        appender.tick(now);
        if (now - lastYieldMs >= YIELD_EVERY_MS) {
          lastYieldMs = now;
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
        continue;
      }
      // The ring ran dry: hand the lines to the OS now, so the uploader and readers see them.
      appender.flush();
      appender.tick(now);
      if (consumer.isClosedAndEmpty()) break;
      waiting ??= consumer.waitForData().finally(() => (waiting = undefined));
      const dueMs = appender.msUntilDue(performance.now());
      const wakeMs = Math.min(init.progressEveryMs, dueMs ?? init.progressEveryMs);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([waiting, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(1, wakeMs))))]);
      clearTimeout(timer);
      lastYieldMs = performance.now();
    }
    appender.close();
    post({ type: "done", stats: appender.stats() });
  } catch (err) {
    post({ type: "fatal", ...describe(err), stats: appender.stats() });
  }
}

/** `--out`: stdout (fd 1) or a file opened for appending. */
function openTee(tee: JournalWriterInit["tee"]): number | undefined {
  if (tee === undefined) return undefined;
  if (tee.path === null) return 1;
  try {
    return openSync(tee.path, "a");
  } catch (err) {
    throw obcapError("E_JOURNAL_IO", `cannot open --out file ${tee.path} (${describeError(err)}): check the path and its permissions`, err);
  }
}

function describe(err: unknown): { code: string; message: string } {
  if (isObcapError(err)) return { code: err.code, message: err.message };
  return { code: "E_WORKER_FAILED", message: `the journal worker failed: ${describeError(err)}` };
}

function emptyStats(): JournalWriterMessage["stats"] {
  return { frames: 0, lines: 0, bytes: 0, rawLines: 0, base64Lines: 0, segment: "", segmentsOpened: 0, fsyncs: 0, maxFsyncMs: 0, totalFsyncMs: 0 };
}
