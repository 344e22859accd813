/**
 * One WebSocket connection to Bitstamp carrying every channel (exchanges limit connections): open,
 * subscribe, check every acknowledgement, then prove it alive. Reconnecting is the supervisor's job
 * (feed-supervisor.ts); this file knows one socket from open to end, and composes its parts:
 *
 * - frame-receiver.ts: the receive handler (the hot path); data frames go to `onData` untouched,
 *   control frames come back here, since they steer the connection;
 * - subscription-tracker.ts: which channels are acknowledged, and when;
 * - heartbeat.ts and liveness-watchdog.ts: liveness. A connection from which no frame at all arrived
 *   for `staleMs` is dead. `close()` on a dead peer takes 33 s to fire `close` in Bun (BUN-NOTES), so
 *   the watchdog ends it with `terminate()` when the socket has one.
 */
import { obcapError, type ObcapError } from "../../base/errors.ts";
import type { MicrosClock } from "../../base/clock.ts";
import type { FeedSocket, SocketFactory } from "../../runtime/ports.ts";
import { subscribeFrame } from "./client-frames.ts";
import { createFrameReceiver, type DataHandler } from "./frame-receiver.ts";
import { Heartbeat } from "./heartbeat.ts";
import { LivenessWatchdog } from "./liveness-watchdog.ts";
import { SubscriptionTracker } from "./subscription-tracker.ts";

/** How a subscribed connection ended without us ending it, or why the watchdog ended it. */
export type EndReason = "stale" | "dropped" | "closed";

export interface ConnectionEnd {
  reason: EndReason;
  /** For humans: close code and reason, or how long it was silent. */
  detail: string;
}

export interface ConnectionHandlers {
  /** A market-data frame, as received (replaceable later with `setDataHandler`). */
  onData: DataHandler;
  /** A binary frame (Bitstamp sends text only; kept so nothing is dropped unseen). */
  onBinary(frame: Uint8Array, rxMicros: number): void;
  /** A control frame after start-up other than heartbeat answers, already understood. */
  onControl?(event: string, channel: string, frame: string): void;
  /** One channel's subscription was acknowledged at `ackMicros`. */
  onSubscribed?(channel: string, ackMicros: number): void;
  /** After `ready`: the connection ended without `close()`/`terminate()` from us, or went stale. */
  onEnded?(end: ConnectionEnd): void;
}

export interface ConnectionOptions {
  url: string;
  channels: readonly string[];
  createSocket: SocketFactory;
  clock: MicrosClock;
  handlers: ConnectionHandlers;
  /** Bound on connect + all subscription acknowledgements. */
  subscribeTimeoutMs: number;
  /** Heartbeat interval once subscribed; 0 = none. */
  heartbeatMs?: number;
  /** Silence (no frame of any kind) after which the connection is dead; 0 = no watchdog. */
  staleMs?: number;
  /** For log lines; the supervisor numbers its connections. */
  id?: number;
}

export interface Connection {
  readonly id: number;
  readonly channels: readonly string[];
  /** Resolves when every channel is acknowledged; rejects with E_SUBSCRIBE_* or E_EXCHANGE_*. */
  readonly ready: Promise<void>;
  /** Receive time of the last frame of any kind (data, ack, heartbeat answer); 0 before the first. */
  lastFrameMicros(): number;
  /** Receive time of the last market-data frame; 0 before the first (metrics: a quiet book is not dead). */
  lastDataMicros(): number;
  /** The last market-data frame itself (its exchange time bounds a gap), or undefined. */
  lastDataFrame(): string | undefined;
  /** When `channel`'s subscription was acknowledged, or undefined. */
  subscribedAtMicros(channel: string): number | undefined;
  /** Microseconds from opening to the last acknowledgement (after `ready`). */
  subscribeMicros(): number;
  /** Heartbeats sent and answered. */
  heartbeats(): { sent: number; answered: number };
  /** Replaces the receiver of data frames (the supervisor merges two connections during an overlap). */
  setDataHandler(onData: DataHandler): void;
  /**
   * Sends a heartbeat and resolves true once it is answered: the exchange writes in order, so every
   * frame it sent on this connection before the answer has then been received. False after `timeoutMs`
   * or if the connection ends first.
   */
  drain(timeoutMs: number): Promise<boolean>;
  /** Stops reading (no handler is called again) and closes with 1000, falling back to terminate. */
  close(): void;
  /** Stops reading and drops the connection at once. */
  terminate(): void;
}

const OPEN = 1;
let nextConnectionId = 1;

/** Opens a connection, subscribes every channel, and checks every subscription succeeded. */
export function openConnection(options: ConnectionOptions): Connection {
  const { url, channels, clock, handlers } = options;
  const id = options.id ?? nextConnectionId++;
  const heartbeatMs = options.heartbeatMs ?? 0;
  const staleMs = options.staleMs ?? 0;
  const startedMicros = clock();
  let readyMicros = 0;
  let ended = false;
  let isReady = false;
  let watchdog: LivenessWatchdog | undefined;
  const subscriptions = new SubscriptionTracker(channels);
  const { promise: ready, resolve, reject } = Promise.withResolvers<void>();
  ready.catch(() => {}); // the owner observes it; an unobserved rejection must not kill the process

  const subscribeTimer = setTimeout(() => {
    const what = socket.readyState === OPEN
      ? `no subscription_succeeded for ${subscriptions.waiting()}`
      : `could not open ${url}`;
    fail(obcapError("E_SUBSCRIBE_TIMEOUT", `${what} within ${options.subscribeTimeoutMs} ms; check --ws-url and the network, then retry`));
  }, options.subscribeTimeoutMs);

  let socket: FeedSocket;
  try {
    socket = options.createSocket(url);
  } catch (err) {
    clearTimeout(subscribeTimer);
    const error = obcapError("E_USAGE", `cannot open a WebSocket to '${url}' (${err instanceof Error ? err.message : String(err)}); check --ws-url`, err);
    reject(error);
    return deadConnection(id, channels, ready);
  }
  socket.binaryType = "arraybuffer";
  const heartbeat = new Heartbeat((frame) => socket.send(frame));
  const receiver = createFrameReceiver(clock, handlers, connectionOnControl);

  /** Ends the connection (`none`: the socket already closed itself): no handler runs again. */
  function shut(how: "close" | "terminate" | "none"): void {
    if (ended) return;
    ended = true;
    clearTimeout(subscribeTimer);
    watchdog?.stop();
    heartbeat.stop();
    stopReading(socket);
    if (how !== "none") closeSocket(socket, how);
  }

  /** A failure before `ready`. */
  function fail(error: ObcapError): void {
    if (isReady || ended) return;
    shut("terminate");
    reject(error);
  }

  /** The end of a subscribed connection that we did not ask for (or the watchdog's verdict). */
  function end(info: ConnectionEnd, how: "terminate" | "none"): void {
    if (ended) return;
    shut(how);
    handlers.onEnded?.(info);
  }

  socket.onopen = () => {
    for (const channel of channels) socket.send(subscribeFrame(channel));
  };

  socket.onmessage = receiver.onMessage;

  /** A control frame: heartbeat answers and, before `ready`, acknowledgements and errors are ours. */
  function connectionOnControl(event: string, channel: string, frame: string, rxMicros: number): void {
    if (event === "bts:heartbeat") {
      heartbeat.onAnswer();
      return;
    }
    if (!isReady) {
      if (event === "bts:subscription_succeeded" && subscriptions.acknowledge(channel, rxMicros)) {
        handlers.onSubscribed?.(channel, rxMicros);
        if (subscriptions.complete && !ended) becomeReady(rxMicros);
        return;
      }
      if (event === "bts:error") {
        fail(
          obcapError(
            "E_SUBSCRIBE_REJECTED",
            `the exchange answered bts:error ${controlMessage(frame)} while subscribing to ${subscriptions.waiting()}; ` +
              `check the --pair and --channels values`,
          ),
        );
        return;
      }
    }
    handlers.onControl?.(event, channel, frame);
  }

  function becomeReady(nowMicros: number): void {
    isReady = true;
    readyMicros = nowMicros;
    clearTimeout(subscribeTimer);
    heartbeat.start(heartbeatMs);
    if (staleMs > 0) watchdog = new LivenessWatchdog(staleMs, clock, receiver.lastFrameMicros, watchdogOnStale);
    resolve();
  }

  function watchdogOnStale(silentMs: number): void {
    end({ reason: "stale", detail: `no frame and no heartbeat answer for ${Math.round(silentMs)} ms (--stale-ms ${staleMs})` }, "terminate");
  }

  socket.onclose = (ev: CloseEvent) => {
    const detail = `code ${ev.code}${ev.reason ? ` "${ev.reason}"` : ""}`;
    if (!isReady) {
      fail(obcapError("E_EXCHANGE_UNREACHABLE", `connection to ${url} closed before the subscriptions succeeded (${detail}); check --ws-url and the network`));
      return;
    }
    // 1006 = no close frame (RFC 6455 §7.1.5): the TCP connection went away under us.
    end({ reason: ev.code === 1006 ? "dropped" : "closed", detail }, "none");
  };

  socket.onerror = () => {
    // Browsers' and Bun's error events carry no detail; the close event that follows has the code.
    if (!isReady && socket.readyState !== OPEN) {
      fail(obcapError("E_EXCHANGE_UNREACHABLE", `cannot connect to ${url}; check --ws-url and the network`));
    }
  };

  return {
    id,
    channels,
    ready,
    lastFrameMicros: receiver.lastFrameMicros,
    lastDataMicros: receiver.lastDataMicros,
    lastDataFrame: receiver.lastDataFrame,
    subscribedAtMicros: (channel) => subscriptions.acknowledgedAt(channel),
    subscribeMicros: () => (readyMicros === 0 ? 0 : readyMicros - startedMicros),
    heartbeats: () => heartbeat.counts(),
    setDataHandler: receiver.setDataHandler,
    drain: (timeoutMs) => heartbeat.drain(timeoutMs),
    close() {
      if (!isReady) fail(obcapError("E_EXCHANGE_CLOSED", `connection to ${url} closed by obcap before it was subscribed`));
      shut("close");
    },
    terminate() {
      if (!isReady) fail(obcapError("E_EXCHANGE_CLOSED", `connection to ${url} closed by obcap before it was subscribed`));
      shut("terminate");
    },
  };
}

/** Detaches every handler, so that nothing the socket still does reaches us. */
function stopReading(socket: FeedSocket): void {
  socket.onmessage = null;
  socket.onopen = null;
  socket.onerror = null;
  socket.onclose = null;
}

/** `terminate` drops the connection at once where the socket can (Bun); otherwise, and for `close`, a 1000 close. */
function closeSocket(socket: FeedSocket, how: "close" | "terminate"): void {
  try {
    if (how === "terminate" && socket.terminate) socket.terminate();
    else socket.close(1000, "obcap closing");
  } catch {
    // already closed
  }
}

/** A connection whose socket could not even be created. */
function deadConnection(id: number, channels: readonly string[], ready: Promise<void>): Connection {
  return {
    id,
    channels,
    ready,
    lastFrameMicros: () => 0,
    lastDataMicros: () => 0,
    lastDataFrame: () => undefined,
    subscribedAtMicros: () => undefined,
    subscribeMicros: () => 0,
    heartbeats: () => ({ sent: 0, answered: 0 }),
    setDataHandler() {},
    drain: () => Promise.resolve(false),
    close() {},
    terminate() {},
  };
}

/** `"message"` of a bts:error frame, for humans. */
function controlMessage(frame: string): string {
  try {
    const parsed = JSON.parse(frame) as { data?: { message?: unknown; code?: unknown } };
    const message = parsed.data?.message;
    const code = parsed.data?.code;
    return `"${String(message)}"${code === null || code === undefined ? "" : ` (code ${String(code)})`}`;
  } catch {
    return frame.slice(0, 200);
  }
}
