/**
 * The writer: the Worker side of a capture without journal (`--no-journal`). Takes records from the
 * ring (frames, obcap's own gap records, loss markers), decodes and validates the frames, and writes
 * them to DynamoDB (batched) or as journal lines. Web standards plus `node:fs` for the journal file;
 * the Worker entry (`src/cli/writer.worker.ts`) only wires messages.
 *
 * Backpressure: frames are taken from the ring only as fast as the sink accepts them. When DynamoDB is
 * slow the ring fills, and the main thread's FramePublisher applies the full-queue policy; the
 * receive loop itself never waits. A loss marker becomes a gap record of every channel.
 *
 * The end: once the ring is closed and drained, the main thread's `finish` brings the records that did
 * not fit in the ring before its close deadline; they are stored, then everything open is flushed.
 */
import { RingConsumer } from "../queue/ring.ts";
import { decodeLoss, RECORD_KIND, type QueueRecord } from "../queue/frame-publisher.ts";
import { decodeFrame, decodeOwnRecord } from "../exchange/bitstamp/decode.ts";
import { countChannelFrame, emptyWriterStats, type WriterFinish, type WriterInit, type WriterMessage, type WriterStats } from "./writer-protocol.ts";
import { createSink, type WriterSink } from "./writer-sinks.ts";
import { describeError, isObcapError } from "../base/errors.ts";
import { gapRecord } from "../model/gap-record.ts";

/** Records taken from the ring per drain call: bounds the work between two awaits. */
const DRAIN_CHUNK_RECORDS = 500;
/** The first rejected frames of each code are reported in full; after that one in this many. */
const REJECT_REPORT_FIRST = 5;
const REJECT_REPORT_EVERY = 1000;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const lenient = new TextDecoder();
const encoder = new TextEncoder();

/** One run of the writer Worker; `control()` takes the main thread's `finish`. */
export class WriterRun {
  private readonly finish = Promise.withResolvers<QueueRecord[]>();

  constructor(private readonly init: WriterInit, private readonly post: (message: WriterMessage) => void) {}

  control(message: WriterFinish): void {
    if (message.type === "finish") this.finish.resolve(message.leftovers);
  }

  /** Runs until the ring is closed, drained and finished, or a fatal error. */
  async run(): Promise<void> {
    const { init, post } = this;
    const stats: WriterStats = emptyWriterStats();
    const consumer = new RingConsumer(init.ring);
    let sink: WriterSink;
    try {
      sink = createSink(init, stats, (message) => post({ type: "retry", message }), (reason) => reject("E_FRAME_UNSTORABLE", reason));
    } catch (err) {
      post({ type: "fatal", code: isObcapError(err) ? err.code : "E_WORKER_FAILED", message: describeError(err), stats });
      return;
    }
    post({ type: "ready" });

    const snapshot = (): WriterStats => {
      const s = sink.snapshot();
      s.settledFrames = sink.settledFrames();
      return s;
    };

    const takeFrame = (bytes: Uint8Array, rxMicros: number): void => {
      stats.frames++;
      let text: string;
      try {
        text = utf8.decode(bytes);
      } catch {
        reject("E_FRAME_UTF8", `frame is not valid UTF-8 (${bytes.length} bytes, received at ${rxMicros} µs)`);
        sink.skip(); // no text line can hold it without loss; counted
        return;
      }
      const result = decodeFrame(text, rxMicros);
      countChannelFrame(stats, result, rxMicros);
      switch (result.kind) {
        case "event":
          stats.events++;
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
        case "invalid":
          reject(result.code, result.message);
          sink.takeOther(text, rxMicros);
          return;
        default:
          // Control frames are picked out before the ring; one that arrives here is kept, not stored.
          sink.takeOther(text, rxMicros);
      }
    };

    const takeOwn = (record: string, rxMicros: number): void => {
      const result = decodeOwnRecord(record, rxMicros);
      if (result.kind === "gap") sink.takeOwn(result, record, rxMicros);
      else if (result.kind === "invalid") reject(result.code, result.message);
    };

    const onRecord = (bytes: Uint8Array, rxMicros: number, kind: number): void => {
      if (kind === RECORD_KIND.frame) return takeFrame(bytes, rxMicros);
      if (kind === RECORD_KIND.own) return takeOwn(lenient.decode(bytes), rxMicros);
      const loss = kind === RECORD_KIND.loss ? decodeLoss(bytes) : undefined;
      if (loss) takeOwn(gapRecord({ channels: init.channels, startMicros: loss.firstRxMicros, endMicros: loss.lastRxMicros, reason: "overflow" }), Math.trunc(loss.lastRxMicros));
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
          post({ type: "progress", stats: snapshot() });
        }
        if (taken > 0) continue;
        if (consumer.isClosedAndEmpty()) break;
        await sink.lingerFlush(now, init.lingerMs);
        // Wait for data, but wake for the linger deadline and the progress report.
        waiting ??= consumer.waitForData().finally(() => (waiting = undefined));
        const wakeMs = Math.min(init.progressEveryMs, sink.hasOpenBatch() ? init.lingerMs : init.progressEveryMs);
        await Promise.race([waiting, sleep(wakeMs)]);
      }
      for (const record of await this.finish.promise) {
        onRecord(typeof record.payload === "string" ? encoder.encode(record.payload) : record.payload, record.rxMicros, record.kind);
      }
      await sink.finish();
      post({ type: "done", stats: snapshot() });
    } catch (err) {
      post({
        type: "fatal",
        code: isObcapError(err) ? err.code : "E_WORKER_FAILED",
        message: isObcapError(err) ? err.message : describeError(err),
        stats: snapshot(),
      });
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
