/**
 * Keeps the capture subscribed for as long as it runs: one connection at a time (two while one
 * replaces the other), watched by heartbeats, replaced when it dies, and every interval in which a
 * channel had no subscribed connection reported as a gap.
 *
 * - Start-up: the first connection must subscribe, or `ready` rejects (E_EXCHANGE_UNREACHABLE,
 *   E_SUBSCRIBE_TIMEOUT, E_SUBSCRIBE_REJECTED) and nothing is retried: cron restarts the capture.
 * - Once running, a connection that goes stale (watchdog in connection.ts), drops or is closed by the
 *   exchange is replaced at once; consecutive failures then wait with exponential backoff and full
 *   jitter (`reconnectBaseMs` doubling up to `reconnectMaxMs`). A connection that stayed subscribed
 *   for `stableMs` resets the series; one that dies sooner continues it, so an exchange that accepts
 *   and then drops every connection is not hammered. Retries go on forever, except when the exchange
 *   answers a resubscription with bts:error (a configuration error): `onFatal` E_SUBSCRIBE_REJECTED.
 * - `bts:request_reconnect` (maintenance notice): make-before-break. A new connection subscribes
 *   every channel while the old one still delivers; once all are acknowledged, the old one is drained
 *   (a heartbeat answered proves everything it sent before has arrived) and closed. Frames delivered
 *   by both are passed on once (overlap-merge.ts). No gap.
 * - Gaps: when a connection ends, each channel it carried that no other connection carries is
 *   uncovered from its last frame (receive time, or its exchange time if earlier); the gap closes when a new subscription to that
 *   channel is acknowledged (or at `close()`), and `onGap` gets it: reason "stale", "dropped" or "closed".
 */
import type { MicrosClock } from "../../base/clock.ts";
import { describeError, obcapError, type ObcapError } from "../../base/errors.ts";
import { backoffDelayMs } from "../../base/backoff.ts";
import { openConnection, type Connection, type DataHandler, type EndReason, type SocketFactory } from "./connection.ts";
import { exchangeMicrosOf, type FeedGap } from "../../model/gap-record.ts";
import { LogThrottle } from "../../base/log-throttle.ts";
import { OverlapMerge } from "./overlap-merge.ts";

/** First retry after a failed reconnect waits at most this long; each further failure doubles it. */
export const DEFAULT_RECONNECT_BASE_MS = 250;
/** Lines of each kind (lost, reconnecting) logged in full per series of failures, then at most one per {@link RECONNECT_LOG_EVERY_MS}. */
const RECONNECT_LOG_FIRST = 5;
const RECONNECT_LOG_EVERY_MS = 30_000;

export interface FeedSupervisorHandlers {
  /** A market-data frame, once (overlap copies removed). Must not block: it runs on the receive path. */
  onData: DataHandler;
  onBinary(frame: Uint8Array, rxMicros: number): void;
  /** A control frame other than acks and heartbeat answers (request_reconnect included, already acted on). */
  onControl?(event: string, channel: string, frame: string): void;
  /** An interval of one channel with no subscribed connection. */
  onGap(gap: FeedGap): void;
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
  /** Ceiling of the second attempt's delay (the first is immediate). Default {@link DEFAULT_RECONNECT_BASE_MS}. */
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

interface Uncovered {
  startMicros: number;
  reason: EndReason;
}

const NO_LOG: FeedLog = { info() {}, warn() {}, debug() {} };

/** Starts the first connection and supervises it and its successors until `close()`. */
export function startFeedSupervisor(options: FeedSupervisorOptions): FeedSupervisor {
  const { url, channels, clock, handlers } = options;
  const log = options.log ?? NO_LOG;
  const emit = options.onEvent ?? (() => {});
  const stableMicros = (options.stableMs ?? options.staleMs) * 1000;
  const backoff = { baseMs: options.reconnectBaseMs ?? DEFAULT_RECONNECT_BASE_MS, maxMs: options.reconnectMaxMs, random: options.random };
  // One throttle per kind of line, so a storm keeps both the "lost" and the "reconnecting" lines in step.
  const lostLines = new LogThrottle(RECONNECT_LOG_FIRST, RECONNECT_LOG_EVERY_MS);
  const attemptLines = new LogThrottle(RECONNECT_LOG_FIRST, RECONNECT_LOG_EVERY_MS);

  let primary: Connection | undefined;
  let primaryReadyMicros = 0;
  /** A connection being subscribed: a replacement, or the new side of an overlap. */
  let successor: Connection | undefined;
  let merge: OverlapMerge | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let stopped = false;
  let firstSubscribeMicros = 0;
  const uncovered = new Map<string, Uncovered>();
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
        onSubscribed: channelOnSubscribed,
        onEnded: (end) => connectionOnEnded(self as Connection, end.reason, end.detail),
      },
    });
    return self;
  }

  function channelOnSubscribed(channel: string, ackMicros: number): void {
    const gap = uncovered.get(channel);
    if (gap === undefined) return;
    uncovered.delete(channel);
    report({ channel, startMicros: gap.startMicros, endMicros: ackMicros, reason: gap.reason });
  }

  function report(gap: FeedGap): void {
    stats.gaps++;
    emit({ type: "gap", gap });
    handlers.onGap(gap);
  }

  /**
   * Channels `gone` carried that no other live connection carries become uncovered from its last
   * frame: the earlier of that frame's receive time and the exchange time of its last market event
   * (frames the exchange wrote but we never read may be older than our receive clock says).
   */
  function uncover(gone: Connection, reason: EndReason): void {
    const startMicros = gapStartOf(gone);
    for (const channel of channels) {
      if (gone.subscribedAtMicros(channel) === undefined || uncovered.has(channel)) continue;
      const other = gone === primary ? successor : primary;
      if (other !== undefined && other.subscribedAtMicros(channel) !== undefined) continue;
      uncovered.set(channel, { startMicros, reason });
    }
  }

  function connectionOnControl(connection: Connection, event: string, channel: string, frame: string): void {
    if (event === "bts:request_reconnect" && connection === primary && successor === undefined && !stopped) {
      log.info(`the exchange asked connection #${connection.id} to reconnect (bts:request_reconnect): subscribing a new connection before closing it`);
      startOverlap(connection);
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
      abandonOverlap();
      warn(lostLines, `connection #${connection.id} (replacement) lost before the switch (${reason}: ${detail}); keeping connection #${primary?.id ?? "?"}`);
      if (primary === undefined) scheduleReconnect(`${reason}: ${detail}`);
      return;
    }
    if (connection !== primary) return;
    primary = undefined;
    if (nowMicros - primaryReadyMicros >= stableMicros) {
      failures = 0;
      lostLines.reset();
      attemptLines.reset();
    }
    if (merge !== undefined) {
      // Closed during an overlap: the replacement is already subscribing; its held frames come next.
      finishOverlap();
      log.info(`connection #${connection.id} ended during the switch (${reason}: ${detail}); connection #${successor?.id ?? "?"} takes over`);
      return;
    }
    warn(lostLines, `connection #${connection.id} to ${url} lost (${reason}: ${detail})`);
    scheduleReconnect(`${reason}: ${detail}`);
  }

  function scheduleReconnect(reason: string): void {
    if (stopped || successor !== undefined || retryTimer !== undefined) return;
    const attempt = failures + 1;
    const delayMs = failures === 0 ? 0 : backoffDelayMs(failures - 1, backoff);
    failures++;
    emit({ type: "reconnect-scheduled", attempt, delayMs, reason });
    warn(attemptLines, `reconnecting to ${url}: attempt ${attempt} in ${delayMs} ms (${reason})`);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (stopped) return;
      const connection = open(handlers.onData);
      successor = connection;
      connection.ready
        .then(
          () => promote(connection, attempt),
          (error: ObcapError) => attemptFailed(connection, error, attempt),
        )
        .catch(internalFailure);
    }, delayMs);
  }

  function startOverlap(old: Connection): void {
    const overlap = new OverlapMerge(handlers.onData);
    merge = overlap;
    old.setDataHandler(overlap.fromOld);
    const connection = open(overlap.fromNew);
    successor = connection;
    emit({ type: "overlap-started", oldConnectionId: old.id, newConnectionId: connection.id });
    connection.ready
      .then(
        () => promote(connection, 0),
        (error: ObcapError) => attemptFailed(connection, error, 0),
      )
      .catch(internalFailure);
  }

  function finishOverlap(): void {
    if (merge === undefined) return;
    merge.finish();
    stats.duplicatesDropped += merge.duplicatesDropped;
    merge = undefined;
    successor?.setDataHandler(handlers.onData);
  }

  function abandonOverlap(): void {
    if (merge === undefined) return;
    merge.abandon();
    stats.duplicatesDropped += merge.duplicatesDropped;
    merge = undefined;
    primary?.setDataHandler(handlers.onData);
  }

  async function promote(connection: Connection, attempt: number): Promise<void> {
    if (stopped || successor !== connection) return;
    const old = primary;
    if (old !== undefined && merge !== undefined) {
      // Make-before-break: everything the old connection sent before this answer is in; later frames are on both.
      const drained = await old.drain(options.staleMs);
      if (stopped || successor !== connection) return;
      const dropped = merge?.duplicatesDropped ?? 0;
      if (primary === old) {
        old.close();
        // Unanswered: frames the old connection sent between its last one received and the new
        // subscriptions may never arrive.
        if (!drained) reportUndrained(old, connection);
      }
      finishOverlap();
      stats.overlaps++;
      emit({ type: "overlap-finished", oldConnectionId: old.id, newConnectionId: connection.id, drained, duplicatesDropped: dropped });
      log.info(
        `switched from connection #${old.id} to #${connection.id}${drained ? "" : ` (#${old.id} did not answer its last heartbeat within ${options.staleMs} ms)`}; ` +
          `${dropped} frames received on both were passed on once`,
      );
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

  function gapStartOf(gone: Connection): number {
    const received = gone.lastFrameMicros() || clock();
    return Math.min(received, exchangeMicrosOf(gone.lastDataFrame()) ?? received);
  }

  function reportUndrained(old: Connection, replacement: Connection): void {
    const startMicros = gapStartOf(old);
    for (const channel of channels) {
      const endMicros = replacement.subscribedAtMicros(channel);
      if (endMicros !== undefined && endMicros > startMicros) report({ channel, startMicros, endMicros, reason: "stale" });
    }
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
    if (merge !== undefined) {
      abandonOverlap();
      warn(attemptLines, `could not subscribe the replacement connection #${connection.id} (${error.message}); keeping connection #${primary?.id ?? "?"} until it ends`);
    }
    if (primary === undefined) scheduleReconnect(error.message);
  }

  /** A bug in the steps above must stop the capture loudly, not leave it unsupervised. */
  function internalFailure(err: unknown): void {
    handlers.onFatal(obcapError("E_INTERNAL", `the feed supervisor failed: ${describeError(err)}`, err));
  }

  function warn(throttle: LogThrottle, message: string): void {
    const allowed = throttle.allow(Date.now());
    if (allowed === false) return;
    log.warn(allowed > 0 ? `${message} (${allowed} similar lines not logged)` : message);
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
      clearTimeout(retryTimer);
      retryTimer = undefined;
      // Frames held during an overlap were received: pass them on rather than drop them.
      if (merge !== undefined) {
        merge.finish();
        stats.duplicatesDropped += merge.duplicatesDropped;
        merge = undefined;
      }
      primary?.close();
      successor?.close();
      primary = undefined;
      successor = undefined;
      const nowMicros = clock();
      for (const [channel, gap] of uncovered) report({ channel, startMicros: gap.startMicros, endMicros: nowMicros, reason: gap.reason });
      uncovered.clear();
    },
  };
}
