/**
 * The writer: the Worker side of the capture. Takes raw frames from the ring, decodes and validates
 * them, and writes them to DynamoDB (batched) or as journal lines. Web standards plus `node:fs` for
 * the journal file; the Worker entry (`src/cli/writer.worker.ts`) only wires `postMessage`.
 *
 * Backpressure: frames are taken from the ring only as fast as the sink accepts them. When DynamoDB is
 * slow the ring fills, and the main thread's FramePublisher applies the full-queue policy; the
 * receive loop itself never waits.
 */
import { RingConsumer } from "../queue/ring.ts";
import { decodeFrame } from "./decode.ts";
import { countChannelFrame, emptyWriterStats, type WriterInit, type WriterMessage, type WriterStats } from "./writer-protocol.ts";
import { createSink, type WriterSink } from "./writer-sinks.ts";
import { describeError, isObcapError } from "../errors.ts";

/** Records taken from the ring per drain call: bounds the work between two awaits. */
const DRAIN_CHUNK_RECORDS = 500;
/** The first rejected frames of each code are reported in full; after that one in this many. */
const REJECT_REPORT_FIRST = 5;
const REJECT_REPORT_EVERY = 1000;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Runs until the ring is closed and everything is written, or a fatal error. */
export async function runWriter(init: WriterInit, post: (message: WriterMessage) => void): Promise<void> {
  const stats: WriterStats = emptyWriterStats();
  const consumer = new RingConsumer(init.ring);
  let sink: WriterSink;
  try {
    sink = createSink(init, stats, (message) => post({ type: "retry", message }));
  } catch (err) {
    post({ type: "fatal", code: isObcapError(err) ? err.code : "E_WORKER_FAILED", message: describeError(err), stats });
    return;
  }
  post({ type: "ready" });

  const onRecord = (bytes: Uint8Array, rxMicros: number): void => {
    stats.frames++;
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      reject("E_FRAME_UTF8", `frame is not valid UTF-8 (${bytes.length} bytes, received at ${rxMicros} µs)`);
      return;
    }
    const result = decodeFrame(text, rxMicros);
    countChannelFrame(stats, result, rxMicros);
    switch (result.kind) {
      case "event":
        stats.events++;
        sink.takeStored(result, text, rxMicros);
        return;
      case "gap":
        sink.takeStored(result, text, rxMicros);
        return;
      case "unknown": {
        const kind = `${result.event}@${result.channel.replace(/_[a-z0-9-]+$/, "")}`;
        const seen = stats.unknown[kind] ?? 0;
        stats.unknown[kind] = seen + 1;
        if (seen === 0) post({ type: "unknown-kind", kind, sample: text.slice(0, 200) });
        sink.takeOther(text, rxMicros);
        return;
      }
      case "control":
        // The main thread picks control frames out before the ring; one that arrives here is kept.
        sink.takeOther(text, rxMicros);
        return;
      case "invalid":
        reject(result.code, result.message);
        return;
    }
  };

  function reject(code: string, message: string): void {
    const count = (stats.rejected[code] ?? 0) + 1;
    stats.rejected[code] = count;
    if (count <= REJECT_REPORT_FIRST || count % REJECT_REPORT_EVERY === 0) post({ type: "rejected", code, message, count });
  }

  let lastProgress = Date.now();
  let waiting: Promise<void> | undefined;
  try {
    for (;;) {
      const taken = consumer.drain(onRecord, DRAIN_CHUNK_RECORDS);
      await sink.pump();
      const now = Date.now();
      if (now - lastProgress >= init.progressEveryMs) {
        lastProgress = now;
        post({ type: "progress", stats: sink.snapshot() });
      }
      if (taken > 0) continue;
      if (consumer.isClosedAndEmpty()) break;
      await sink.lingerFlush(now, init.lingerMs);
      // Wait for data, but wake for the linger deadline and the progress report.
      waiting ??= consumer.waitForData().finally(() => (waiting = undefined));
      const wakeMs = Math.min(init.progressEveryMs, sink.hasOpenBatch() ? init.lingerMs : init.progressEveryMs);
      await Promise.race([waiting, sleep(wakeMs)]);
    }
    await sink.finish();
    post({ type: "done", stats: sink.snapshot() });
  } catch (err) {
    post({
      type: "fatal",
      code: isObcapError(err) ? err.code : "E_WORKER_FAILED",
      message: isObcapError(err) ? err.message : describeError(err),
      stats: sink.snapshot(),
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
