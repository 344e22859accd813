/**
 * When to try the next replacement of a lost connection. The first attempt of a series of failures is
 * immediate; each further one waits with exponential backoff and full jitter (`baseMs` doubling up to
 * `maxMs`, src/base/backoff.ts). A connection that stayed subscribed for `stableMicros` ends the
 * series; one that dies sooner continues it, so an exchange that accepts and then drops every
 * connection is not hammered.
 */
import { backoffDelayMs, type BackoffOptions } from "../../base/backoff.ts";

/** First retry after a failed reconnect waits at most this long; each further failure doubles it. */
const DEFAULT_RECONNECT_BASE_MS = 250;

export interface ReconnectPolicyOptions {
  /** Cap of the backoff between failed reconnects. */
  maxMs: number;
  /** Ceiling of the second attempt's delay (the first is immediate). Default {@link DEFAULT_RECONNECT_BASE_MS}. */
  baseMs?: number;
  /** Subscribed this long, a connection counts as a success that resets the backoff. */
  stableMicros: number;
  /** Uniform in [0, 1) for the jitter; tests inject their own. */
  random?: () => number;
}

export class ReconnectPolicy {
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly backoff: BackoffOptions;
  private readonly stableMicros: number;

  constructor(options: ReconnectPolicyOptions) {
    this.backoff = { baseMs: options.baseMs ?? DEFAULT_RECONNECT_BASE_MS, maxMs: options.maxMs, random: options.random };
    this.stableMicros = options.stableMicros;
  }

  /** A subscribed connection was lost `livedMicros` after it subscribed. True if it lasted long enough to end the series. */
  connectionLost(livedMicros: number): boolean {
    if (livedMicros < this.stableMicros) return false;
    this.failures = 0;
    return true;
  }

  /** The number (from 1) and delay of the next attempt of the series, which counts it. */
  nextAttempt(): { attempt: number; delayMs: number } {
    const attempt = this.failures + 1;
    const delayMs = this.failures === 0 ? 0 : backoffDelayMs(this.failures - 1, this.backoff);
    this.failures++;
    return { attempt, delayMs };
  }

  /** An attempt is waiting for its delay to pass. */
  get waiting(): boolean {
    return this.timer !== undefined;
  }

  /** Runs `attempt` after `delayMs`. */
  wait(delayMs: number, attempt: () => void): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      attempt();
    }, delayMs);
  }

  /** Drops the waiting attempt, if any. */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
