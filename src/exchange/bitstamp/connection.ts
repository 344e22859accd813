/**
 * One WebSocket connection to Bitstamp carrying every channel (exchanges limit connections): open,
 * subscribe, check every acknowledgement, then prove it alive. Reconnecting is the supervisor's job
 * (feed-supervisor.ts); this file knows one socket from open to end.
 *
 * The receive handler is the hot path of obcap: it stamps the receive time, notes it as the last
 * sign of life, and hands market-data frames to `onData` untouched. Only control frames (they carry
 * a `bts:` event) are parsed here, since subscription replies, errors, heartbeat answers and
 * maintenance notices steer the connection itself.
 *
 * Liveness: once subscribed, `{"event":"bts:heartbeat"}` goes out every `heartbeatMs` and the
 * exchange answers it, so a healthy connection never stays silent longer than about one round trip
 * after a heartbeat, however quiet its books are. A connection from which no frame at all arrived for
 * `staleMs` is dead. Bun gives no close or error event for a silent peer (45 s observed, even while
 * pinging) and `close()` on a dead peer takes 33 s to fire `close` (BUN-NOTES), so the watchdog ends
 * it with `terminate()` when the socket has one.
 */
import { obcapError, type ObcapError } from "../../base/errors.ts";
import type { MicrosClock } from "../../base/clock.ts";
import { decodeFrame } from "./decode.ts";
import { heartbeatFrame, subscribeFrame } from "./client-frames.ts";

/** The subset of the WHATWG WebSocket this module uses, so tests and runtimes can supply one. */
export interface FeedSocket {
  binaryType: "blob" | "arraybuffer" | "nodebuffer";
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** Drops the connection at once, without the closing handshake (Bun; `close()` is the fallback). */
  terminate?(): void;
}

export type SocketFactory = (url: string) => FeedSocket;

/** How a subscribed connection ended without us ending it, or why the watchdog ended it. */
export type EndReason = "stale" | "dropped" | "closed";

export interface ConnectionEnd {
  reason: EndReason;
  /** For humans: close code and reason, or how long it was silent. */
  detail: string;
}

/** A data frame receiver. Must not block: it runs on the receive path. */
export type DataHandler = (frame: string, rxMicros: number) => void;

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
  let lastFrameMicros = 0;
  let lastDataMicros = 0;
  let lastDataFrame: string | undefined;
  let ended = false;
  let isReady = false;
  let onData = handlers.onData;
  let heartbeatsSent = 0;
  let heartbeatsAnswered = 0;
  let heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  let watchdogTimer: ReturnType<typeof setTimeout> | undefined;
  const drainWaiters: { seq: number; done: (answered: boolean) => void }[] = [];
  const pending = new Set(channels);
  const ackMicros = new Map<string, number>();
  const { promise: ready, resolve, reject } = Promise.withResolvers<void>();
  ready.catch(() => {}); // the owner observes it; an unobserved rejection must not kill the process

  const subscribeTimer = setTimeout(() => {
    const what = socket.readyState === OPEN
      ? `no subscription_succeeded for ${[...pending].join(", ")}`
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

  /** Ends the connection (`none`: the socket already closed itself): no handler runs again. */
  function shut(how: "close" | "terminate" | "none"): void {
    if (ended) return;
    ended = true;
    clearTimeout(subscribeTimer);
    clearInterval(heartbeatTimer);
    clearTimeout(watchdogTimer);
    for (const waiter of drainWaiters.splice(0)) waiter.done(false);
    socket.onmessage = null;
    socket.onopen = null;
    socket.onerror = null;
    socket.onclose = null;
    if (how === "none") return;
    try {
      if (how === "terminate" && socket.terminate) socket.terminate();
      else socket.close(1000, "obcap closing");
    } catch {
      // already closed
    }
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

  socket.onmessage = (ev: MessageEvent) => {
    const rxMicros = clock();
    lastFrameMicros = rxMicros;
    const data: unknown = ev.data;
    if (typeof data === "string") {
      // Data frames never contain `"bts:`; control frames always do (their event is bts:*).
      if (data.indexOf('"bts:') === -1) {
        lastDataMicros = rxMicros;
        lastDataFrame = data;
        onData(data, rxMicros);
      } else socketOnControl(data, rxMicros);
    } else if (data instanceof ArrayBuffer) {
      lastDataMicros = rxMicros;
      handlers.onBinary(new Uint8Array(data), rxMicros);
    }
  };

  function socketOnControl(frame: string, rxMicros: number): void {
    const decoded = decodeFrame(frame, 0);
    if (decoded.kind !== "control") {
      // Looked like control but is not (e.g. a data field mentioning "bts:"): treat as data.
      lastDataMicros = rxMicros;
      onData(frame, rxMicros);
      return;
    }
    const { event, channel } = decoded;
    if (event === "bts:heartbeat") {
      heartbeatsAnswered++;
      while (drainWaiters.length > 0 && drainWaiters[0]!.seq <= heartbeatsAnswered) drainWaiters.shift()!.done(true);
      return;
    }
    if (!isReady) {
      if (event === "bts:subscription_succeeded" && pending.has(channel)) {
        pending.delete(channel);
        ackMicros.set(channel, rxMicros);
        handlers.onSubscribed?.(channel, rxMicros);
        if (pending.size === 0 && !ended) becomeReady(rxMicros);
        return;
      }
      if (event === "bts:error") {
        fail(
          obcapError(
            "E_SUBSCRIBE_REJECTED",
            `the exchange answered bts:error ${controlMessage(frame)} while subscribing to ${[...pending].join(", ")}; ` +
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
    if (heartbeatMs > 0) heartbeatTimer = setInterval(sendHeartbeat, heartbeatMs);
    if (staleMs > 0) watchdogTimer = setTimeout(watchdogOnTimer, staleMs);
    resolve();
  }

  function sendHeartbeat(): void {
    if (ended) return;
    try {
      socket.send(heartbeatFrame());
      heartbeatsSent++;
    } catch {
      // The socket is going away; its close event or the watchdog ends it.
    }
  }

  /**
   * Fires `staleMs` after the last frame known when it was armed. The receive path only stores a
   * number; the timer re-arms itself for the rest of the window, so a busy connection costs one
   * timer per `staleMs` and a dead one is cut `staleMs` after its last frame.
   */
  function watchdogOnTimer(): void {
    if (ended) return;
    const silentMs = (clock() - lastFrameMicros) / 1000;
    if (silentMs < staleMs) {
      watchdogTimer = setTimeout(watchdogOnTimer, Math.max(1, Math.ceil(staleMs - silentMs)));
      return;
    }
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
    lastFrameMicros: () => lastFrameMicros,
    lastDataMicros: () => lastDataMicros,
    lastDataFrame: () => lastDataFrame,
    subscribedAtMicros: (channel) => ackMicros.get(channel),
    subscribeMicros: () => (readyMicros === 0 ? 0 : readyMicros - startedMicros),
    heartbeats: () => ({ sent: heartbeatsSent, answered: heartbeatsAnswered }),
    setDataHandler(handler) {
      onData = handler;
    },
    drain(timeoutMs) {
      if (ended) return Promise.resolve(false);
      sendHeartbeat();
      const seq = heartbeatsSent;
      return new Promise<boolean>((done) => {
        const timer = setTimeout(() => finish(false), timeoutMs);
        const finish = (answered: boolean) => {
          clearTimeout(timer);
          const at = drainWaiters.indexOf(waiter);
          if (at >= 0) drainWaiters.splice(at, 1);
          done(answered);
        };
        const waiter = { seq, done: finish };
        drainWaiters.push(waiter);
      });
    },
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

// ---------------------------------------------------------------------------------------------
// One connection without liveness or reconnection (benchmarks of the receive path)

export interface FeedHandlers {
  onData(frame: string, rxMicros: number): void;
  onBinary(frame: Uint8Array, rxMicros: number): void;
  onControl?(event: string, channel: string, frame: string): void;
  /** The connection ended after start-up without `close()` being called. */
  onLost(error: ObcapError): void;
}

export interface FeedOptions {
  url: string;
  channels: readonly string[];
  createSocket: SocketFactory;
  clock: MicrosClock;
  handlers: FeedHandlers;
  subscribeTimeoutMs: number;
}

export interface Feed {
  readonly ready: Promise<void>;
  subscribeMicros(): number;
  close(): void;
}

/**
 * One subscribed connection with no heartbeat, watchdog or reconnection: its end is reported once
 * as E_EXCHANGE_CLOSED. The capture uses the supervisor (feed-supervisor.ts); this bare form is for
 * measuring the receive path alone (bench/receive.bench.ts).
 */
export function openFeed(options: FeedOptions): Feed {
  const { handlers } = options;
  const connection = openConnection({
    ...options,
    handlers: {
      onData: handlers.onData,
      onBinary: handlers.onBinary,
      onControl: handlers.onControl,
      onEnded: (end) => handlers.onLost(obcapError("E_EXCHANGE_CLOSED", `the exchange connection to ${options.url} ended (${end.reason}: ${end.detail})`)),
    },
  });
  return { ready: connection.ready, subscribeMicros: connection.subscribeMicros, close: connection.close };
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
