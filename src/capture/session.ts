/**
 * One capture session: check pairs and table, start the writer Worker, start the feed supervisor
 * (heartbeats, reconnects, gaps), pump frames and gap records into the ring until told to stop, then
 * drain and report. Web standards only; the runtime (socket factory, Worker, signals) is passed in
 * (`src/runtime/bun/`).
 *
 *   exchange --frames--> FramePublisher --ring--> writer Worker --> DynamoDB | journal lines
 */
import { ERROR_CODES, EXIT, describeError, isObcapError, obcapError, type ExitCode, type ObcapError } from "../errors.ts";
import { log } from "../log.ts";
import type { MicrosClock } from "../clock.ts";
import { channelName, type Stream } from "../exchange/bitstamp/channels.ts";
import type { SocketFactory } from "../exchange/bitstamp/connection.ts";
import { startFeedSupervisor, type FeedStats, type FeedSupervisor } from "../exchange/bitstamp/feed-supervisor.ts";
import { gapFrame, type FeedGap } from "../exchange/bitstamp/gap-frame.ts";
import { fetchExchangePairs, MAX_CHANNELS_PER_CONNECTION, resolvePairs } from "../exchange/bitstamp/pairs.ts";
import { createRing, RingProducer } from "../queue/ring.ts";
import { FramePublisher, type LossInfo } from "../queue/frame-publisher.ts";
import { emptyWriterStats, type WriterMessage, type WriterStats, type WriterTarget } from "../pipeline/writer-protocol.ts";
import { createDynamoClient } from "../store/dynamodb/client.ts";
import { openCaptureTable } from "../store/dynamodb/table.ts";
import type { JournalSettings } from "../pipeline/journal-protocol.ts";
import { startJournalPipeline, type JournalPipeline, type JournalSummary, type JournalWorkers } from "./journal-pipeline.ts";
import type { LockHolder } from "../journal/lock.ts";
import { startOperations, type CaptureProbe, type ListenHttp, type MetricsOptions } from "./operations.ts";

export interface CaptureOptions {
  /** `--pair` values already split (or `["all"]`). */
  pairs: string[];
  streams: Stream[];
  wsUrl: string;
  restUrl: string;
  /**
   * DynamoDB (table, endpoint, region, in-flight), journal lines (`--out`: a path or stdout), or
   * nothing but the journal directory (`journal-only`, needs `journal`).
   */
  target:
    | { kind: "dynamodb"; table: string; endpoint?: string; region?: string; maxInFlight: number }
    | { kind: "journal-lines"; path: string | null }
    | { kind: "journal-only" };
  /**
   * The durable journal (`--journal DIR`): every frame is appended there first; with a table an
   * uploader writes DynamoDB from it. Undefined (`--no-journal`): the writer Worker takes frames from
   * the ring straight to DynamoDB or journal lines, with no durability across crashes.
   */
  journal?: JournalSettings;
  queueBytes: number;
  overflowBytes: number;
  lingerMs: number;
  subscribeTimeoutMs: number;
  /** `--heartbeat-ms`: a heartbeat per connection this often. */
  heartbeatMs: number;
  /** `--stale-ms`: a connection with no frame at all (data or heartbeat answer) for this long is replaced. */
  staleMs: number;
  /** `--reconnect-max-ms`: cap of the backoff between failed reconnects. */
  reconnectMaxMs: number;
  shutdownMs: number;
  progressEveryMs: number;
  /** A progress line in the log this often. */
  logEveryMs: number;
  /**
   * The journal directory, locked for the whole capture (one capture per directory; a second one
   * returns `lockHeld` at once). Undefined: no directory is used, so nothing is locked.
   */
  journalDir?: string;
  /** `--metrics-host`/`--metrics-port`: serve Prometheus metrics there. Undefined = off. */
  metrics?: MetricsOptions;
}

export interface CaptureRuntime {
  createSocket: SocketFactory;
  createWriterWorker(): Worker;
  /** The journal and uploader Workers (needed when `journal` is set). */
  journalWorkers?: JournalWorkers;
  /** Calls `onStop` on SIGINT/SIGTERM; returns a function that removes the handlers. */
  onStopSignal(onStop: (signal: string) => void): () => void;
  clock: MicrosClock;
  /** Serves the metrics endpoint (needed when `metrics` is set). */
  listenHttp?: ListenHttp;
}

export interface CaptureResult {
  exitCode: ExitCode;
  error?: ObcapError;
  framesReceived: number;
  lostFrames: number;
  writer?: WriterStats;
  /** Connections, reconnects, gaps, overlap duplicates. */
  feed?: FeedStats;
  subscribeMicros: number;
  /** The journal at the end (with `journal`): size, quarantine, what is not yet in DynamoDB. */
  journal?: JournalSummary;
  /** Another live capture holds the journal directory: nothing was started, exit 0. */
  lockHeld?: { dir: string; heldBy: LockHolder };
}

type StopReason = { kind: "signal"; signal: string } | { kind: "error"; error: ObcapError };

/**
 * Runs a capture to its end. Throws ObcapError for start-up failures; later ones are in the result.
 * The journal directory is locked first, before anything touches it (`lockHeld` in the result when
 * another capture holds it), then the metrics endpoint starts; both end with the capture.
 */
export async function runCapture(options: CaptureOptions, runtime: CaptureRuntime): Promise<CaptureResult> {
  const operations = startOperations(options, runtime);
  if (operations.kind === "lock-held") {
    return { exitCode: EXIT.ok, framesReceived: 0, lostFrames: 0, subscribeMicros: 0, lockHeld: { dir: operations.dir, heldBy: operations.heldBy } };
  }
  try {
    return await runSession(options, runtime, operations.probe);
  } finally {
    await operations.stop();
  }
}

async function runSession(options: CaptureOptions, runtime: CaptureRuntime, probe: CaptureProbe): Promise<CaptureResult> {
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

  let target: WriterTarget | { kind: "journal-only" };
  /** DynamoDB did not answer at start-up: the uploader reads the shard count once it does. */
  let shardsPending = false;
  if (options.target.kind === "dynamodb") {
    const { table, endpoint, region, maxInFlight } = options.target;
    const client = createDynamoClient({ endpoint, region });
    try {
      const { shards } = await openCaptureTable({ client, table });
      target = { kind: "dynamodb", table, endpoint, region, shards, maxInFlight };
      log.info(`table ${table}: ${shards} shards per pair, stream and hour`);
    } catch (err) {
      // With the journal, an unreachable DynamoDB does not stop the capture at start-up either:
      // frames are kept on disk and uploaded once it answers. Other errors (no table, credentials) do.
      if (!options.journal || !isObcapError(err) || err.code !== "E_DDB_UNREACHABLE") throw err;
      log.warn(`${err.message}; capturing into the journal ${options.journal.dir} meanwhile, the upload starts when DynamoDB answers`);
      target = { kind: "dynamodb", table, endpoint, region, shards: 0, maxInFlight };
      shardsPending = true;
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
    onLoss: (info) => {
      log.error(describeLoss(info));
      // Frames dropped before the ring are a known gap on every channel; recorded once the ring has
      // room again (after this callback, not inside the publisher's own drain).
      if (info.phase === "ended") {
        const gaps = channels.map((channel): FeedGap => ({ channel, startMicros: info.firstLostRxMicros, endMicros: info.lastLostRxMicros, reason: "overflow" }));
        queueMicrotask(() => gaps.forEach(publishGap));
      }
    },
    onOversize: (info) => {
      const reason = `frame of ${info.frameBytes} bytes is larger than the queue's largest record (${info.maxPayloadBytes} bytes)`;
      log.error(`${reason}; counted, ${journalPipeline ? `quarantined in ${options.journal?.dir}` : "not stored"} (raise --queue-mb): ${info.preview}`);
      journalPipeline?.quarantineFrame("E_FRAME_OVERSIZE", reason, info.frame, info.rxMicros);
    },
  });

  /** A gap travels as a frame, like data, so the journal and the table both record it. */
  const publishGap = (gap: FeedGap): void => {
    publisher.publish(gapFrame(gap), runtime.clock());
  };

  const onWriterFatal = (error: ObcapError) => stop({ kind: "error", error });
  let journalPipeline: JournalPipeline | undefined;
  if (options.journal) {
    if (!runtime.journalWorkers) throw obcapError("E_INTERNAL", "a journal was asked for but the runtime has no journal workers");
    journalPipeline = startJournalPipeline(runtime.journalWorkers, {
      ring,
      journal: options.journal,
      upload: target.kind === "dynamodb" ? { ...target, shards: shardsPending ? undefined : target.shards } : undefined,
      tee: target.kind === "journal-lines" ? { path: target.path } : undefined,
      lingerMs: options.lingerMs,
      progressEveryMs: options.progressEveryMs,
      pid: typeof process === "object" ? process.pid : 0,
      onFatal: onWriterFatal,
    });
  } else if (target.kind === "journal-only") {
    throw obcapError("E_USAGE", "without --table and without the journal there is no output: give --out FILE (or --out -)");
  }
  const writer = journalPipeline ?? startWriter(runtime.createWriterWorker(), ring, target as WriterTarget, options, onWriterFatal);
  let framesReceived = 0;
  let subscribeMicros = 0;
  let feed: FeedSupervisor | undefined;
  probe.attach(() => ({
    receivedFrames: framesReceived,
    writer: writer.latest(),
    queue: { ...publisher.stats(), ringCapacityBytes: options.queueBytes },
    ...(feed ? { connection: feed.stats() } : {}),
    journal: journalPipeline?.backlog(),
  }));
  try {
    await Promise.race([writer.ready, stopped.then((r) => { if (r.kind === "error") throw r.error; })]);
    feed = startFeedSupervisor({
      url: options.wsUrl,
      channels,
      createSocket: runtime.createSocket,
      clock: runtime.clock,
      subscribeTimeoutMs: options.subscribeTimeoutMs,
      heartbeatMs: options.heartbeatMs,
      staleMs: options.staleMs,
      reconnectMaxMs: options.reconnectMaxMs,
      log,
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
        onGap(gap) {
          log.warn(describeGap(gap));
          publishGap(gap);
        },
        onFatal: (error) => stop({ kind: "error", error }),
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
    const f = feed?.stats();
    const liveness = f && (f.reconnects > 0 || f.gaps > 0 || f.overlaps > 0)
      ? `, reconnects ${f.reconnects}, gaps ${f.gaps}, overlap duplicates dropped ${f.duplicatesDropped}`
      : "";
    log.info(
      `received ${framesReceived} frames, written ${w.written}, in flight ${w.inFlight}, ` +
        `queue ${(p.ringUsedBytes / 1024).toFixed(0)} KiB (high ${(p.ringHighWaterBytes / 1024).toFixed(0)} KiB), lost ${p.lostFrames}${liveness}` +
        (journalPipeline ? `, ${journalPipeline.progressNote()}` : ""),
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
    feed: feed?.stats(),
    subscribeMicros,
    ...((final as { journal?: JournalSummary }).journal ? { journal: (final as { journal: JournalSummary }).journal } : {}),
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
    case "bts:request_reconnect":
      // Acted on (and logged) by the feed supervisor: make-before-break.
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

function describeGap(gap: FeedGap): string {
  const from = new Date(gap.startMicros / 1000).toISOString();
  const to = new Date(gap.endMicros / 1000).toISOString();
  return `GAP on ${gap.channel}: events between ${from} and ${to} (${((gap.endMicros - gap.startMicros) / 1000).toFixed(0)} ms) may be missing (${gap.reason}); recorded as a gap item`;
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
