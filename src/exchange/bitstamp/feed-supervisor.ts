/**
 * Keeps the capture subscribed for as long as it runs: one connection at a time (two while one
 * replaces the other), watched by heartbeats, replaced when it dies, and every interval in which a
 * channel had no subscribed connection reported as a gap. This file holds who is current and who is
 * coming; its parts do the rest:
 *
 * - Start-up: the first connection must subscribe, or `ready` rejects (E_EXCHANGE_UNREACHABLE,
 *   E_SUBSCRIBE_TIMEOUT, E_SUBSCRIBE_REJECTED) and nothing is retried: cron restarts the capture.
 * - Once running, a connection that goes stale (watchdog, liveness-watchdog.ts), drops or is closed by
 *   the exchange is replaced, at once or after a backoff (reconnect-policy.ts); retries go on forever,
 *   except when the exchange answers a resubscription with bts:error (a configuration error):
 *   `onFatal` E_SUBSCRIBE_REJECTED. Their warnings are throttled (reconnect-warnings.ts).
 * - `bts:request_reconnect` (maintenance notice): make-before-break, no gap (connection-switch.ts).
 * - Gaps: channels uncovered when a connection ends, until resubscribed (gap-ledger.ts); `onGap`
 *   gets each.
 */
import type { MicrosClock } from "../../base/clock.ts";
import { describeError, obcapError, type ObcapError } from "../../base/errors.ts";
import type { FeedGap } from "../../model/gap-record.ts";
import type { SocketFactory } from "../../runtime/ports.ts";
import { openConnection, type Connection, type EndReason } from "./connection.ts";
import { ConnectionSwitch } from "./connection-switch.ts";
import type { DataHandler } from "./frame-receiver.ts";
import { GapLedger } from "./gap-ledger.ts";
import { ReconnectPolicy } from "./reconnect-policy.ts";
import { ReconnectWarnings } from "./reconnect-warnings.ts";

export interface FeedSupervisorHandlers {
  /** A market-data frame, once (overlap copies removed). Must not block: it runs on the receive path. */
  onData: DataHandler;
  onBinary(frame: Uint8Array, rxMicros: number): void;
  /** A control frame other than acks and heartbeat answers (request_reconnect included, already acted on). */
  onControl?(event: string, channel: string, frame: string): void;
  /** An interval of one channel with no subscribed connection. */
  onGap(gap: FeedGap): void;
  /**
   * A connection's subscription to `channel` was acknowledged: the first connection, a replacement,
   * the new side of a `bts:request_reconnect` switch (once per channel and connection). The capture
   * takes an order book snapshot then (snapshot-fetcher.ts). Must not block.
   */
  onSubscribed?(channel: string, ackMicros: number): void;
  /** The capture cannot go on (a resubscription rejected with bts:error). */
  onFatal(error: ObcapError): void;
}

/** What the supervisor logs through; consola's logger fits. */
export interface FeedLog {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

/** What happened, for tests and benchmarks (the log says the same for humans). */
export type FeedEvent =
  | { type: "connected"; connectionId: number; attempt: number; subscribeMicros: number }
  | { type: "lost"; connectionId: number; reason: EndReason; detail: string; atMicros: number }
  | { type: "reconnect-scheduled"; attempt: number; delayMs: number; reason: string }
  | { type: "attempt-failed"; connectionId: number; attempt: number; error: ObcapError }
  | { type: "overlap-started"; oldConnectionId: number; newConnectionId: number }
  | { type: "overlap-finished"; oldConnectionId: number; newConnectionId: number; drained: boolean; duplicatesDropped: number }
  | { type: "gap"; gap: FeedGap };

export interface FeedSupervisorOptions {
  url: string;
  channels: readonly string[];
  createSocket: SocketFactory;
  clock: MicrosClock;
  handlers: FeedSupervisorHandlers;
  /** Bound on connect + all acknowledgements, for the first connection and every replacement. */
  subscribeTimeoutMs: number;
  /** `--heartbeat-ms`: heartbeat interval per connection. */
  heartbeatMs: number;
  /** `--stale-ms`: a connection with no frame at all for this long is dead. */
  staleMs: number;
  /** `--reconnect-max-ms`: cap of the backoff between failed reconnects. */
  reconnectMaxMs: number;
  /** Ceiling of the second attempt's delay (the first is immediate). Default 250 ms (reconnect-policy.ts). */
  reconnectBaseMs?: number;
  /** Subscribed this long, a connection counts as a success that resets the backoff. Default `staleMs`. */
  stableMs?: number;
  /** Uniform in [0, 1) for the jitter; tests inject their own. */
  random?: () => number;
  log?: FeedLog;
  onEvent?: (event: FeedEvent) => void;
}

export interface FeedStats {
  /** Connections opened (first, replacements, overlaps). */
  connectionsOpened: number;
  /** Replacements that subscribed after a loss. */
  reconnects: number;
  /** Replacement attempts that failed. */
  failedAttempts: number;
  lost: Record<EndReason, number>;
  /** `bts:request_reconnect` overlaps completed. */
  overlaps: number;
  /** Frames received on both connections of an overlap, passed on once. */
  duplicatesDropped: number;
  gaps: number;
  /** A subscribed connection is open now. */
  connected: boolean;
  /** Since the last frame of any kind on the current connection (liveness), ms; -1 if none. */
  lastFrameAgeMs: number;
  /** Since the last market-data frame on the current connection, ms; -1 if none (quiet books are fine). */
  lastDataAgeMs: number;
}

export interface FeedSupervisor {
  /** Resolves when the first connection has every channel; rejects with its error (no retry). */
  readonly ready: Promise<void>;
  /** Microseconds the first connection took to subscribe. */
  subscribeMicros(): number;
  /** When the first connection's subscription to `channel` was acknowledged (µs); undefined before. */
  firstSubscribedMicros(channel: string): number | undefined;
  stats(): FeedStats;
  /** Stops reading and closes every connection; a channel uncovered at this moment gets its gap. */
  close(): void;
}

const NO_LOG: FeedLog = { info() {}, warn() {}, debug() {} };

/** Starts the first connection and supervises it and its successors until `close()`. */
export function startFeedSupervisor(options: FeedSupervisorOptions): FeedSupervisor {
  const { url, channels, clock, handlers } = options;
  const log = options.log ?? NO_LOG;
  const emit = options.onEvent ?? (() => {});
  const reconnects = new ReconnectPolicy({
    baseMs: options.reconnectBaseMs,
    maxMs: options.reconnectMaxMs,
    random: options.random,
    stableMicros: (options.stableMs ?? options.staleMs) * 1000,
  });
  const warnings = new ReconnectWarnings(log);
  const ledger = new GapLedger(channels, clock, report);

  let primary: Connection | undefined;
  let primaryReadyMicros = 0;
  /** A connection being subscribed: a replacement, or the new side of an overlap. */
  let successor: Connection | undefined;
  let overlap: ConnectionSwitch | undefined;
  let stopped = false;
  let firstSubscribeMicros = 0;
  const stats = {
    connectionsOpened: 0, reconnects: 0, failedAttempts: 0, lost: { stale: 0, dropped: 0, closed: 0 }, overlaps: 0, duplicatesDropped: 0, gaps: 0,
  };

  function open(onData: DataHandler): Connection {
    stats.connectionsOpened++;
    // `self` is assigned before any handler can run (they all run from socket events, later).
    let self: Connection | undefined;
    self = openConnection({
      url,
      channels,
      createSocket: options.createSocket,
      clock,
      subscribeTimeoutMs: options.subscribeTimeoutMs,
      heartbeatMs: options.heartbeatMs,
      staleMs: options.staleMs,
      handlers: {
        onData,
        onBinary: handlers.onBinary,
        onControl: (event, channel, frame) => connectionOnControl(self as Connection, event, channel, frame),
        onSubscribed: (channel, ackMicros) => {
          ledger.covered(channel, ackMicros);
          if (!stopped) handlers.onSubscribed?.(channel, ackMicros);
        },
        onEnded: (end) => connectionOnEnded(self as Connection, end.reason, end.detail),
      },
    });
    return self;
  }

  function report(gap: FeedGap): void {
    stats.gaps++;
    emit({ type: "gap", gap });
    handlers.onGap(gap);
  }

  /** Channels `gone` carried that the other live connection does not carry are uncovered from its last frame. */
  function uncover(gone: Connection, reason: EndReason): void {
    ledger.uncover(gone, gone === primary ? successor : primary, reason);
  }

  function connectionOnControl(connection: Connection, event: string, channel: string, frame: string): void {
    if (event === "bts:request_reconnect" && connection === primary && successor === undefined && !stopped) {
      log.info(`the exchange asked connection #${connection.id} to reconnect (bts:request_reconnect): subscribing a new connection before closing it`);
      startSwitch(connection);
    }
    handlers.onControl?.(event, channel, frame);
  }

  function connectionOnEnded(connection: Connection, reason: EndReason, detail: string): void {
    const nowMicros = clock();
    stats.lost[reason]++;
    emit({ type: "lost", connectionId: connection.id, reason, detail, atMicros: nowMicros });
    if (stopped) return;
    uncover(connection, reason);
    if (connection === successor) {
      // The new side of an overlap died before the switch: keep the old connection.
      successor = undefined;
      abandonSwitch();
      warnings.lost(`connection #${connection.id} (replacement) lost before the switch (${reason}: ${detail}); keeping connection #${primary?.id ?? "?"}`);
      if (primary === undefined) scheduleReconnect(`${reason}: ${detail}`);
      return;
    }
    if (connection !== primary) return;
    primary = undefined;
    if (reconnects.connectionLost(nowMicros - primaryReadyMicros)) warnings.reset();
    if (overlap !== undefined) {
      // Closed during an overlap: the replacement is already subscribing; its held frames come next.
      finishSwitch();
      log.info(`connection #${connection.id} ended during the switch (${reason}: ${detail}); connection #${successor?.id ?? "?"} takes over`);
      return;
    }
    warnings.lost(`connection #${connection.id} to ${url} lost (${reason}: ${detail})`);
    scheduleReconnect(`${reason}: ${detail}`);
  }

  function scheduleReconnect(reason: string): void {
    if (stopped || successor !== undefined || reconnects.waiting) return;
    const { attempt, delayMs } = reconnects.nextAttempt();
    emit({ type: "reconnect-scheduled", attempt, delayMs, reason });
    warnings.attempt(`reconnecting to ${url}: attempt ${attempt} in ${delayMs} ms (${reason})`);
    reconnects.wait(delayMs, () => {
      if (stopped) return;
      const connection = open(handlers.onData);
      successor = connection;
      connection.ready
        .then(
          () => promote(connection, attempt),
          (error: ObcapError) => attemptFailed(connection, error, attempt),
        )
        .catch(internalFailure);
    });
  }

  function startSwitch(old: Connection): void {
    const sw = new ConnectionSwitch(old, handlers.onData);
    overlap = sw;
    const connection = open(sw.fromNew);
    successor = connection;
    emit({ type: "overlap-started", oldConnectionId: old.id, newConnectionId: connection.id });
    connection.ready
      .then(
        () => promote(connection, 0),
        (error: ObcapError) => attemptFailed(connection, error, 0),
      )
      .catch(internalFailure);
  }

  function finishSwitch(): void {
    if (overlap === undefined) return;
    const dropped = overlap.finish(successor);
    stats.duplicatesDropped += dropped;
    overlap = undefined;
  }

  function abandonSwitch(): void {
    if (overlap === undefined) return;
    const dropped = overlap.abandon(primary);
    stats.duplicatesDropped += dropped;
    overlap = undefined;
  }

  async function promote(connection: Connection, attempt: number): Promise<void> {
    if (stopped || successor !== connection) return;
    const old = primary;
    if (old !== undefined && overlap !== undefined) {
      // Make-before-break: everything the old connection sent before this answer is in; later frames are on both.
      const drained = await old.drain(options.staleMs);
      if (stopped || successor !== connection) return;
      switchOver(old, connection, drained);
    }
    successor = undefined;
    primary = connection;
    primaryReadyMicros = clock();
    if (attempt > 0) {
      stats.reconnects++;
      emit({ type: "connected", connectionId: connection.id, attempt, subscribeMicros: connection.subscribeMicros() });
      log.info(`reconnected: connection #${connection.id} subscribed ${channels.length} channels in ${(connection.subscribeMicros() / 1000).toFixed(0)} ms (attempt ${attempt})`);
    }
  }

  /** The end of make-before-break, once `old` answered its last heartbeat or `drained` says it did not: `old` goes, the merge ends. */
  function switchOver(old: Connection, connection: Connection, drained: boolean): void {
    const dropped = overlap?.duplicatesDropped ?? 0;
    if (primary === old) {
      old.close();
      // Unanswered: frames the old connection sent between its last one received and the new
      // subscriptions may never arrive.
      if (!drained) ledger.undrained(old, connection);
    }
    finishSwitch();
    stats.overlaps++;
    emit({ type: "overlap-finished", oldConnectionId: old.id, newConnectionId: connection.id, drained, duplicatesDropped: dropped });
    log.info(
      `switched from connection #${old.id} to #${connection.id}${drained ? "" : ` (#${old.id} did not answer its last heartbeat within ${options.staleMs} ms)`}; ` +
        `${dropped} frames received on both were passed on once`,
    );
  }

  function attemptFailed(connection: Connection, error: ObcapError, attempt: number): void {
    if (successor === connection) successor = undefined;
    if (stopped) return;
    stats.failedAttempts++;
    emit({ type: "attempt-failed", connectionId: connection.id, attempt, error });
    // Channels it had acknowledged before failing were carried for a while: uncovered again from its last frame.
    uncover(connection, error.code === "E_SUBSCRIBE_TIMEOUT" ? "stale" : "dropped");
    if (error.code === "E_SUBSCRIBE_REJECTED") {
      handlers.onFatal(error);
      return;
    }
    if (overlap !== undefined) {
      abandonSwitch();
      warnings.attempt(`could not subscribe the replacement connection #${connection.id} (${error.message}); keeping connection #${primary?.id ?? "?"} until it ends`);
    }
    if (primary === undefined) scheduleReconnect(error.message);
  }

  /** A bug in the steps above must stop the capture loudly, not leave it unsupervised. */
  function internalFailure(err: unknown): void {
    handlers.onFatal(obcapError("E_INTERNAL", `the feed supervisor failed: ${describeError(err)}`, err));
  }

  // The first connection: no retries, its failure is the capture's.
  const first = open(handlers.onData);
  successor = first;
  const ready = first.ready.then(() => {
    if (successor === first) successor = undefined;
    primary = first;
    primaryReadyMicros = clock();
    firstSubscribeMicros = first.subscribeMicros();
  });
  ready.catch(() => {
    if (successor === first) successor = undefined;
    stopped = true;
  });

  return {
    ready,
    subscribeMicros: () => firstSubscribeMicros,
    firstSubscribedMicros: (channel) => first.subscribedAtMicros(channel),
    stats(): FeedStats {
      const now = clock();
      const age = (micros: number | undefined) => (micros === undefined || micros === 0 ? -1 : Math.round((now - micros) / 1000));
      return {
        ...stats,
        lost: { ...stats.lost },
        connected: primary !== undefined,
        lastFrameAgeMs: age(primary?.lastFrameMicros()),
        lastDataAgeMs: age(primary?.lastDataMicros()),
      };
    },
    close() {
      if (stopped && primary === undefined && successor === undefined) return;
      stopped = true;
      reconnects.cancel();
      // Frames held during an overlap were received: pass them on rather than drop them.
      if (overlap !== undefined) {
        const dropped = overlap.finish(undefined);
        stats.duplicatesDropped += dropped;
        overlap = undefined;
      }
      primary?.close();
      successor?.close();
      primary = undefined;
      successor = undefined;
      ledger.endAll(clock());
    },
  };
}
