/**
 * One WebSocket connection to Bitstamp carrying every channel (exchanges limit connections).
 *
 * The receive handler is the hot path of obcap: it stamps the receive time and hands market-data
 * frames to `onData` untouched. Only control frames (they carry a `bts:` event) are parsed here,
 * since subscription replies, errors and maintenance notices steer the connection itself.
 *
 * Liveness (heartbeat, watchdog) and reconnection belong to the never-lose issue; here a close after
 * start-up ends the capture with E_EXCHANGE_CLOSED so a supervisor restarts it.
 */
import { obcapError, type ObcapError } from "../../errors.ts";
import type { MicrosClock } from "../../clock.ts";
import { decodeFrame } from "../../pipeline/decode.ts";
import { subscribeFrame } from "./channels.ts";

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
}

export type SocketFactory = (url: string) => FeedSocket;

export interface FeedHandlers {
  /** A market-data frame, as received. Must not block: it runs on the receive path. */
  onData(frame: string, rxMicros: number): void;
  /** A binary frame (Bitstamp sends text only; kept so nothing is dropped unseen). */
  onBinary(frame: Uint8Array, rxMicros: number): void;
  /** A control frame after start-up, already understood (logged by the caller). */
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
  /** Bound on connect + all subscription acknowledgements. */
  subscribeTimeoutMs: number;
}

export interface Feed {
  /** Resolves when every channel is acknowledged; rejects with E_SUBSCRIBE_* or E_EXCHANGE_*. */
  readonly ready: Promise<void>;
  /** Microseconds from `openFeed` to the last acknowledgement (after `ready`). */
  subscribeMicros(): number;
  /** Stops reading: no further frame reaches the handlers. */
  close(): void;
}

const OPEN = 1;

/** Opens the connection, subscribes every channel, and checks every subscription succeeded. */
export function openFeed(options: FeedOptions): Feed {
  const { url, channels, clock, handlers } = options;
  const startedMicros = clock();
  let readyMicros = 0;
  let closedByUs = false;
  let isReady = false;
  const pending = new Set(channels);
  const { promise: ready, resolve, reject } = Promise.withResolvers<void>();

  const fail = (error: ObcapError) => {
    if (isReady) return;
    clearTimeout(timer);
    closedByUs = true;
    try {
      socket.close();
    } catch {
      // already closing
    }
    reject(error);
  };

  const timer = setTimeout(() => {
    const what = socket.readyState === OPEN
      ? `no subscription_succeeded for ${[...pending].join(", ")}`
      : `could not open ${url}`;
    fail(obcapError("E_SUBSCRIBE_TIMEOUT", `${what} within ${options.subscribeTimeoutMs} ms; check --ws-url and the network, then retry`));
  }, options.subscribeTimeoutMs);

  let socket: FeedSocket;
  try {
    socket = options.createSocket(url);
  } catch (err) {
    clearTimeout(timer);
    const error = obcapError("E_USAGE", `cannot open a WebSocket to '${url}' (${err instanceof Error ? err.message : String(err)}); check --ws-url`, err);
    return { ready: Promise.reject(error), subscribeMicros: () => 0, close() {} };
  }
  socket.binaryType = "arraybuffer";

  socket.onopen = () => {
    for (const channel of channels) socket.send(subscribeFrame(channel));
  };

  socket.onmessage = (ev: MessageEvent) => {
    const rxMicros = clock();
    const data: unknown = ev.data;
    if (typeof data === "string") {
      // Data frames never contain `"bts:`; control frames always do (their event is bts:*).
      if (data.indexOf('"bts:') === -1) handlers.onData(data, rxMicros);
      else socketOnControl(data);
    } else if (data instanceof ArrayBuffer) {
      handlers.onBinary(new Uint8Array(data), rxMicros);
    }
  };

  function socketOnControl(frame: string): void {
    const decoded = decodeFrame(frame, 0);
    if (decoded.kind !== "control") {
      // Looked like control but is not (e.g. a data field mentioning "bts:"): treat as data.
      handlers.onData(frame, clock());
      return;
    }
    const { event, channel } = decoded;
    if (!isReady) {
      if (event === "bts:subscription_succeeded") {
        pending.delete(channel);
        if (pending.size === 0) {
          isReady = true;
          readyMicros = clock();
          clearTimeout(timer);
          resolve();
        }
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

  socket.onclose = (ev: CloseEvent) => {
    clearTimeout(timer);
    if (closedByUs) return;
    const detail = `code ${ev.code}${ev.reason ? ` "${ev.reason}"` : ""}`;
    if (!isReady) {
      fail(obcapError("E_EXCHANGE_UNREACHABLE", `connection to ${url} closed before the subscriptions succeeded (${detail}); check --ws-url and the network`));
      return;
    }
    handlers.onLost(obcapError("E_EXCHANGE_CLOSED", `the exchange closed the connection to ${url} (${detail}); restart to resume (automatic reconnection comes with the never-lose work)`));
  };

  socket.onerror = () => {
    // Browsers' and Bun's error events carry no detail; the close event that follows has the code.
    if (!isReady && socket.readyState !== OPEN) {
      fail(obcapError("E_EXCHANGE_UNREACHABLE", `cannot connect to ${url}; check --ws-url and the network`));
    }
  };

  return {
    ready,
    subscribeMicros: () => (readyMicros === 0 ? 0 : readyMicros - startedMicros),
    close() {
      closedByUs = true;
      clearTimeout(timer);
      socket.onmessage = null;
      try {
        socket.close(1000, "obcap stopping");
      } catch {
        // already closed
      }
    },
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
