/**
 * An in-process Bitstamp WebSocket for unit tests: a `SocketFactory` whose sockets answer the client
 * the way the real server does (fake-exchange-protocol.ts: `bts:subscribe` -> `bts:subscription_succeeded`,
 * `bts:heartbeat` -> its answer, a rejected channel -> `bts:error`), with no network and no timers.
 * The test plays the rest of the server: `push()` hands a data frame to every open socket subscribed to
 * its channel, synchronously (so the frame has been received when `push` returns), and `drop()` ends
 * the connections the way a lost TCP connection does (close code 1006).
 *
 * Opening, replies and close events arrive in later microtasks, as from a real socket. Runtime-neutral.
 *
 *   const feed = createFakeFeed();
 *   // runtime.createSocket = feed.createSocket; then:
 *   await feed.whenSubscribed(["live_orders_btcusd"], 5_000);
 *   feed.push(frame);
 */
import type { FeedSocket, SocketFactory } from "../../src/runtime/ports.ts";
import { channelOf, ERROR_MESSAGE, parseClientFrame, REPLY } from "./fake-exchange-protocol.ts";
import { waitFor } from "./wait.ts";

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

export interface FakeFeedBehavior {
  /** Channels answered with `bts:error` "Invalid channel provided." instead of an acknowledgement. */
  rejectChannels: readonly string[];
}

export interface FakeFeed {
  readonly createSocket: SocketFactory;
  /** Every socket created, oldest first. */
  readonly sockets: readonly FakeFeedSocket[];
  /** Every frame any client sent, in order. */
  clientFrames(): string[];
  /** Acknowledged channels of the open sockets, sorted. */
  subscriptions(): string[];
  /** Hands `frame` to every open socket subscribed to its channel; returns how many it reached. */
  push(frame: string): number;
  /** Ends every open socket as a dropped TCP connection does (close code 1006, no close frame). */
  drop(): void;
  configure(patch: Partial<FakeFeedBehavior>): void;
  /** Resolves once every channel is acknowledged on an open socket. */
  whenSubscribed(channels: readonly string[], timeoutMs: number): Promise<void>;
  /** Resolves once `condition()` holds; re-checked after every socket event. */
  waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void>;
}

/** One client socket, driven by its {@link FakeFeed}. */
export class FakeFeedSocket implements FeedSocket {
  binaryType: FeedSocket["binaryType"] = "blob";
  readyState = CONNECTING;
  onopen: FeedSocket["onopen"] = null;
  onmessage: FeedSocket["onmessage"] = null;
  onclose: FeedSocket["onclose"] = null;
  onerror: FeedSocket["onerror"] = null;
  readonly channels = new Set<string>();
  /** How the client ended it: "close <code>" or "terminate"; undefined while it did not. */
  endedBy: string | undefined;

  constructor(
    readonly url: string,
    private readonly server: { onClientFrame(socket: FakeFeedSocket, text: string): void; changed(): void },
  ) {
    queueMicrotask(() => {
      if (this.readyState !== CONNECTING) return;
      this.readyState = OPEN;
      this.onopen?.(new Event("open"));
      server.changed();
    });
  }

  send(data: string): void {
    if (this.readyState !== OPEN) throw new Error("the fake socket is not open");
    this.server.onClientFrame(this, data);
  }

  close(code = 1000): void {
    this.end(`close ${code}`, code);
  }

  terminate(): void {
    this.end("terminate", 1006);
  }

  /** A server frame, now (the receive path runs before this returns). */
  deliver(text: string): void {
    if (this.readyState !== OPEN) return;
    this.onmessage?.({ data: text } as MessageEvent);
  }

  /** A server frame, in a later microtask (a reply to a client frame). */
  reply(text: string): void {
    queueMicrotask(() => {
      this.deliver(text);
      this.server.changed();
    });
  }

  /** The connection is gone: `onclose` with `code` in a later microtask. */
  serverEnd(code: number): void {
    this.end(undefined, code);
  }

  private end(by: string | undefined, code: number): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.endedBy ??= by;
    this.channels.clear();
    queueMicrotask(() => {
      this.onclose?.({ code, reason: "" } as CloseEvent);
      this.server.changed();
    });
    this.server.changed();
  }
}

/** A fresh fake exchange feed; see the file comment. */
export function createFakeFeed(initial: Partial<FakeFeedBehavior> = {}): FakeFeed {
  const behavior: FakeFeedBehavior = { rejectChannels: initial.rejectChannels ?? [] };
  const sockets: FakeFeedSocket[] = [];
  const received: string[] = [];
  const checks = new Set<() => void>();
  const changed = () => {
    for (const check of [...checks]) check();
  };
  const server = {
    changed,
    onClientFrame(socket: FakeFeedSocket, text: string) {
      received.push(text);
      const request = parseClientFrame(text);
      switch (request.kind) {
        case "error":
          socket.reply(REPLY.error(request.message));
          break;
        case "heartbeat":
          socket.reply(REPLY.heartbeat);
          break;
        case "subscribe":
          if (behavior.rejectChannels.includes(request.channel)) {
            socket.reply(REPLY.error(ERROR_MESSAGE.invalidChannel));
          } else {
            socket.channels.add(request.channel);
            socket.reply(REPLY.subscribed(request.channel));
          }
          break;
        case "unsubscribe":
          socket.channels.delete(request.channel);
          socket.reply(REPLY.unsubscribed(request.channel));
          break;
      }
      changed();
    },
  };
  const open = () => sockets.filter((s) => s.readyState === OPEN);
  const until = (condition: () => boolean, timeoutMs: number, what: string | (() => string)) =>
    waitFor(condition, {
      timeoutMs,
      intervalMs: 20,
      what,
      subscribe: (recheck) => {
        checks.add(recheck);
        return () => checks.delete(recheck);
      },
    }).then(() => undefined);
  const subscriptions = () => [...new Set(open().flatMap((s) => [...s.channels]))].sort();
  return {
    createSocket: (url) => {
      const socket = new FakeFeedSocket(url, server);
      sockets.push(socket);
      changed();
      return socket;
    },
    sockets,
    clientFrames: () => [...received],
    subscriptions,
    push(frame) {
      const channel = channelOf(frame);
      let reached = 0;
      for (const socket of open()) {
        if (channel === undefined || !socket.channels.has(channel)) continue;
        socket.deliver(frame);
        reached++;
      }
      changed();
      return reached;
    },
    drop() {
      for (const socket of open()) socket.serverEnd(1006);
    },
    configure(patch) {
      Object.assign(behavior, patch);
    },
    whenSubscribed(channels, timeoutMs) {
      return until(() => {
        const have = new Set(subscriptions());
        return channels.every((c) => have.has(c));
      }, timeoutMs, () => `subscriptions to ${channels.join(", ")} (have: ${subscriptions().join(", ") || "none"})`);
    },
    waitFor: (condition, timeoutMs, what) => until(condition, timeoutMs, what),
  };
}
