/** `obcap capture` (the default command): Bitstamp order-level feed -> DynamoDB or journal lines. */
import { defineCommand } from "citty";
import type { BookCheckStats } from "../pipeline/pipeline-stats.ts";
import { nowMicros, strictlyIncreasing } from "../base/clock.ts";
import { obcapError } from "../base/errors.ts";
import { log, setLogLevel } from "../base/log.ts";
import { runCapture, type CaptureOptions } from "../capture/session.ts";
import { parsePairList, DEFAULT_REST_URL } from "../exchange/bitstamp/pairs.ts";
import { createBunSocket } from "../runtime/bun/websocket.ts";
import { onStopSignal } from "../runtime/bun/signals.ts";
import { listenHttp } from "../runtime/bun/http.ts";
import { bunFileLock } from "../runtime/bun/file-lock.ts";
import { describeHolder } from "../journal/lock.ts";
import { createPipelineWorker } from "./pipeline-worker-url.ts";
import { IN_FLIGHT_ARGS, inFlightOption } from "./in-flight-option.ts";
import { durationOption } from "./duration-option.ts";
import { sizeOption } from "./size-option.ts";
import { describeBytes, FULL_POLICIES, type FullPolicy } from "../journal/disk-budget.ts";
import type { JournalSettings } from "../journal/journal-protocol.ts";
import { httpUrlOption, intOption, rejectUnknownFlags, streamsOption, wsUrlOption } from "./options.ts";
import { awsArgs, verbosityArgs } from "./shared-args.ts";

export const DEFAULT_WS_URL = "wss://ws.bitstamp.net";

const args = {
  pair: {
    type: "string",
    description: "Pairs to capture, comma separated (Bitstamp url_symbol, e.g. btcusd,ethusd), or 'all'",
    valueHint: "btcusd,ethusd",
  },
  table: { type: "string", description: "DynamoDB table to write to (create it with 'obcap table create'); without it, the journal directory is the output", valueHint: "Orders" },
  out: { type: "string", description: "Also append journal lines to FILE ('-' = stdout): a live copy that never holds the capture up (lines are skipped if its reader falls 16 MiB behind); with --no-journal and no --table, the only output (default stdout)", valueHint: "FILE" },
  journal: { type: "string", description: "Journal directory: every frame is appended here first, then uploaded (crash-safe)", default: "./obcap-data", valueHint: "DIR" },
  "no-journal": { type: "boolean", description: "No journal: frames go from memory straight to DynamoDB or --out (a crash loses what is queued)" },
  "journal-keep": { type: "string", description: "Delete journal segments DynamoDB acknowledged once older than this (ms, s, m, h, d)", default: "24h", valueHint: "DURATION" },
  "journal-max": { type: "string", description: "Disk budget of the journal (e.g. 2GB); default: what it holds plus half the free space at start (the start line says it)", valueHint: "SIZE" },
  "journal-min-free": { type: "string", description: "Free space to leave on the journal's disk; default 5% of it, at least 256 MiB", valueHint: "SIZE" },
  "journal-full": { type: "string", description: "When the budget is reached and nothing acknowledged is left to delete: drop-oldest (drop the oldest frames, recorded as a gap) or stop (the capture stops, exit 3)", default: "drop-oldest" },
  "journal-gzip": { type: "string", description: "gzip level of closed journal segments, 1-9 (0 = keep them plain)", default: "6" },
  "fsync-ms": { type: "string", description: "fsync the journal at most this long after a write (0 = every write); bounds what a power failure loses", default: "200" },
  "segment-mb": { type: "string", description: "Start a new journal segment file at this size, MiB", default: "64" },
  "segment-age": { type: "string", description: "... or this long after the segment was opened (ms, s, m, h, d)", default: "1h", valueHint: "DURATION" },
  channels: { type: "string", description: "Channels per pair: orders (live_orders), trades (live_trades)", default: "orders,trades" },
  "ws-url": { type: "string", description: "Exchange WebSocket URL", default: DEFAULT_WS_URL },
  "rest-url": { type: "string", description: "Exchange REST base URL (pair list, order book snapshots)", default: DEFAULT_REST_URL },
  "snapshot-every": { type: "string", description: "Order book snapshot (REST group=2) of each pair after every subscription of its orders channel, and then this often (ms, s, m, h, d; 0 = only after subscriptions)", default: "15m", valueHint: "DURATION" },
  ...awsArgs,
  "queue-mb": { type: "string", description: "Ring buffer between receiver and journal/writer, MiB (8 = several seconds at peak rates; the journal drains it)", default: "8" },
  "overflow-mb": { type: "string", description: "Extra in-memory overflow when the ring is full, MiB (then frames are counted as lost)", default: "16" },
  ...IN_FLIGHT_ARGS,
  "linger-ms": { type: "string", description: "How long a partial batch waits for more items", default: "20" },
  "subscribe-timeout-ms": { type: "string", description: "Bound on connecting and all subscription acknowledgements", default: "10000" },
  "heartbeat-ms": { type: "string", description: "Send bts:heartbeat on each connection this often", default: "1000" },
  "stale-ms": { type: "string", description: "Replace a connection with no frame at all (data or heartbeat answer) for this long", default: "3000" },
  "reconnect-max-ms": { type: "string", description: "Cap of the backoff between failed reconnects (the first is immediate)", default: "30000" },
  "shutdown-ms": { type: "string", description: "Bound on draining and flushing after SIGINT/SIGTERM", default: "15000" },
  "progress-s": { type: "string", description: "Seconds between progress lines in the log", default: "10" },
  "metrics-port": { type: "string", description: "Serve Prometheus metrics on this port (0 = off); 'obcap status --metrics-port N' summarizes them", default: "0" },
  "metrics-host": { type: "string", description: "Address the metrics port binds (default 127.0.0.1, this machine only; 0.0.0.0 = every interface)", valueHint: "ADDRESS" },
  ...verbosityArgs,
} as const;

export const captureCommand = defineCommand({
  meta: {
    name: "capture",
    description: "Capture order events and trades (default command). Stops cleanly on SIGINT/SIGTERM.",
  },
  args,
  async run({ args: a, rawArgs }) {
    rejectUnknownFlags("capture", rawArgs, args);
    setLogLevel(a.quiet ? "quiet" : a.verbose ? "verbose" : "normal");
    if (!a.pair) throw obcapError("E_USAGE", "--pair is required: e.g. 'obcap --pair btcusd' (or --pair all)");
    // citty turns --no-journal into journal=false.
    const noJournal = (a.journal as unknown) === false || a["no-journal"] === true;
    if (noJournal && a.table && a.out) throw obcapError("E_USAGE", "--out with --table needs the journal (it copies the journal's lines); drop --no-journal or --out");
    if (!noJournal && a.journal === "") throw obcapError("E_USAGE", "--journal needs a directory (or use --no-journal)");
    const journal: JournalSettings | undefined = noJournal
      ? undefined
      : {
          dir: a.journal,
          fsyncMs: intOption("fsync-ms", a["fsync-ms"], 200, 0, 60_000),
          segmentBytes: intOption("segment-mb", a["segment-mb"], 64, 1, 4096) * 1024 * 1024,
          segmentAgeMs: durationOption("segment-age", a["segment-age"], 3_600_000, 1_000),
          keepMs: durationOption("journal-keep", a["journal-keep"], 86_400_000),
          disk: {
            ...(a["journal-max"] ? { maxBytes: sizeOption("journal-max", a["journal-max"])! } : {}),
            ...(a["journal-min-free"] ? { minFreeBytes: sizeOption("journal-min-free", a["journal-min-free"])! } : {}),
            policy: fullPolicyOption(a["journal-full"]),
            gzipLevel: intOption("journal-gzip", a["journal-gzip"], 6, 0, 9),
          },
        };
    const heartbeatMs = intOption("heartbeat-ms", a["heartbeat-ms"], 1_000, 10, 600_000);
    const staleMs = intOption("stale-ms", a["stale-ms"], 3_000, 50, 600_000);
    // The heartbeat answer is the proof of life of a quiet connection: it must come more often than the verdict.
    if (heartbeatMs >= staleMs) {
      throw obcapError("E_USAGE", `--heartbeat-ms ${heartbeatMs} must be below --stale-ms ${staleMs}, or a quiet but healthy connection would be cut (e.g. --heartbeat-ms ${Math.max(10, Math.floor(staleMs / 3))})`);
    }
    const metricsPort = intOption("metrics-port", a["metrics-port"], 0, 0, 65_535);
    const metricsHost = a["metrics-host"];
    if (metricsHost !== undefined && (metricsPort === 0 || !/^[\w.:-]+$/.test(metricsHost))) {
      throw obcapError("E_USAGE", metricsPort === 0 ? "--metrics-host needs --metrics-port N (metrics are off without it)" : `--metrics-host '${metricsHost}' is not an IP address or host name (e.g. 127.0.0.1, ::1, 0.0.0.0)`);
    }
    const options: CaptureOptions = {
      pairs: parsePairList(a.pair),
      streams: streamsOption(a.channels),
      wsUrl: wsUrlOption("ws-url", a["ws-url"]),
      restUrl: httpUrlOption("rest-url", a["rest-url"]),
      target: a.table
        ? {
            kind: "dynamodb",
            table: a.table,
            endpoint: a.endpoint ? httpUrlOption("endpoint", a.endpoint) : undefined,
            region: a.region,
            inFlight: inFlightOption(a),
          }
        : journal
          ? { kind: "journal-only" }
          : { kind: "journal-lines", path: !a.out || a.out === "-" ? null : a.out },
      journal,
      ...(journal && a.out ? { tee: { path: a.out === "-" ? null : a.out } } : {}),
      journalDir: journal?.dir,
      queueBytes: intOption("queue-mb", a["queue-mb"], 8, 1, 1024) * 1024 * 1024,
      overflowBytes: intOption("overflow-mb", a["overflow-mb"], 16, 0, 1024) * 1024 * 1024,
      lingerMs: intOption("linger-ms", a["linger-ms"], 20, 0, 10_000),
      subscribeTimeoutMs: intOption("subscribe-timeout-ms", a["subscribe-timeout-ms"], 10_000, 100, 600_000),
      heartbeatMs,
      staleMs,
      reconnectMaxMs: intOption("reconnect-max-ms", a["reconnect-max-ms"], 30_000, 100, 3_600_000),
      shutdownMs: intOption("shutdown-ms", a["shutdown-ms"], 15_000, 100, 600_000),
      progressEveryMs: 500,
      logEveryMs: intOption("progress-s", a["progress-s"], 10, 1, 86_400) * 1000,
      metrics: metricsPort > 0 ? { host: metricsHost ?? "127.0.0.1", port: metricsPort } : undefined,
      snapshots: { everyMs: snapshotEveryOption(a["snapshot-every"]) },
    };
    const result = await runCapture(options, {
      createSocket: createBunSocket,
      createPipelineWorker,
      onStopSignal,
      // Receive times order the frames of a burst (one microsecond can hold several): never equal.
      clock: strictlyIncreasing(nowMicros),
      fileLock: bunFileLock,
      listenHttp,
    });
    if (result.lockHeld) {
      // Cron starts a copy every minute: one line, exit 0, nothing else touched.
      if (!a.quiet) process.stderr.write(`obcap: another capture (${describeHolder(result.lockHeld.heldBy)}) holds ${result.lockHeld.dir}; exiting\n`);
      return;
    }
    const w = result.writer;
    const rejected = w ? Object.values(w.rejected).reduce((a, b) => a + b, 0) : 0;
    const unknown = w ? Object.values(w.unknown).reduce((a, b) => a + b, 0) : 0;
    // The first clause adds up: every frame received is in exactly one of the three.
    const kept = result.journal ? "journaled" : "settled";
    log.info(
      `summary: received ${result.framesReceived} frames = ${kept} ${result.settledFrames} + oversize ${result.oversizeFrames} + lost ${result.lostFrames}; ` +
        `events ${w?.events ?? 0}, written ${w?.written ?? 0}, ` +
        `rejected ${rejected}, not stored (unknown kinds) ${unknown}, ` +
        `retried requests ${w?.retryRequests ?? 0}, unprocessed items ${w?.unprocessedItems ?? 0}, ` +
        (w?.coverageWritten === undefined ? "" : `coverage items ${w.coverageWritten}, `) +
        `reconnects ${result.feed?.reconnects ?? 0}, gaps ${result.feed?.gaps ?? 0}, overlap duplicates dropped ${result.feed?.duplicatesDropped ?? 0}`,
    );
    const sn = result.snapshots;
    if (sn) {
      log.info(
        `snapshots: fetched ${sn.fetched}, failed ${sn.failed}, retried requests ${sn.retries}, superseded ${sn.superseded}` +
          (w?.snapshots === undefined ? "" : `, stored ${w.snapshots}`) +
          (w?.snapshotItemsWritten === undefined ? "" : ` (${w.snapshotItemsWritten} chunk items written)`) +
          bookChecksText(w?.bookChecks),
      );
    }
    const j = result.journal;
    if (j) {
      log.info(
        `journal ${j.dir}: ${j.frames} frames, ${(j.bytes / 1048576).toFixed(1)} MiB in ${j.segmentsOpened} segment(s) this run, ` +
          `${j.fsyncs} fsyncs (longest ${j.maxFsyncMs.toFixed(1)} ms), quarantined ${j.quarantined}, gap records ${j.ownLines - (j.snapshotLines ?? 0)}` +
          (j.snapshotLines ? `, snapshot records ${j.snapshotLines}` : "") +
          (j.tee ? `, --out lines written ${j.tee.writtenLines}, skipped ${j.tee.skippedLines}` : "") +
          (j.disk
            ? `; on disk ${describeBytes(j.disk.journalBytes)} of a ${describeBytes(j.disk.budgetBytes)} budget, ` +
              `segments compressed ${j.disk.compressedSegments}, deleted (acknowledged) ${j.disk.deletedSegments}, dropped (evicted) ${j.disk.evictedSegments}`
            : "") +
          (j.backlogBytes === undefined ? "" : `, not yet in DynamoDB ${(j.backlogBytes / 1048576).toFixed(1)} MiB`),
      );
    }
    if (result.error) throw result.error;
  },
});

/** `--snapshot-every`: a duration of at least 1 s, or 0 (only after subscriptions). */
function snapshotEveryOption(value: string | undefined): number {
  if (value !== undefined && value.trim() === "0") return 0;
  const ms = durationOption("snapshot-every", value, 900_000);
  if (ms !== 0 && ms < 1_000) throw obcapError("E_USAGE", `--snapshot-every ${value} is too short (at least 1s; 0 = only after subscriptions)`);
  return ms;
}

/** `--journal-full`: drop-oldest or stop. */
function fullPolicyOption(value: string | undefined): FullPolicy {
  const policy = (value ?? "drop-oldest").trim();
  if (!(FULL_POLICIES as readonly string[]).includes(policy)) {
    throw obcapError("E_USAGE", `--journal-full '${value}' is not a policy (allowed: ${FULL_POLICIES.join(", ")})`);
  }
  return policy as FullPolicy;
}

/** The self-check's figures for the summary: `; book self-check: 12 compared, 0 differ, 2 late`. */
function bookChecksText(checks: Record<string, BookCheckStats> | undefined): string {
  if (checks === undefined) return "";
  const sum = (key: keyof BookCheckStats) => Object.values(checks).reduce((n, c) => n + c[key], 0);
  const differing = Object.entries(checks).filter(([, c]) => c.differing > 0).map(([pair, c]) => `${pair} ${c.differing}`);
  return `; book self-check: ${sum("checked")} snapshots compared, ${sum("differing")} differ${differing.length > 0 ? ` (${differing.join(", ")}; orders named in the log)` : ""}, ${sum("late")} late`;
}
