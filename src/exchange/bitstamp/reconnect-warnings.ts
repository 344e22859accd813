/**
 * The supervisor's warnings about a series of failures ("lost", "reconnecting"): an exchange that is
 * down would have them repeated without end, so each kind is logged in full for the first few lines of
 * a series, then at most once per 30 s with the count of lines left out (src/base/log-throttle.ts).
 */
import { LogThrottle } from "../../base/log-throttle.ts";

/** Lines of each kind (lost, reconnecting) logged in full per series of failures, then at most one per {@link RECONNECT_LOG_EVERY_MS}. */
const RECONNECT_LOG_FIRST = 5;
const RECONNECT_LOG_EVERY_MS = 30_000;

export class ReconnectWarnings {
  // One throttle per kind of line, so a storm keeps both the "lost" and the "reconnecting" lines in step.
  private readonly lostLines = new LogThrottle(RECONNECT_LOG_FIRST, RECONNECT_LOG_EVERY_MS);
  private readonly attemptLines = new LogThrottle(RECONNECT_LOG_FIRST, RECONNECT_LOG_EVERY_MS);

  constructor(private readonly log: { warn(message: string): void }) {}

  /** A connection was lost. */
  lost(message: string): void {
    this.warn(this.lostLines, message);
  }

  /** A reconnect attempt was scheduled, or failed. */
  attempt(message: string): void {
    this.warn(this.attemptLines, message);
  }

  /** A new series of failures begins: its first lines are logged in full again. */
  reset(): void {
    this.lostLines.reset();
    this.attemptLines.reset();
  }

  private warn(throttle: LogThrottle, message: string): void {
    const allowed = throttle.allow(Date.now());
    if (allowed === false) return;
    this.log.warn(allowed > 0 ? `${message} (${allowed} similar lines not logged)` : message);
  }
}
