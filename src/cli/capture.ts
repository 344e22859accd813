/** `obcap capture` (the default command): Bitstamp order-level feed -> DynamoDB or journal lines. */
import { defineCommand } from "citty";
import { nowMicros } from "../clock.ts";
import { obcapError } from "../errors.ts";
import { log, setLogLevel } from "../log.ts";
import { runCapture, type CaptureOptions } from "../capture/session.ts";
import { parsePairList, DEFAULT_REST_URL } from "../exchange/bitstamp/pairs.ts";
import { createBunSocket } from "../runtime/bun/websocket.ts";
import { onStopSignal } from "../runtime/bun/signals.ts";
import { createWriterWorker } from "./writer-worker-url.ts";
import { httpUrlOption, intOption, rejectUnknownFlags, streamsOption, wsUrlOption } from "./options.ts";
import { awsArgs, verbosityArgs } from "./shared-args.ts";

export const DEFAULT_WS_URL = "wss://ws.bitstamp.net";

const args = {
  pair: {
    type: "string",
    description: "Pairs to capture, comma separated (Bitstamp url_symbol, e.g. btcusd,ethusd), or 'all'",
    valueHint: "btcusd,ethusd",
  },
  table: { type: "string", description: "DynamoDB table to write to (create it with 'obcap table create'); without it, journal lines go to --out", valueHint: "Orders" },
  out: { type: "string", description: "Without --table: file to append journal lines to ('-' = stdout, the default)", valueHint: "FILE" },
  channels: { type: "string", description: "Channels per pair: orders (live_orders), trades (live_trades)", default: "orders,trades" },
  "ws-url": { type: "string", description: "Exchange WebSocket URL", default: DEFAULT_WS_URL },
  "rest-url": { type: "string", description: "Exchange REST base URL (pair list)", default: DEFAULT_REST_URL },
  ...awsArgs,
  "queue-mb": { type: "string", description: "Ring buffer between receiver and writer, MiB", default: "16" },
  "overflow-mb": { type: "string", description: "Extra in-memory overflow when the ring is full, MiB (then frames are counted as lost)", default: "16" },
  "in-flight": { type: "string", description: "BatchWriteItem requests in flight", default: "8" },
  "linger-ms": { type: "string", description: "How long a partial batch waits for more items", default: "20" },
  "subscribe-timeout-ms": { type: "string", description: "Bound on connecting and all subscription acknowledgements", default: "10000" },
  "shutdown-ms": { type: "string", description: "Bound on draining and flushing after SIGINT/SIGTERM", default: "15000" },
  "progress-s": { type: "string", description: "Seconds between progress lines in the log", default: "10" },
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
    if (a.table && a.out) throw obcapError("E_USAGE", "--out is for captures without --table; give one or the other");
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
            maxInFlight: intOption("in-flight", a["in-flight"], 8, 1, 64),
          }
        : { kind: "journal-lines", path: !a.out || a.out === "-" ? null : a.out },
      queueBytes: intOption("queue-mb", a["queue-mb"], 16, 1, 1024) * 1024 * 1024,
      overflowBytes: intOption("overflow-mb", a["overflow-mb"], 16, 0, 1024) * 1024 * 1024,
      lingerMs: intOption("linger-ms", a["linger-ms"], 20, 0, 10_000),
      subscribeTimeoutMs: intOption("subscribe-timeout-ms", a["subscribe-timeout-ms"], 10_000, 100, 600_000),
      shutdownMs: intOption("shutdown-ms", a["shutdown-ms"], 15_000, 100, 600_000),
      progressEveryMs: 500,
      logEveryMs: intOption("progress-s", a["progress-s"], 10, 1, 86_400) * 1000,
    };
    const result = await runCapture(options, {
      createSocket: createBunSocket,
      createWriterWorker,
      onStopSignal,
      clock: nowMicros,
    });
    const w = result.writer;
    const rejected = w ? Object.values(w.rejected).reduce((a, b) => a + b, 0) : 0;
    const unknown = w ? Object.values(w.unknown).reduce((a, b) => a + b, 0) : 0;
    log.info(
      `summary: received ${result.framesReceived} frames, events ${w?.events ?? 0}, written ${w?.written ?? 0}, ` +
        `rejected ${rejected}, not stored (unknown kinds) ${unknown}, lost ${result.lostFrames}, ` +
        `retried requests ${w?.retryRequests ?? 0}, unprocessed items ${w?.unprocessedItems ?? 0}`,
    );
    if (result.error) throw result.error;
  },
});
