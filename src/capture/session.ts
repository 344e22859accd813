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
import { channelName, type Stream } from "../model/channels.ts";
import type { SocketFactory } from "../runtime/ports.ts";
import { startFeedSupervisor, type FeedStats, type FeedSupervisor } from "../exchange/bitstamp/feed-supervisor.ts";
import { gapFrame, type FeedGap } from "../model/gap-record.ts";
import { fetchExchangePairs, MAX_CHANNELS_PER_CONNECTION, resolvePairs } from "../exchange/bitstamp/pairs.ts";
import { createRing, RingProducer } from "../queue/ring.ts";
import { FramePublisher, type LossInfo } from "../queue/frame-publisher.ts";
import type { PipelineStats } from "../pipeline/pipeline-stats.ts";
import { createDynamoClient } from "../store/dynamodb/client.ts";
import { openCaptureTable } from "../store/dynamodb/table.ts";
import type { JournalSettings } from "../journal/journal-protocol.ts";
import { startPipeline, type JournalSummary, type PipelineHandle, type ShutdownPlan } from "./pipeline-handle.ts";
import { readPreviousRun, writeRunFile, type PreviousRun } from "../journal/previous-run.ts";
import { describeBytes, resolveBudget, type DiskAtStart } from "../journal/disk-budget.ts";
import type { KeeperSettings } from "../journal/journal-keeper.ts";
import { listSegments } from "../journal/segments.ts";
import { segmentDiskBytes } from "../journal/segment-sizes.ts";
import { statfsSync } from "node:fs";
import { runStartRecords, type RunStart } from "./run-start.ts";
import type { LockHolder } from "../journal/lock.ts";
import type { CreateWorker, FileLock, ListenHttp, OnStopSignal } from "../runtime/ports.ts";
import { startOperations, type CaptureProbe, type MetricsOptions } from "./operations.ts";

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
    | { kind: "dynamodb"; table: string; endpoint?: string; region?: string; maxInFlight: number }
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

  let target: { kind: "dynamodb"; table: string; endpoint?: string; region?: string; shards: number; maxInFlight: number } | CaptureOptions["target"];
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
  if (!options.journal && target.kind === "journal-only") {
    throw obcapError("E_USAGE", "without --table and without the journal there is no output: give --out FILE (or --out -)");
  }
  const run: RunStart = { channels, previous: options.journal ? previousRunOf(options.journal.dir, channels) : undefined, startMicros };
  const budget = options.journal ? journalBudget(options.journal) : undefined;

  // Stop requests may arrive from here on: signals, the feed, the Workers.
  const { promise: stopped, resolve: stop } = Promise.withResolvers<StopReason>();
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
  const pipeline: PipelineHandle = startPipeline(runtime.createPipelineWorker, {
    ring,
    journal: options.journal
      ? { kind: "segments", settings: budget!.journal, budget: budget!.keeper, tee: options.tee }
      : target.kind === "journal-lines" ? { kind: "stream", path: target.path } : undefined,
    upload: target.kind === "dynamodb" ? { ...target, shards: shardsPending ? undefined : target.shards } : undefined,
    lingerMs: options.lingerMs,
    progressEveryMs: options.progressEveryMs,
    pid: typeof process === "object" ? process.pid : 0,
    channels,
    onFatal: onWorkerFatal,
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
  }));
  try {
    await Promise.race([pipeline.ready, stopped.then((r) => { if (r.kind === "error") throw r.error; })]);
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
          // A gap travels in the ring like data, in order with it; it is never dropped.
          publisher.publishOwn(gapFrame(gap), runtime.clock());
        },
        onFatal: (error) => stop({ kind: "error", error }),
      },
    });
    await Promise.race([feed.ready, stopped]);
    releaseRun();
    subscribeMicros = runtime.clock() - startMicros;
    log.success(
      `capturing ${channels.length} channels (${pairs.join(", ")}) from ${options.wsUrl}; subscribed in ${(subscribeMicros / 1000).toFixed(0)} ms` +
        (run.previous ? `; the gap since the previous run (${new Date(run.previous.endMicros / 1000).toISOString()}) is recorded` : ""),
    );
  } catch (err) {
    stop({ kind: "error", error: isObcapError(err) ? err : obcapError("E_INTERNAL", describeError(err), err) });
  }

  const progress = setInterval(() => {
    const w = pipeline.latest();
    const p = publisher.stats();
    const f = feed?.stats();
    const liveness = f && (f.reconnects > 0 || f.gaps > 0 || f.overlaps > 0)
      ? `, reconnects ${f.reconnects}, gaps ${f.gaps}, overlap duplicates dropped ${f.duplicatesDropped}`
      : "";
    log.info(
      `received ${framesReceived} frames, written ${w.written}, in flight ${w.inFlight}, ` +
        `queue ${(p.ringUsedBytes / 1024).toFixed(0)} KiB (high ${(p.ringHighWaterBytes / 1024).toFixed(0)} KiB), lost ${p.lostFrames}${liveness}` +
        (journaled ? `, ${pipeline.progressNote()}` : ""),
    );
  }, options.logEveryMs);

  const reason = await stopped;
  clearInterval(progress);
  removeSignals();
  if (reason.kind === "signal") log.info(`${reason.signal}: stopping, draining the queue`);

  // Stop reading first (an uncovered channel gets its gap now), then let the consumer drain the ring.
  feed?.close();
  releaseRun();
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

/**
 * The journal's disk budget: the flags, or defaults chosen from the disk now (said in the log); and
 * segments no larger than an eighth of the budget, so the budget is kept by deleting whole segments.
 */
function journalBudget(journal: JournalSettings): { journal: JournalSettings; keeper: KeeperSettings } {
  let disk: DiskAtStart;
  try {
    const fs = statfsSync(journal.dir);
    disk = {
      freeBytes: fs.bavail * fs.bsize,
      totalBytes: fs.blocks * fs.bsize,
      journalBytes: listSegments(journal.dir).reduce((sum, name) => sum + segmentDiskBytes(journal.dir, name), 0),
    };
  } catch (err) {
    throw obcapError("E_JOURNAL_IO", `cannot read the disk space of the journal ${journal.dir} (${describeError(err)}): check --journal`, err);
  }
  const { budgetBytes, minFreeBytes, chosen } = resolveBudget(disk, journal.disk);
  const segmentBytes = Math.min(journal.segmentBytes, Math.max(1024 * 1024, Math.floor(budgetBytes / 8)));
  log.info(
    `journal ${journal.dir}: budget ${describeBytes(budgetBytes)}${chosen.max ? " (what it holds plus half the free space at start; --journal-max to choose)" : ""}, ` +
      `keeps ${describeBytes(minFreeBytes)} free on its disk${chosen.minFree ? " (--journal-min-free)" : ""}, ${describeBytes(disk.freeBytes)} free now; ` +
      `when full: ${journal.disk.policy}; closed segments ${journal.disk.gzipLevel > 0 ? `gzip -${journal.disk.gzipLevel}` : "kept plain"}` +
      (segmentBytes < journal.segmentBytes ? `; segments of ${describeBytes(segmentBytes)} (an eighth of the budget)` : ""),
  );
  return {
    journal: { ...journal, segmentBytes },
    keeper: { budgetBytes, minFreeBytes, policy: journal.disk.policy, gzipLevel: journal.disk.gzipLevel },
  };
}

/** The previous run of the journal directory, and this run's channels recorded for the next one. */
function previousRunOf(dir: string, channels: readonly string[]): PreviousRun | undefined {
  let previous: PreviousRun | undefined;
  try {
    previous = readPreviousRun(dir);
  } catch (err) {
    log.warn(`cannot read where the previous capture in ${dir} stopped (${describeError(err)}); this run's records start as if it were the first`);
  }
  try {
    writeRunFile(dir, channels, typeof process === "object" ? process.pid : 0);
  } catch (err) {
    throw obcapError("E_JOURNAL_IO", `cannot write ${dir}/run.json (${describeError(err)}): check the journal directory's permissions and free space`, err);
  }
  return previous;
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
    ? `queue recovered: ${info.lostFrames} frames (${info.lostBytes} bytes) lost between ${from} and ${to}; recorded as an overflow gap of every channel`
    : `QUEUE FULL: frames are being lost (${info.lostFrames} so far, since ${from}); the journal (or, with --no-journal, the writer) cannot keep up with the feed`;
}
