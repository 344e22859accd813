/**
 * A local exchange that speaks Bitstamp's WebSocket v2 and the two REST calls obcap makes, for the
 * integration tests, `make demo` and the benchmarks (no internet here). Test support, so Bun APIs are fine.
 *
 * WebSocket (any path): replies exactly as the real server (fake-exchange-protocol.ts), including its
 * quirks: unknown lower-case pairs are acknowledged, errors leave the socket open, client frames over 512
 * bytes close it with 1009. Data frames are sent verbatim, never re-serialized. `play()` delivers a frame
 * only to connections subscribed to its channel, like the real fan-out.
 *
 * REST on the same port: `GET /api/v2/trading-pairs-info/` (default body: the real 2022 fixture, raw
 * bytes) and `GET /api/v2/order_book/<pair>/` (body from `orderBookBody`; else, with `trueBook`, the
 * true book of the pair at that instant (fake-exchange-book.ts: resting orders given at start, then
 * every order frame sent); else an empty book for listed pairs); anything else is nginx's 404 page,
 * as the real edge answers.
 *
 *   await using fake = await startFakeExchange({ script: { live_orders_btcusd: frames } });
 *   // point the client at fake.wsUrl / fake.restUrl, then:
 *   await fake.whenSubscribed(["live_orders_btcusd"], 5_000);
 */
import { readFileSync } from "node:fs";
import type { Server, ServerWebSocket } from "bun";
import {
  channelOf, FRAME_TOO_BIG_CLOSE_CODE, FRAME_TOO_BIG_CLOSE_REASON, MAX_CLIENT_FRAME_BYTES,
  MAX_SUBSCRIPTIONS_PER_CONNECTION, parseClientFrame, REPLY, SERVER_PING_INTERVAL_MS,
} from "./fake-exchange-protocol.ts";
import { PAIRS_INFO_FIXTURE_URL } from "./market-params.ts";
import { playInBatches, type PlayOptions, type PlayResult } from "./fake-exchange-play.ts";
import { restResponse } from "./fake-exchange-rest.ts";
import { waitFor as waitForCondition } from "./wait.ts";
import { TrueBook } from "./fake-exchange-book.ts";

export type { PlayOptions, PlayResult };

/** Misbehaviour knobs for error-path tests; all can be changed while running with `configure()`. */
export interface FakeExchangeBehavior {
  /** Channels answered with `bts:error` "Invalid channel provided." instead of an ack. */
  rejectChannels: readonly string[];
  /** Never acknowledge a subscription (the client must time out). */
  ignoreSubscribe: boolean;
  /** Delay before each subscription ack. */
  ackDelayMs: number;
  /** Never answer `bts:heartbeat`: with no data either, the server looks dead while TCP stays up. */
  ignoreHeartbeat: boolean;
  /** Answer WebSocket upgrades with HTTP 503 (exchange down / maintenance). */
  refuseUpgrade: boolean;
  /** Protocol ping interval per connection (real server: 54 s); 0 = no pings. */
  pingIntervalMs: number;
}

/** Frames to send to a connection right after it is subscribed to a channel. */
export type FakeExchangeScript =
  | Readonly<Record<string, readonly string[]>>
  | ((channel: string) => readonly string[] | undefined);

export interface FakeExchangeOptions extends Partial<FakeExchangeBehavior> {
  /** Port to listen on; 0 (default) picks a free one. Always binds 127.0.0.1. */
  port?: number;
  /** Body of `GET /api/v2/trading-pairs-info/`; default the real 2022 fixture, byte for byte (ASCII). */
  pairsInfoBody?: string;
  /** Body of `GET /api/v2/order_book/<pair>/`; `undefined` = default (the true book, else an empty book if listed, else 404). */
  orderBookBody?: (pair: string, url: URL) => string | undefined;
  /**
   * Keep the true order book (fake-exchange-book.ts) and answer the order book with it: `initial` gives
   * each pair's resting orders at start as a group=2 body (e.g. FrameGenerator.bookSnapshot before
   * the first frame), never sent as events; every live_orders frame sent then changes it.
   */
  trueBook?: { initial?: Readonly<Record<string, string>> };
  /** Handles any HTTP request first (status codes, slow answers...); `undefined` falls through. */
  rest?: (request: Request, url: URL) => Response | undefined | Promise<Response | undefined>;
  script?: FakeExchangeScript;
  /** Negotiate permessage-deflate when the client offers it, like the real server. Default true. */
  perMessageDeflate?: boolean;
  /** Keep every frame sent in `sentFrames()`. Default true; turn off for long benchmark runs. */
  recordSentFrames?: boolean;
}

export interface FakeExchange extends AsyncDisposable {
  /** `ws://127.0.0.1:<port>`, like `wss://ws.bitstamp.net` without a path. */
  readonly wsUrl: string;
  /** `http://127.0.0.1:<port>`: the client calls `${restUrl}/api/v2/trading-pairs-info/`. */
  readonly restUrl: string;
  readonly port: number;
  /** Open WebSocket connections. */
  connections(): number;
  /** Ids of open connections, oldest first (ids start at 1 and are never reused). */
  connectionIds(): number[];
  /** Acknowledged channels, all connections merged, sorted. */
  subscriptions(): string[];
  subscriptionsOf(connectionId: number): string[];
  /** Every frame any client sent, verbatim, in arrival order. */
  clientFrames(): string[];
  /** Every frame sent to any client (one entry per connection it went to), in order. */
  sentFrames(): string[];
  /** `METHOD /path?query` of every HTTP request, WebSocket upgrades included. */
  restRequests(): string[];
  /** With `trueBook`: the book (its group=2 body now, the bodies served); undefined without. */
  readonly trueBook: TrueBook | undefined;
  /** Resolves when every channel is acknowledged on some connection; rejects after `timeoutMs`. */
  whenSubscribed(channels: readonly string[], timeoutMs: number): Promise<void>;
  /** Resolves when at least `count` connections are open. */
  whenConnections(count: number, timeoutMs: number): Promise<void>;
  /** Resolves when `condition()` holds; it is re-checked after every connection, frame and subscription change. */
  waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void>;
  /** Sends raw text (possibly malformed on purpose) to every connection; returns how many it reached. */
  send(frame: string): number;
  /** Sends a binary frame (e.g. bytes that are not UTF-8) to every connection; returns how many it reached. */
  sendBytes(bytes: Uint8Array): number;
  /** Sends raw text to one connection; false if it is not open. */
  sendTo(connectionId: number, frame: string): boolean;
  /** Sends each frame to the connections subscribed to its channel, with backpressure. */
  play(frames: Iterable<string> | AsyncIterable<string>, opts?: PlayOptions): Promise<PlayResult>;
  /** Sends `{"event": "bts:request_reconnect", "channel": "", "data": null}` to every connection. */
  requestReconnect(): void;
  /** Drops every connection at TCP level, with no close frame. */
  dropConnections(): void;
  dropConnection(connectionId: number): void;
  /** Closes every connection with a close frame. */
  closeConnections(code?: number, reason?: string): void;
  configure(patch: Partial<FakeExchangeBehavior>): void;
  stop(): Promise<void>;
}

interface Connection {
  id: number;
  channels: Set<string>;
  drainWaiters: Array<() => void>;
  pingTimer: ReturnType<typeof setInterval> | undefined;
  open: boolean;
}

type Socket = ServerWebSocket<Connection>;

function pairsInfoSymbols(body: string): Set<string> {
  try {
    const rows = JSON.parse(body) as unknown;
    if (!Array.isArray(rows)) return new Set();
    return new Set(rows.map((r: { url_symbol?: unknown }) => String(r?.url_symbol ?? "").toLowerCase()));
  } catch {
    return new Set();
  }
}

/** Starts the fake exchange and resolves once it listens. */
export async function startFakeExchange(opts: FakeExchangeOptions = {}): Promise<FakeExchange> {
  const behavior: FakeExchangeBehavior = {
    rejectChannels: opts.rejectChannels ?? [],
    ignoreSubscribe: opts.ignoreSubscribe ?? false,
    ackDelayMs: opts.ackDelayMs ?? 0,
    ignoreHeartbeat: opts.ignoreHeartbeat ?? false,
    refuseUpgrade: opts.refuseUpgrade ?? false,
    pingIntervalMs: opts.pingIntervalMs ?? SERVER_PING_INTERVAL_MS,
  };
  // The fixture holds the body as one NDJSON line: its final newline is the line end, not body bytes.
  const pairsInfoBody = opts.pairsInfoBody ?? readFileSync(PAIRS_INFO_FIXTURE_URL, "utf8").replace(/\n$/, "");
  const knownPairs = pairsInfoSymbols(pairsInfoBody);
  const compress = opts.perMessageDeflate ?? true;
  const recordSent = opts.recordSentFrames ?? true;
  const sockets = new Map<number, Socket>();
  const received: string[] = [];
  const sent: string[] = [];
  const requests: string[] = [];
  const waiters = new Set<() => void>();
  let nextConnectionId = 1;
  const trueBook = opts.trueBook ? new TrueBook(opts.trueBook.initial) : undefined;

  const notify = () => {
    for (const check of [...waiters]) check();
  };

  const sendRaw = (ws: Socket, frame: string): number => {
    const status = ws.sendText(frame, compress);
    if (recordSent && status !== 0) sent.push(frame);
    return status;
  };

  const waitDrain = (ws: Socket) =>
    new Promise<void>((resolve) => {
      if (!ws.data.open) resolve();
      else ws.data.drainWaiters.push(resolve);
    });

  const releaseDrain = (ws: Socket) => {
    const waiting = ws.data.drainWaiters.splice(0);
    for (const resolve of waiting) resolve();
  };

  const scriptFor = (channel: string): readonly string[] => {
    const { script } = opts;
    if (!script) return [];
    return (typeof script === "function" ? script(channel) : script[channel]) ?? [];
  };

  const acknowledge = (ws: Socket, channel: string) => {
    if (!ws.data.open) return;
    ws.data.channels.add(channel);
    sendRaw(ws, REPLY.subscribed(channel));
    for (const frame of scriptFor(channel)) {
      trueBook?.observe(frame);
      sendRaw(ws, frame);
    }
    notify();
  };

  const onClientFrame = (ws: Socket, text: string, bytes: number) => {
    received.push(text);
    if (bytes > MAX_CLIENT_FRAME_BYTES) {
      ws.close(FRAME_TOO_BIG_CLOSE_CODE, FRAME_TOO_BIG_CLOSE_REASON);
      return;
    }
    const request = parseClientFrame(text);
    switch (request.kind) {
      case "error":
        sendRaw(ws, REPLY.error(request.message));
        return;
      case "heartbeat":
        if (!behavior.ignoreHeartbeat) sendRaw(ws, REPLY.heartbeat);
        return;
      case "unsubscribe":
        ws.data.channels.delete(request.channel);
        sendRaw(ws, REPLY.unsubscribed(request.channel));
        return;
      case "subscribe": {
        const { channel } = request;
        if (behavior.rejectChannels.includes(channel)) {
          sendRaw(ws, REPLY.error("Invalid channel provided."));
        } else if (behavior.ignoreSubscribe) {
          // Silence: the client's subscription timeout is what is under test.
        } else if (!ws.data.channels.has(channel) && ws.data.channels.size >= MAX_SUBSCRIPTIONS_PER_CONNECTION) {
          ws.terminate(); // "silently closed" on the 1025th subscription
        } else if (behavior.ackDelayMs > 0) {
          setTimeout(() => acknowledge(ws, channel), behavior.ackDelayMs);
        } else {
          acknowledge(ws, channel);
        }
      }
    }
  };

  const server: Server<Connection> = Bun.serve<Connection>({
    hostname: "127.0.0.1",
    port: opts.port ?? 0,
    async fetch(request, srv) {
      const url = new URL(request.url);
      requests.push(`${request.method} ${url.pathname}${url.search}`);
      if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
        if (behavior.refuseUpgrade) {
          return new Response("<html><body><h1>503 Service Unavailable</h1></body></html>\n", {
            status: 503, headers: { "content-type": "text/html" },
          });
        }
        const data: Connection = { id: nextConnectionId++, channels: new Set(), drainWaiters: [], pingTimer: undefined, open: false };
        if (srv.upgrade(request, { data })) return undefined;
        return new Response("WebSocket upgrade failed", { status: 400 });
      }
      const custom = opts.rest ? await opts.rest(request, url) : undefined;
      const orderBookBody = opts.orderBookBody ?? (trueBook ? (pair: string) => (knownPairs.has(pair) ? trueBook.serve(pair, `${url.pathname}${url.search}`) : undefined) : undefined);
      return custom ?? restResponse(request, url, { pairsInfoBody, knownPairs, orderBookBody });
    },
    websocket: {
      // The real server never closes an idle socket (201 s observed) and pings on its own timer.
      idleTimeout: 0,
      sendPings: false,
      // Big enough to read an oversized frame and answer 1009 with the real reason text ourselves.
      maxPayloadLength: 64 * 1024,
      perMessageDeflate: compress,
      open(ws) {
        ws.data.open = true;
        sockets.set(ws.data.id, ws);
        if (behavior.pingIntervalMs > 0) ws.data.pingTimer = setInterval(() => ws.ping(), behavior.pingIntervalMs);
        notify();
      },
      message(ws, message) {
        const text = typeof message === "string" ? message : message.toString("utf8");
        const bytes = typeof message === "string" ? Buffer.byteLength(message) : message.byteLength;
        onClientFrame(ws, text, bytes);
        notify();
      },
      drain(ws) {
        releaseDrain(ws);
      },
      close(ws) {
        ws.data.open = false;
        clearInterval(ws.data.pingTimer);
        sockets.delete(ws.data.id);
        releaseDrain(ws);
        notify();
      },
    },
  });

  const port = server.port ?? 0;

  const waitFor = async (condition: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> => {
    await waitForCondition(condition, {
      timeoutMs,
      what: () => `${typeof what === "function" ? what() : what} (fake exchange)`,
      subscribe: (recheck) => {
        waiters.add(recheck);
        return () => waiters.delete(recheck);
      },
    });
  };

  const subscribedAnywhere = (channel: string) => {
    for (const ws of sockets.values()) if (ws.data.channels.has(channel)) return true;
    return false;
  };

  /**
   * Sends a batch of frames, each to the connections subscribed to its channel. Each socket is corked for
   * the batch (one write instead of one per frame). Returns the sockets that reported backpressure.
   */
  const deliverBatch = (batch: readonly string[], result: PlayResult): Socket[] => {
    const channels = batch.map(channelOf);
    // The exchange's book changes whether or not anyone is subscribed.
    if (trueBook) for (const frame of batch) trueBook.observe(frame);
    const reached = new Uint8Array(batch.length);
    const blocked: Socket[] = [];
    for (const ws of sockets.values()) {
      const subscribed = ws.data.channels;
      if (subscribed.size === 0) continue;
      let pushedBack = false;
      ws.cork(() => {
        for (let i = 0; i < batch.length; i++) {
          const channel = channels[i];
          if (channel === undefined || !subscribed.has(channel)) continue;
          const status = sendRaw(ws, batch[i] as string);
          if (status !== 0) reached[i] = 1;
          if (status === -1) pushedBack = true; // queued: wait for `drain` before the next batch
        }
      });
      if (pushedBack) blocked.push(ws);
    }
    for (const r of reached) {
      if (r) result.sent++;
      else result.notSent++;
    }
    return blocked;
  };

  const play = async (frames: Iterable<string> | AsyncIterable<string>, playOpts: PlayOptions = {}): Promise<PlayResult> => {
    const result: PlayResult = { sent: 0, notSent: 0 };
    await playInBatches(frames, playOpts, (batch) => {
      const blocked = deliverBatch(batch, result);
      return blocked.length > 0 ? Promise.all(blocked.map(waitDrain)).then(() => undefined) : undefined;
    });
    return result;
  };

  const fake: FakeExchange = {
    wsUrl: `ws://127.0.0.1:${port}`,
    restUrl: `http://127.0.0.1:${port}`,
    port,
    connections: () => sockets.size,
    connectionIds: () => [...sockets.keys()],
    subscriptions: () => [...new Set([...sockets.values()].flatMap((ws) => [...ws.data.channels]))].sort(),
    subscriptionsOf: (id) => [...(sockets.get(id)?.data.channels ?? [])].sort(),
    clientFrames: () => [...received],
    sentFrames: () => [...sent],
    restRequests: () => [...requests],
    trueBook,
    whenSubscribed: (channels, timeoutMs) =>
      waitFor(() => channels.every(subscribedAnywhere), timeoutMs, () => {
        const missing = channels.filter((c) => !subscribedAnywhere(c));
        return `subscription to ${missing.join(", ")} (subscribed: ${fake.subscriptions().join(", ") || "none"})`;
      }),
    whenConnections: (count, timeoutMs) =>
      waitFor(() => sockets.size >= count, timeoutMs, () => `${count} connection(s) (open: ${sockets.size})`),
    waitFor,
    send(frame) {
      trueBook?.observe(frame);
      let reached = 0;
      for (const ws of sockets.values()) if (sendRaw(ws, frame) !== 0) reached++;
      return reached;
    },
    sendBytes(bytes) {
      let reached = 0;
      for (const ws of sockets.values()) if (ws.sendBinary(bytes, compress) !== 0) reached++;
      return reached;
    },
    sendTo(connectionId, frame) {
      const ws = sockets.get(connectionId);
      return ws !== undefined && sendRaw(ws, frame) !== 0;
    },
    play,
    requestReconnect() {
      for (const ws of sockets.values()) sendRaw(ws, REPLY.requestReconnect);
    },
    dropConnections() {
      for (const ws of [...sockets.values()]) ws.terminate();
    },
    dropConnection(connectionId) {
      sockets.get(connectionId)?.terminate();
    },
    closeConnections(code = 1000, reason = "") {
      for (const ws of [...sockets.values()]) ws.close(code, reason);
    },
    configure(patch) {
      Object.assign(behavior, patch);
    },
    async stop() {
      for (const ws of sockets.values()) clearInterval(ws.data.pingTimer);
      await server.stop(true);
    },
    [Symbol.asyncDispose]: () => fake.stop(),
  };
  return fake;
}
