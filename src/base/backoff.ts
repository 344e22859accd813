/**
 * Exponential backoff with "full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter",
 * 2015): sleep = random(0, min(cap, base * 2^attempt)). Of the schemes compared there, full jitter
 * spreads competing clients best and finishes the work with the fewest calls, which matters when up
 * to `maxInFlight` batches back off from the same throttled partition at once.
 */

export interface BackoffOptions {
  /** Upper bound of the first delay (attempt 0). */
  baseMs: number;
  /** No delay exceeds this, however many attempts. */
  maxMs: number;
  /** Uniform in [0, 1). Default `Math.random`; tests inject their own. */
  random?: () => number;
}

/** Defaults for DynamoDB writes: first retry within 50 ms, never more than 20 s between tries. */
export const DEFAULT_BACKOFF_BASE_MS = 50;
export const DEFAULT_BACKOFF_MAX_MS = 20_000;

/**
 * The ceiling of the delay before retry number `attempt + 1` (`attempt` counts from 0):
 * `min(maxMs, baseMs * 2^attempt)`. Large attempts saturate at `maxMs` (2^attempt may be Infinity).
 */
export function backoffCeilingMs(attempt: number, options: BackoffOptions): number {
  const exponent = Math.max(0, Math.floor(attempt));
  return Math.min(options.maxMs, options.baseMs * 2 ** exponent);
}

/** A full-jitter delay in whole milliseconds, in [0, backoffCeilingMs(attempt)]. */
export function backoffDelayMs(attempt: number, options: BackoffOptions): number {
  const ceiling = backoffCeilingMs(attempt, options);
  const draw = (options.random ?? Math.random)();
  // Clamp: an injected random may return exactly 1, and a delay above the cap must never happen.
  const unit = Math.min(1, Math.max(0, draw));
  return Math.round(unit * ceiling);
}
