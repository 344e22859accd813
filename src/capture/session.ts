/**
 * One capture session: check pairs and table, start the pipeline Worker that consumes the ring, start
 * the feed supervisor (heartbeats, reconnects, gaps), pump frames and gap records into the ring until
 * told to stop, then drain and report. Web standards only; the runtime (socket factory, Workers,
 * signals) is passed in (`src/runtime/bun/`).
 *
 *   exchange --frames--> FramePublisher --ring--> pipeline Worker: journal stage -> segments -> upload stage -> DynamoDB
 *                                                 (--no-journal: journal stage -> --out, or upload stage from the ring)
 *
 * What the run's figures promise: every frame received is journaled (or, without a journal, settled
 * in the table or `--out`), quarantined (too large for the queue), or counted as lost and covered by a
 * gap record; `framesReceived = settledFrames + oversizeFrames + lostFrames`.
 */
import { EXIT, describeError, isObcapError, obcapError, type ExitCode, type ObcapError } from "../base/errors.ts";
import { log } from "../base/log.ts";
import type { MicrosClock } from "../base/clock.ts";
import { channelName, STREAM_CHANNEL_PREFIX, type Stream } from "../model/channels.ts";
import type { SocketFactory } from "../runtime/ports.ts";
import { startFeedSupervisor, type FeedStats, type FeedSupervisor } from "../exchange/bitstamp/feed-supervisor.ts";
import { gapFrame } from "../model/gap-record.ts";
import { fetchExchangePairs, MAX_CHANNELS_PER_CONNECTION, resolvePairs } from "../exchange/bitstamp/pairs.ts";
import { createRing, RingProducer } from "../queue/ring.ts";
import { FramePublisher } from "../queue/frame-publisher.ts";
import type { PipelineStats } from "../pipeline/pipeline-stats.ts";
import type { ConcurrencySettings } from "../store/dynamodb/write-concurrency.ts";
import type { JournalSettings } from "../journal/journal-protocol.ts";
import { startPipeline, type JournalSummary, type PipelineHandle, type ShutdownPlan } from "./pipeline-handle.ts";
import { runStartRecords, type RunStart } from "./run-start.ts";
import type { LockHolder } from "../journal/lock.ts";
import type { CreateWorker, FileLock, ListenHttp, OnStopSignal } from "../runtime/ports.ts";
import { describeGap, describeLoss, describeSnapshot, logControlFrame, progressLine } from "./capture-log.ts";
import { SnapshotFetcher, type FetchedSnapshot, type FetchFunction, type SnapshotFetcherStats } from "../exchange/bitstamp/snapshot-fetcher.ts";
import { journalBudget, previousRunOf } from "./journal-start.ts";
import { startLockAndMetrics, type CaptureProbe, type MetricsOptions } from "./lock-and-metrics.ts";

export interface CaptureOptions {
  /** `--pair` values already split (or `["all"]`). */
  pairs: string[];
  streams: Stream[];
  wsUrl: string;
  restUrl: string;
  /**
   * DynamoDB (table, endpoint, region, in-flight), journal lines (`--out` with --no-journal: a path or
   * stdout), or nothing but the journal directory (`journal-only`, needs `journal`).
   */
  target:
    | { kind: "dynamodb"; table: string; endpoint?: string; region?: string; inFlight: ConcurrencySettings }
    | { kind: "journal-lines"; path: string | null }
    | { kind: "journal-only" };
  /**
   * The durable journal (`--journal DIR`): every frame is appended there first; with a table the
   * upload stage writes DynamoDB from it. Undefined (`--no-journal`): the upload stage reads the ring
   * straight to DynamoDB, or the journal stage writes the lines to `--out`, with no durability across
   * crashes.
   */
  journal?: JournalSettings;
  /** `--out` beside the journal: a best-effort copy of the journal lines (a path, or stdout: null). */
  tee?: { path: string | null };
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
  /**
   * Order book snapshots (REST group=2) of every pair whose `live_orders` channel is captured: after
   * each subscription of the channel, then every `everyMs` (`--snapshot-every`; 0 = only after
   * subscriptions). Undefined: none.
   */
  snapshots?: { everyMs: number };
}

export interface CaptureRuntime {
  createSocket: SocketFactory;
  /** The pipeline Worker (src/cli/pipeline.worker.ts). */
  createPipelineWorker: CreateWorker;
  onStopSignal: OnStopSignal;
  clock: MicrosClock;
  /** The kernel's file lock, flock (needed when `journalDir` is set). */
  fileLock?: FileLock;
  /** Serves the metrics endpoint (needed when `metrics` is set). */
  listenHttp?: ListenHttp;
  /** The order book snapshots' HTTP client; default the global fetch. */
  fetch?: FetchFunction;
}

export interface CaptureResult {
  exitCode: ExitCode;
  error?: ObcapError;
  /** Data frames read from the exchange. */
  framesReceived: number;
  /** Of them: journaled (with the journal), or settled in the table or `--out` (--no-journal). */
  settledFrames: number;
  /** Of them: too large for the queue, kept in the quarantine (journal) or only counted (--no-journal). */
  oversizeFrames: number;
  /** Of them: lost (queue full, shutdown deadline), each covered by a gap record (see the log otherwise). */
  lostFrames: number;
  writer?: PipelineStats;
  /** Connections, reconnects, gaps, overlap duplicates. */
  feed?: FeedStats;
  subscribeMicros: number;
  /** The journal at the end (with `journal`): size, quarantine, what is not yet in DynamoDB. */
  journal?: JournalSummary;
  /** Another live capture holds the journal directory: nothing was started, exit 0. */
  lockHeld?: { dir: string; heldBy: LockHolder };
  /** Order book snapshots fetched, failed, retried (with `snapshots`). */
  snapshots?: SnapshotFetcherStats;
}

const ORDERS_CHANNEL_PREFIX = `${STREAM_CHANNEL_PREFIX.orders}_`;

type StopReason = { kind: "signal"; signal: string } | { kind: "error"; error: ObcapError };


/**
 * Runs a capture to its end. Throws ObcapError for start-up failures; later ones are in the result.
 * The journal directory is locked first, before anything touches it (`lockHeld` in the result when
 * another capture holds it), then the metrics endpoint starts; both end with the capture.
 */
export async function runCapture(options: CaptureOptions, runtime: CaptureRuntime): Promise<CaptureResult> {
  const operations = startLockAndMetrics(options, runtime);
  if (operations.kind === "lock-held") {
    return {
      exitCode: EXIT.ok, framesReceived: 0, settledFrames: 0, oversizeFrames: 0, lostFrames: 0, subscribeMicros: 0,
      lockHeld: { dir: operations.dir, heldBy: operations.heldBy },
    };
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

  // The table is checked in the pipeline Worker (upload-stage.ts), before it says ready: the AWS SDK
  // is loaded only where it is used, never on this thread.
  const target = options.target;
  if (!options.journal && target.kind === "journal-only") {
    throw obcapError("E_USAGE", "without --table and without the journal there is no output: give --out FILE (or --out -)");
  }
  const run: RunStart = { channels, previous: options.journal ? previousRunOf(options.journal.dir, channels) : undefined, startMicros };
  const budget = options.journal ? journalBudget(options.journal) : undefined;

  // Stop requests may arrive from here on: signals, the feed, the Workers.
  const { promise: stopped, resolve: resolveStop } = Promise.withResolvers<StopReason>();
  let stopRequested = false;
  const stop = (reason: StopReason) => {
    stopRequested = true;
    resolveStop(reason);
  };
  const removeSignals = runtime.onStopSignal((signal) => stop({ kind: "signal", signal }));

  const ring = createRing(options.queueBytes);
  // Frames wait in the publisher until the run's opening records are released in front of them.
  const publisher = new FramePublisher(new RingProducer(ring), {
    overflowBytes: options.overflowBytes,
    holding: true,
    onLoss: (info) => log.error(describeLoss(info)),
    onOversize: (info) => {
      const reason = `frame of ${info.frameBytes} bytes is larger than the queue's largest record (${info.maxPayloadBytes} bytes)`;
      log.error(`${reason}; counted, ${journaled ? `quarantined in ${options.journal?.dir}` : "not stored"} (raise --queue-mb): ${info.preview}`);
      pipeline.quarantineFrame("E_FRAME_OVERSIZE", reason, info.frame, info.rxMicros);
    },
  });

  const onWorkerFatal = (error: ObcapError) => stop({ kind: "error", error });
  // Snapshots go to the pipeline Worker as messages, never through the ring (journal-protocol.ts).
  const snapshotsTaken = new Map<number, FetchedSnapshot>();
  let snapshotIds = 0;
  const fetcher = options.snapshots && options.streams.includes("orders")
    ? new SnapshotFetcher({
        restUrl: options.restUrl,
        everyMs: options.snapshots.everyMs,
        clock: runtime.clock,
        log,
        ...(runtime.fetch ? { fetch: runtime.fetch } : {}),
        onSnapshot(snapshot) {
          const id = ++snapshotIds;
          const meta = { ...snapshot, body: new Uint8Array(0) }; // the body's buffer goes to the Worker
          if (pipeline.storeSnapshot({ id, pair: snapshot.pair, requestedMicros: snapshot.requestedMicros, receivedMicros: snapshot.receivedMicros, body: snapshot.body })) {
            snapshotsTaken.set(id, meta);
          } else {
            log.warn(`order book snapshot of ${snapshot.pair} not kept: the capture is ending`);
          }
        },
      })
    : undefined;
  const pipeline: PipelineHandle = startPipeline(runtime.createPipelineWorker, {
    ring,
    journal: options.journal
      ? { kind: "segments", settings: budget!.journal, budget: budget!.keeper, tee: options.tee }
      : target.kind === "journal-lines" ? { kind: "stream", path: target.path } : undefined,
    upload: target.kind === "dynamodb"
      ? { table: target.table, endpoint: target.endpoint, region: target.region, inFlight: target.inFlight, shards: undefined }
      : undefined,
    lingerMs: options.lingerMs,
    progressEveryMs: options.progressEveryMs,
    pid: typeof process === "object" ? process.pid : 0,
    channels,
    onFatal: onWorkerFatal,
    onSnapshot(report) {
      const fetched = snapshotsTaken.get(report.id);
      snapshotsTaken.delete(report.id);
      if (report.outcome === "dropped") log.warn(describeSnapshot(fetched, report));
      else log.info(describeSnapshot(fetched, report));
    },
  });
  const journaled = options.journal !== undefined;
  let framesReceived = 0;
  let subscribeMicros = 0;
  let feed: FeedSupervisor | undefined;
  /** The run's opening records, in front of every frame (run-start.ts). */
  const releaseRun = () => {
    if (publisher.isHolding()) publisher.release(runStartRecords(run, (channel) => feed?.firstSubscribedMicros(channel), runtime.clock()));
  };
  probe.attach(() => ({
    receivedFrames: framesReceived,
    writer: pipeline.latest(),
    queue: { ...publisher.stats(), ringCapacityBytes: options.queueBytes },
    ...(feed ? { connection: feed.stats() } : {}),
    journal: pipeline.backlog(),
    disk: pipeline.disk(),
    ...(fetcher ? { snapshots: fetcher.stats() } : {}),
  }));
  try {
    await Promise.race([pipeline.ready, stopped.then((r) => { if (r.kind === "error") throw r.error; })]);
    // Stopped while the pipeline started (a signal): never connect.
    if (!stopRequested) feed = startFeedSupervisor({
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
        onControl: logControlFrame,
        onSubscribed(channel) {
          // A new subscription of a pair's order channel: its book now (the connection's events follow from here).
          if (fetcher && channel.startsWith(ORDERS_CHANNEL_PREFIX)) fetcher.subscribed(channel.slice(ORDERS_CHANNEL_PREFIX.length));
        },
        onGap(gap) {
          log.warn(describeGap(gap));
          // A gap travels in the ring like data, in order with it; it is never dropped.
          publisher.publishOwn(gapFrame(gap), runtime.clock());
        },
        onFatal: (error) => stop({ kind: "error", error }),
      },
    });
    if (feed) await Promise.race([feed.ready, stopped]);
    if (feed && !stopRequested) {
      releaseRun();
      subscribeMicros = runtime.clock() - startMicros;
      log.success(
        `capturing ${channels.length} channels (${pairs.join(", ")}) from ${options.wsUrl}; subscribed in ${(subscribeMicros / 1000).toFixed(0)} ms` +
          (run.previous ? `; the gap since the previous run (${new Date(run.previous.endMicros / 1000).toISOString()}) is recorded` : ""),
      );
    }
  } catch (err) {
    stop({ kind: "error", error: isObcapError(err) ? err : obcapError("E_INTERNAL", describeError(err), err) });
  }

  const progress = setInterval(() => {
    log.info(progressLine(framesReceived, pipeline.latest(), publisher.stats(), feed?.stats(), journaled ? pipeline.progressNote() : undefined));
  }, options.logEveryMs);

  const reason = await stopped;
  clearInterval(progress);
  removeSignals();
  if (reason.kind === "signal") log.info(`${reason.signal}: stopping, draining the queue`);

  // Stop reading first (an uncovered channel gets its gap now), then let the consumer drain the ring.
  // A run that never started its feed (its start failed or was stopped) has no frames and no opening
  // records; one that did records its start even if no connection succeeded. Snapshot fetches under
  // way are dropped (the next run takes one after subscribing).
  fetcher?.close();
  feed?.close();
  if (feed) releaseRun();
  const plan = shutdownPlan(Date.now(), options.shutdownMs, target.kind === "dynamodb" && journaled);
  const { leftovers } = await publisher.close(plan.abandonAtMs - Date.now());
  const end = await pipeline.finished({ ...plan, leftovers });
  const p = publisher.stats();
  // Frames of the ring the consumer neither settled nor covered with a gap record: it had to be terminated.
  const unsettled = Math.max(0, p.published - end.settledFrames - end.abandonedFrames);
  const lostFrames = p.lostFrames + end.abandonedFrames + unsettled;
  if (unsettled > 0) {
    log.error(
      `${unsettled} frames were still queued when the ${journaled ? "journal" : "pipeline"} was stopped: counted as lost; ` +
        (journaled ? "the next start records the hole as a restart gap" : "without a journal nothing records them (see --no-journal in the README)"),
    );
  }
  if (p.lostAfterClose > 0) log.warn(`${p.lostAfterClose} frames arrived after the queue was closed: counted as lost`);
  const result: CaptureResult = {
    exitCode: EXIT.ok,
    framesReceived,
    settledFrames: end.settledFrames,
    oversizeFrames: p.oversizeFrames,
    lostFrames,
    writer: end.stats,
    feed: feed?.stats(),
    subscribeMicros,
    ...(end.journal ? { journal: end.journal } : {}),
    ...(fetcher ? { snapshots: fetcher.stats() } : {}),
  };
  const error = reason.kind === "error" ? reason.error : end.error;
  if (error) {
    result.error = error;
    result.exitCode = error.exitCode;
  } else if (lostFrames > 0) {
    result.error = obcapError(
      "E_FRAMES_LOST",
      `${lostFrames} frames were lost (queue full ${p.lostFrames}, not journaled by the shutdown deadline ${end.abandonedFrames + unsettled}); ` +
        `gap records mark when (see the log for the intervals)`,
    );
    result.exitCode = EXIT.dataLoss;
  }
  return result;
}

/**
 * The end of a run within `shutdownMs`: the consumer (journal or writer) until `consumerEndMs`, which
 * leaves the uploader a moment to checkpoint; from `abandonAtMs` a consumer still busy stops writing
 * frames and covers the rest with a gap record (at most 2 s, at least half of its time, before its end).
 */
export function shutdownPlan(nowMs: number, shutdownMs: number, uploads: boolean): Omit<ShutdownPlan, "leftovers"> {
  const uploadReserveMs = uploads ? Math.min(1000, Math.max(100, shutdownMs / 10)) : 0;
  const consumerMs = shutdownMs - uploadReserveMs;
  return {
    abandonAtMs: nowMs + Math.max(consumerMs / 2, consumerMs - 2000),
    consumerEndMs: nowMs + consumerMs,
    endMs: nowMs + shutdownMs,
  };
}
