/**
 * One capture session: check pairs and table, start the writer Worker, open the feed, pump frames
 * into the ring until told to stop, then drain and report. Web standards only; the runtime (socket
 * factory, Worker, signals) is passed in (`src/runtime/bun/`).
 *
 *   exchange --frames--> FramePublisher --ring--> writer Worker --> DynamoDB | journal lines
 */
import { ERROR_CODES, EXIT, describeError, isObcapError, obcapError, type ExitCode, type ObcapError } from "../errors.ts";
import { log } from "../log.ts";
import type { MicrosClock } from "../clock.ts";
import { channelName, type Stream } from "../exchange/bitstamp/channels.ts";
import { openFeed, type SocketFactory } from "../exchange/bitstamp/connection.ts";
import { fetchExchangePairs, MAX_CHANNELS_PER_CONNECTION, resolvePairs } from "../exchange/bitstamp/pairs.ts";
import { createRing, RingProducer } from "../queue/ring.ts";
import { FramePublisher, type LossInfo } from "../queue/frame-publisher.ts";
import { emptyWriterStats, type WriterMessage, type WriterStats, type WriterTarget } from "../pipeline/writer-protocol.ts";
import { createDynamoClient } from "../store/dynamodb/client.ts";
import { openCaptureTable } from "../store/dynamodb/table.ts";

export interface CaptureOptions {
  /** `--pair` values already split (or `["all"]`). */
  pairs: string[];
  streams: Stream[];
  wsUrl: string;
  restUrl: string;
  /** DynamoDB (table, endpoint, region, in-flight) or journal lines (path or stdout). */
  target:
    | { kind: "dynamodb"; table: string; endpoint?: string; region?: string; maxInFlight: number }
    | { kind: "journal-lines"; path: string | null };
  queueBytes: number;
  overflowBytes: number;
  lingerMs: number;
  subscribeTimeoutMs: number;
  shutdownMs: number;
  progressEveryMs: number;
  /** A progress line in the log this often. */
  logEveryMs: number;
}

export interface CaptureRuntime {
  createSocket: SocketFactory;
  createWriterWorker(): Worker;
  /** Calls `onStop` on SIGINT/SIGTERM; returns a function that removes the handlers. */
  onStopSignal(onStop: (signal: string) => void): () => void;
  clock: MicrosClock;
}

export interface CaptureResult {
  exitCode: ExitCode;
  error?: ObcapError;
  framesReceived: number;
  lostFrames: number;
  writer?: WriterStats;
  subscribeMicros: number;
}

type StopReason = { kind: "signal"; signal: string } | { kind: "error"; error: ObcapError };

/** Runs a capture to its end. Throws ObcapError for start-up failures; later ones are in the result. */
export async function runCapture(options: CaptureOptions, runtime: CaptureRuntime): Promise<CaptureResult> {
  const startMicros = runtime.clock();
  const exchangePairs = await fetchExchangePairs(options.restUrl);
  const pairs = resolvePairs(options.pairs, exchangePairs);
  const channels = pairs.flatMap((pair) => options.streams.map((stream) => channelName(stream, pair)));
  if (channels.length > MAX_CHANNELS_PER_CONNECTION) {
    throw obcapError(
      "E_USAGE",
      `${pairs.length} pairs x ${options.streams.length} channels = ${channels.length} subscriptions, over Bitstamp's ` +
        `${MAX_CHANNELS_PER_CONNECTION} per connection; choose fewer pairs or --channels`,
    );
  }

  let target: WriterTarget;
  if (options.target.kind === "dynamodb") {
    const { table, endpoint, region, maxInFlight } = options.target;
    const client = createDynamoClient({ endpoint, region });
    try {
      const { shards } = await openCaptureTable({ client, table });
      target = { kind: "dynamodb", table, endpoint, region, shards, maxInFlight };
      log.info(`table ${table}: ${shards} shards per pair, stream and hour`);
    } finally {
      client.destroy();
    }
  } else {
    target = options.target;
  }

  // Stop requests may arrive from here on: signals, the feed, the writer.
  const { promise: stopped, resolve: stop } = Promise.withResolvers<StopReason>();
  const removeSignals = runtime.onStopSignal((signal) => stop({ kind: "signal", signal }));

  const ring = createRing(options.queueBytes);
  const publisher = new FramePublisher(new RingProducer(ring), {
    overflowBytes: options.overflowBytes,
    onLoss: (info) => log.error(describeLoss(info)),
    onOversize: (info) => log.error(`frame of ${info.frameBytes} bytes is larger than the queue's largest record (${info.maxPayloadBytes} bytes); counted, not stored (raise --queue-mb): ${info.preview}`),
  });

  const writer = startWriter(runtime.createWriterWorker(), ring, target, options, (error) => stop({ kind: "error", error }));
  let framesReceived = 0;
  let subscribeMicros = 0;
  let feed: ReturnType<typeof openFeed> | undefined;
  try {
    await Promise.race([writer.ready, stopped.then((r) => { if (r.kind === "error") throw r.error; })]);
    feed = openFeed({
      url: options.wsUrl,
      channels,
      createSocket: runtime.createSocket,
      clock: runtime.clock,
      subscribeTimeoutMs: options.subscribeTimeoutMs,
      handlers: {
        onData(frame, rxMicros) {
          framesReceived++;
          publisher.publish(frame, rxMicros);
        },
        onBinary(frame, rxMicros) {
          framesReceived++;
          publisher.publishBytes(frame, rxMicros);
        },
        onControl: feedOnControl,
        onLost: (error) => stop({ kind: "error", error }),
      },
    });
    await Promise.race([feed.ready, stopped]);
    subscribeMicros = runtime.clock() - startMicros;
    log.success(
      `capturing ${channels.length} channels (${pairs.join(", ")}) from ${options.wsUrl}; subscribed in ${(subscribeMicros / 1000).toFixed(0)} ms`,
    );
  } catch (err) {
    stop({ kind: "error", error: isObcapError(err) ? err : obcapError("E_INTERNAL", describeError(err), err) });
  }

  const progress = setInterval(() => {
    const w = writer.latest();
    const p = publisher.stats();
    log.info(
      `received ${framesReceived} frames, written ${w.written}, in flight ${w.inFlight}, ` +
        `queue ${(p.ringUsedBytes / 1024).toFixed(0)} KiB (high ${(p.ringHighWaterBytes / 1024).toFixed(0)} KiB), lost ${p.lostFrames}`,
    );
  }, options.logEveryMs);

  const reason = await stopped;
  clearInterval(progress);
  removeSignals();
  if (reason.kind === "signal") log.info(`${reason.signal}: stopping, draining the queue`);

  // Stop reading first, then let the writer drain the ring and flush its batches.
  feed?.close();
  const deadline = Date.now() + options.shutdownMs;
  await publisher.close(options.shutdownMs);
  const final = await writer.finished(Math.max(0, deadline - Date.now()));
  const p = publisher.stats();
  const result: CaptureResult = {
    exitCode: EXIT.ok,
    framesReceived,
    lostFrames: p.lostFrames,
    writer: final.stats,
    subscribeMicros,
  };
  const error = reason.kind === "error" ? reason.error : final.error;
  if (error) {
    result.error = error;
    result.exitCode = error.exitCode;
  } else if (p.lostFrames > 0) {
    result.error = obcapError("E_FRAMES_LOST", `${p.lostFrames} frames (${p.lostBytes} bytes) were lost because the queue was full; see the log for the intervals`);
    result.exitCode = EXIT.dataLoss;
  }
  return result;
}

function feedOnControl(event: string, channel: string, frame: string): void {
  switch (event) {
    case "bts:heartbeat":
      log.debug("heartbeat answered");
      return;
    case "bts:request_reconnect":
      log.warn("the exchange asked to reconnect (bts:request_reconnect); it will close this connection soon");
      return;
    case "bts:error":
      log.warn(`the exchange sent bts:error: ${frame.slice(0, 200)}`);
      return;
    case "bts:subscription_succeeded":
    case "bts:unsubscription_succeeded":
      log.debug(`${event} ${channel}`);
      return;
    default:
      log.warn(`unexpected control frame ${event} on '${channel}': ${frame.slice(0, 200)}`);
  }
}

function describeLoss(info: LossInfo): string {
  const from = new Date(info.firstLostRxMicros / 1000).toISOString();
  const to = new Date(info.lastLostRxMicros / 1000).toISOString();
  return info.phase === "ended"
    ? `queue recovered: ${info.lostFrames} frames (${info.lostBytes} bytes) lost between ${from} and ${to}`
    : `QUEUE FULL: frames are being lost (${info.lostFrames} so far, since ${from}); the writer cannot keep up with the feed`;
}

interface WriterHandle {
  ready: Promise<void>;
  latest(): WriterStats;
  finished(timeoutMs: number): Promise<{ stats?: WriterStats; error?: ObcapError }>;
}

function startWriter(
  worker: Worker,
  ring: SharedArrayBuffer,
  target: WriterTarget,
  options: CaptureOptions,
  onFatal: (error: ObcapError) => void,
): WriterHandle {
  const ready = Promise.withResolvers<void>();
  const done = Promise.withResolvers<{ stats?: WriterStats; error?: ObcapError }>();
  let latest: WriterStats | undefined;
  worker.onmessage = (ev: MessageEvent<WriterMessage>) => {
    const message = ev.data;
    switch (message.type) {
      case "ready":
        ready.resolve();
        return;
      case "progress":
        latest = message.stats;
        return;
      case "rejected":
        log.warn(`frame rejected (${message.code}, #${message.count}): ${message.message}`);
        return;
      case "unknown-kind":
        log.warn(`frames of kind ${message.kind} are not stored (counted); first: ${message.sample}`);
        return;
      case "retry":
        log.debug(message.message);
        return;
      case "fatal": {
        latest = message.stats;
        const error = obcapError(knownCode(message.code), message.message);
        ready.reject(error);
        done.resolve({ stats: message.stats, error });
        onFatal(error);
        return;
      }
      case "done":
        latest = message.stats;
        done.resolve({ stats: message.stats });
        return;
    }
  };
  worker.onerror = (ev: ErrorEvent) => {
    const error = obcapError("E_WORKER_FAILED", `the writer worker failed: ${ev.message}`);
    ready.reject(error);
    done.resolve({ stats: latest, error });
    onFatal(error);
  };
  worker.postMessage({
    type: "init",
    ring,
    target,
    lingerMs: options.lingerMs,
    progressEveryMs: options.progressEveryMs,
  });
  ready.promise.catch(() => {}); // observed through onFatal
  return {
    ready: ready.promise,
    latest: () => latest ?? emptyWriterStats(),
    async finished(timeoutMs) {
      const timer = new Promise<{ error: ObcapError }>((resolve) =>
        setTimeout(
          () => resolve({ error: obcapError("E_WORKER_FAILED", `the writer did not finish within ${timeoutMs} ms of the stop; what it had not written is lost (raise --shutdown-ms)`) }),
          timeoutMs,
        ),
      );
      const result = await Promise.race([done.promise, timer]);
      worker.terminate();
      return { stats: latest, ...result };
    },
  };
}

function knownCode(code: string): ObcapError["code"] {
  return (code in ERROR_CODES ? code : "E_WORKER_FAILED") as ObcapError["code"];
}
