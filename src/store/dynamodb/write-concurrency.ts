/**
 * How many BatchWriteItem requests may be in flight, adapted at run time: no fixed number is right for
 * both DynamoDB Local (sub-millisecond, saturated by a few requests) and AWS (several ms per request:
 * a backfill wants many more in flight), and a throttled table wants fewer.
 *
 * The writer reports every request; the limit moves once per window of at least `max(16, 2 x limit)`
 * requests and WINDOW_MS (shorter windows judged steps on noise: +250% then -40% for the same step):
 * - push-back from DynamoDB (a throttling error, UnprocessedItems, a 5xx or a network error) cuts it
 *   to 0.7x at once, at most once per window (the requests already out answer for the old limit);
 * - a window in which the writer had no more work than slots changes nothing (the input is the limit);
 * - otherwise it probes upwards, one at a time, and keeps a step only if items/s rose by 3% or more and
 *   latency held (a rise in latency with no gain in items/s means requests only queue): a step that
 *   did not pay is taken back, and the next probe waits HOLD_WINDOWS windows.
 * The thresholds (5% gain, 2x latency, 4 windows of hold) were chosen against DynamoDB Local and an
 * 8 ms proxy in front of it (BENCHMARKS.md): smaller gains are within a window's noise.
 * Bounded by [1, max]. A pinned setting (`--in-flight N`) never changes. Pure and synchronous: tests
 * drive it with made-up outcomes and times.
 */

export interface ConcurrencySettings {
  /** Requests in flight at the start (or always, when not adaptive). */
  initial: number;
  /** Upper bound when adaptive (`--in-flight-max`). */
  max: number;
  /** False: `initial` is pinned (`--in-flight N`). */
  adaptive: boolean;
  /** Shortest window, ms. Default WINDOW_MS; tests use 0 to count requests only. */
  minWindowMs?: number;
}

/** One request's outcome, as the BatchWriter saw it. */
export interface RequestOutcome {
  /** Items DynamoDB acknowledged in it. */
  items: number;
  /** From send to answer. */
  latencyMs: number;
  /** DynamoDB pushed back: throttled, UnprocessedItems, 5xx or a network error. */
  pushback: boolean;
  /** More batches were waiting for a slot when it came back (the limit, not the input, bounds throughput). */
  saturated: boolean;
}

/** A change of the limit, for the log and the metric. */
export interface ConcurrencyChange {
  from: number;
  to: number;
  reason: string;
}

const MIN_WINDOW_REQUESTS = 16;
/** Shortest window: long enough that one window's items/s is not noise. */
export const WINDOW_MS = 500;
const DECREASE_FACTOR = 0.7;
/** A step up is kept when items/s rose by at least this much. */
const GAIN = 1.05;
/** Latency "held" when the window's mean is at most this times the one before the step. */
const LATENCY_HOLDS = 2;
/** Windows to wait before probing again after a step that did not pay. */
const HOLD_WINDOWS = 4;

interface Window {
  requests: number;
  saturated: number;
  items: number;
  latencyMs: number;
  pushback: boolean;
  startMs: number;
}

export class WriteConcurrency {
  private current: number;
  private window: Window;
  /** The window before the last step up, to judge it by; undefined when no step is being judged. */
  private beforeStep: { itemsPerMs: number; latencyMs: number } | undefined;
  private holdWindows = 0;
  changes = 0;

  constructor(
    private readonly settings: ConcurrencySettings,
    private readonly onChange?: (change: ConcurrencyChange) => void,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    const { initial, max } = settings;
    if (!Number.isInteger(initial) || initial < 1) throw new RangeError(`in-flight must be a positive integer, got ${initial}`);
    if (!Number.isInteger(max) || max < initial) throw new RangeError(`in-flight max must be an integer >= ${initial}, got ${max}`);
    this.current = initial;
    this.window = this.newWindow();
  }

  /** Requests allowed in flight now. */
  get limit(): number {
    return this.current;
  }

  get adaptive(): boolean {
    return this.settings.adaptive;
  }

  /** Takes one request's outcome; may change the limit. */
  observe(outcome: RequestOutcome): void {
    if (!this.settings.adaptive) return;
    if (outcome.pushback && !this.window.pushback) {
      this.beforeStep = undefined;
      this.set(Math.max(1, Math.floor(this.current * DECREASE_FACTOR)), "DynamoDB pushed back (throttling, UnprocessedItems or an error)");
      // The requests already out answer for the old limit: this window counts the push-back once.
      this.window.pushback = true;
    }
    const w = this.window;
    w.requests++;
    w.items += outcome.items;
    w.latencyMs += outcome.latencyMs;
    if (outcome.saturated) w.saturated++;
    if (w.requests >= Math.max(MIN_WINDOW_REQUESTS, 2 * this.current) && this.nowMs() - w.startMs >= (this.settings.minWindowMs ?? WINDOW_MS)) this.closeWindow();
  }

  private closeWindow(): void {
    const w = this.window;
    const elapsedMs = Math.max(1e-3, this.nowMs() - w.startMs);
    const itemsPerMs = w.items / elapsedMs;
    const latencyMs = w.latencyMs / w.requests;
    this.window = this.newWindow();
    if (w.pushback) return;
    if (w.saturated * 2 < w.requests) {
      // The input, not the limit, set the pace: nothing to learn about the limit.
      this.beforeStep = undefined;
      return;
    }
    const before = this.beforeStep;
    this.beforeStep = undefined;
    if (before !== undefined) {
      if (itemsPerMs >= GAIN * before.itemsPerMs && latencyMs <= LATENCY_HOLDS * before.latencyMs) {
        this.stepUp(itemsPerMs, latencyMs, `items/s rose ${pct(itemsPerMs, before.itemsPerMs)} with latency ${latencyMs.toFixed(1)} ms`);
      } else {
        this.holdWindows = HOLD_WINDOWS;
        this.set(Math.max(1, this.current - 1), `the last step gained ${pct(itemsPerMs, before.itemsPerMs)} items/s, latency ${latencyMs.toFixed(1)} ms (was ${before.latencyMs.toFixed(1)} ms)`);
      }
      return;
    }
    if (this.holdWindows > 0) {
      this.holdWindows--;
      return;
    }
    this.stepUp(itemsPerMs, latencyMs, "more batches wait than slots: probing one more");
  }

  private stepUp(itemsPerMs: number, latencyMs: number, reason: string): void {
    if (this.current >= this.settings.max) return;
    this.beforeStep = { itemsPerMs, latencyMs };
    this.set(this.current + 1, reason);
  }

  private set(to: number, reason: string): void {
    if (to === this.current) return;
    const from = this.current;
    this.current = to;
    this.changes++;
    this.window = this.newWindow();
    this.onChange?.({ from, to, reason });
  }

  private newWindow(): Window {
    return { requests: 0, saturated: 0, items: 0, latencyMs: 0, pushback: false, startMs: this.nowMs() };
  }
}

function pct(now: number, before: number): string {
  const change = before > 0 ? (now / before - 1) * 100 : 0;
  return `${change >= 0 ? "+" : ""}${change.toFixed(0)}%`;
}
