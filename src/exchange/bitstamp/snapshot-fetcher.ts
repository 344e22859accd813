/**
 * Fetches Bitstamp's order-level book, `GET <rest>/api/v2/order_book/<pair>/?group=2&_=<ms>`
 * (bitstamp-protocol.md §3), after every subscription of a pair's `live_orders` channel and then every
 * `everyMs`, and hands each body over exactly as it came (model/order-book-snapshot.ts makes the
 * record; the pipeline Worker journals and checks it). Web standards only (fetch, AbortController,
 * timers), so it runs on the capture thread without ever holding it: nothing here waits on the
 * receive path, and the body is never parsed here (a btcusd book is MiBs).
 *
 * - `_=<ms>`: Bitstamp's edge cache answers a repeated URL with the same body for about a second
 *   (bitstamp-protocol.md §3); a fresh book after a reconnect needs a URL of its own.
 * - Retries: network errors, timeouts (`attemptTimeoutMs`, the whole request and body), 408, 429 and
 *   5xx are retried with full-jitter backoff (base/backoff.ts; 429's Retry-After is honoured up to
 *   the cap), at most `maxAttempts` attempts; then the snapshot is given up (counted, a warning) and
 *   the next one comes with the next period or subscription. A 404 (nginx's page for a pair the
 *   exchange does not have) and other 4xx are not retried: a warning says what to check.
 * - One fetch per pair at a time. A new subscription of the pair supersedes the fetch under way (it
 *   is aborted, its body dropped: it describes the book before the new connection), so a reconnect
 *   gives one snapshot, not two. A periodic fetch while one is under way is skipped.
 * - At most `maxConcurrent` fetches at once over all pairs (`--pair all` subscribes ~150 pairs at
 *   once); the others wait their turn, in order.
 */
import { backoffDelayMs } from "../../base/backoff.ts";
import type { MicrosClock } from "../../base/clock.ts";
import { describeError } from "../../base/errors.ts";
import { MAX_SNAPSHOT_BODY_BYTES, type SnapshotFetch } from "../../model/order-book-snapshot.ts";

/** What the fetcher needs of `fetch` (the web standard's shape). */
export type FetchFunction = (url: string, init: { signal: AbortSignal; headers: Record<string, string> }) => Promise<Response>;

/** Timers, injectable for tests. */
export interface FetcherTimers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What the fetcher logs through (consola's logger fits). */
export interface FetcherLog {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

/** Why a snapshot was taken. */
export type SnapshotTrigger = "subscribed" | "periodic";

/** One body fetched: the record's input, plus how it went. */
export interface FetchedSnapshot extends SnapshotFetch {
  trigger: SnapshotTrigger;
  /** Attempts it took (1 = no retry). */
  attempts: number;
  /** From the first request to the end of the body, ms. */
  elapsedMs: number;
}

export interface SnapshotFetcherOptions {
  /** `--rest-url`, e.g. `https://www.bitstamp.net`. */
  restUrl: string;
  /** `--snapshot-every`: time between two snapshots of a pair; 0 = only after each subscription. */
  everyMs: number;
  clock: MicrosClock;
  /** Every body fetched, once per fetch (never for a superseded or failed one). Must not block. */
  onSnapshot(snapshot: FetchedSnapshot): void;
  log?: FetcherLog;
  /** Default globalThis.fetch. */
  fetch?: FetchFunction;
  /** Wall clock in ms for the cache-buster. Default Date.now. */
  nowMs?: () => number;
  timers?: FetcherTimers;
  /** Uniform in [0, 1) for the jitter. */
  random?: () => number;
  /** Bound on one attempt: request, headers and the whole body. Default 30 s. */
  attemptTimeoutMs?: number;
  /** Attempts per snapshot (the first included). Default 6. */
  maxAttempts?: number;
  /** Backoff ceiling of the first retry; doubles per retry. Default 500 ms. */
  backoffBaseMs?: number;
  /** No wait between attempts is longer. Default 30 s. */
  backoffMaxMs?: number;
  /** Fetches at once over all pairs. Default 4. */
  maxConcurrent?: number;
  /** Largest body read. Default MAX_SNAPSHOT_BODY_BYTES (64 MiB). */
  maxBodyBytes?: number;
}

export interface SnapshotFetcherStats {
  /** Bodies handed over. */
  fetched: number;
  /** Snapshots given up (attempts used up, a 4xx, a body too large). */
  failed: number;
  /** Attempts that were retried. */
  retries: number;
  /** Fetches dropped because a newer subscription of the pair came. */
  superseded: number;
  /** Periodic fetches skipped because one of the pair was under way. */
  skipped: number;
  /** Receive time (µs) of each pair's latest body. */
  lastFetchedMicros: Record<string, number>;
}

const DEFAULTS = { attemptTimeoutMs: 30_000, maxAttempts: 6, backoffBaseMs: 500, backoffMaxMs: 30_000, maxConcurrent: 4 };

const REAL_TIMERS: FetcherTimers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

const NO_LOG: FetcherLog = { info() {}, warn() {}, debug() {} };

/** One snapshot being taken: waiting for a slot, in an attempt, or waiting to retry. */
interface Job {
  pair: string;
  trigger: SnapshotTrigger;
  /** Aborts the attempt under way and ends the job (superseded, closed). */
  controller: AbortController;
  /** Ends a backoff wait early (superseded, closed). */
  cancelWait?: () => void;
}

/** Per pair: the job under way and the periodic timer. */
interface PairState {
  job: Job | undefined;
  periodic: unknown;
}

/** Outcome of one attempt. */
type Attempt =
  | { kind: "ok"; body: Uint8Array; receivedMicros: number }
  | { kind: "retry"; reason: string; retryAfterMs?: number }
  | { kind: "fail"; reason: string };

class Superseded extends Error {}

/** Takes the snapshots; see the file comment. Start it, tell it about subscriptions, close it at the end. */
export class SnapshotFetcher {
  private readonly options: SnapshotFetcherOptions & typeof DEFAULTS;
  private readonly log: FetcherLog;
  private readonly fetch: FetchFunction;
  private readonly timers: FetcherTimers;
  private readonly nowMs: () => number;
  private readonly pairs = new Map<string, PairState>();
  /** Jobs waiting for a slot, in order. */
  private readonly queue: Array<() => void> = [];
  private running = 0;
  private closed = false;
  private readonly counts: SnapshotFetcherStats = { fetched: 0, failed: 0, retries: 0, superseded: 0, skipped: 0, lastFetchedMicros: {} };
  private readonly base: string;

  constructor(options: SnapshotFetcherOptions) {
    this.options = { ...DEFAULTS, ...options };
    if (!(this.options.everyMs >= 0)) throw new RangeError(`everyMs ${options.everyMs} must be >= 0`);
    if (!(this.options.maxAttempts >= 1)) throw new RangeError(`maxAttempts ${options.maxAttempts} must be >= 1`);
    this.log = options.log ?? NO_LOG;
    this.fetch = options.fetch ?? ((url, init) => fetch(url, init));
    this.timers = options.timers ?? REAL_TIMERS;
    this.nowMs = options.nowMs ?? Date.now;
    this.base = options.restUrl.replace(/\/+$/, "");
  }

  /**
   * `live_orders_<pair>` was just subscribed on a connection (a first connect, a reconnect, the new
   * side of a `bts:request_reconnect` switch): a snapshot now, superseding the one under way, and the
   * period starts again from here.
   */
  subscribed(pair: string): void {
    if (this.closed) return;
    const state = this.stateOf(pair);
    if (state.job !== undefined) {
      this.counts.superseded++;
      this.log.debug(`snapshot of ${pair}: the ${state.job.trigger} fetch under way is dropped, a new subscription supersedes it`);
      this.end(state.job);
    }
    this.start(pair, "subscribed");
    this.armPeriodic(pair);
  }

  /** Stops everything: timers cleared, fetches aborted, nothing more is handed over. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const state of this.pairs.values()) {
      if (state.periodic !== undefined) this.timers.clearTimeout(state.periodic);
      state.periodic = undefined;
      if (state.job) this.end(state.job);
    }
    this.queue.length = 0;
  }

  stats(): SnapshotFetcherStats {
    return { ...this.counts, lastFetchedMicros: { ...this.counts.lastFetchedMicros } };
  }

  /** The URL of one attempt: group=2 and a cache-buster. */
  urlOf(pair: string): string {
    return `${this.base}/api/v2/order_book/${pair}/?group=2&_=${Math.trunc(this.nowMs())}`;
  }

  private stateOf(pair: string): PairState {
    let state = this.pairs.get(pair);
    if (state === undefined) {
      state = { job: undefined, periodic: undefined };
      this.pairs.set(pair, state);
    }
    return state;
  }

  private armPeriodic(pair: string): void {
    const state = this.stateOf(pair);
    if (state.periodic !== undefined) this.timers.clearTimeout(state.periodic);
    state.periodic = undefined;
    if (this.options.everyMs === 0 || this.closed) return;
    state.periodic = this.timers.setTimeout(() => {
      state.periodic = undefined;
      if (this.closed) return;
      if (state.job !== undefined) {
        this.counts.skipped++;
        this.log.debug(`snapshot of ${pair}: periodic fetch skipped, the ${state.job.trigger} one is still under way`);
      } else {
        this.start(pair, "periodic");
      }
      this.armPeriodic(pair);
    }, this.options.everyMs);
  }

  private start(pair: string, trigger: SnapshotTrigger): void {
    const job: Job = { pair, trigger, controller: new AbortController() };
    this.stateOf(pair).job = job;
    void this.run(job).catch((err: unknown) => {
      // A bug here must not take the capture down: the snapshot is lost, the log says why.
      this.log.warn(`snapshot of ${pair} failed: ${describeError(err)}`);
    });
  }

  /** Ends a job early: aborts its attempt, cuts its wait; its result is dropped. */
  private end(job: Job): void {
    job.controller.abort(new Superseded("superseded"));
    job.cancelWait?.();
    const state = this.pairs.get(job.pair);
    if (state?.job === job) state.job = undefined;
  }

  private isCurrent(job: Job): boolean {
    return !this.closed && !job.controller.signal.aborted && this.pairs.get(job.pair)?.job === job;
  }

  private async run(job: Job): Promise<void> {
    await this.slot(job);
    if (!this.isCurrent(job)) return this.release();
    const startedMs = this.nowMs();
    try {
      for (let attempt = 1; ; attempt++) {
        const requestedMicros = this.options.clock();
        const url = this.urlOf(job.pair);
        const result = await this.attempt(job, url);
        if (!this.isCurrent(job)) return;
        if (result.kind === "ok") {
          this.stateOf(job.pair).job = undefined;
          this.counts.fetched++;
          this.counts.lastFetchedMicros[job.pair] = result.receivedMicros;
          this.options.onSnapshot({
            pair: job.pair, requestedMicros, receivedMicros: result.receivedMicros, body: result.body,
            trigger: job.trigger, attempts: attempt, elapsedMs: Math.max(0, this.nowMs() - startedMs),
          });
          return;
        }
        if (result.kind === "fail" || attempt >= this.options.maxAttempts) {
          this.stateOf(job.pair).job = undefined;
          this.counts.failed++;
          const next = this.options.everyMs > 0 ? `the next one in ${describeMs(this.options.everyMs)} (--snapshot-every)` : "the next one after the next subscription";
          this.log.warn(
            result.kind === "fail"
              ? `order book snapshot of ${job.pair} failed: ${result.reason}; ${next}`
              : `order book snapshot of ${job.pair} given up after ${attempt} attempts (last: ${result.reason}); ${next}`,
          );
          return;
        }
        const backoff = backoffDelayMs(attempt - 1, { baseMs: this.options.backoffBaseMs, maxMs: this.options.backoffMaxMs, random: this.options.random });
        const delayMs = Math.min(this.options.backoffMaxMs, Math.max(backoff, result.retryAfterMs ?? 0));
        this.counts.retries++;
        this.log.info(`order book snapshot of ${job.pair}: attempt ${attempt} failed (${result.reason}); retry ${attempt + 1} of ${this.options.maxAttempts} in ${delayMs} ms`);
        await this.wait(job, delayMs);
        if (!this.isCurrent(job)) return;
      }
    } finally {
      this.release();
    }
  }

  /** One GET, bounded by `attemptTimeoutMs`; never throws. */
  private async attempt(job: Job, url: string): Promise<Attempt> {
    const timeout = new AbortController();
    const timer = this.timers.setTimeout(() => timeout.abort(new Error(`no complete answer within ${this.options.attemptTimeoutMs} ms`)), this.options.attemptTimeoutMs);
    const signal = anySignal(job.controller.signal, timeout.signal);
    try {
      const response = await this.fetch(url, { signal, headers: { accept: "application/json" } });
      if (response.status === 404) {
        await response.body?.cancel().catch(() => {});
        return { kind: "fail", reason: `GET ${url} answered HTTP 404: the exchange has no order book for ${job.pair} there (check --rest-url and the pair)` };
      }
      if (response.status === 429 || response.status === 408 || response.status >= 500) {
        await response.body?.cancel().catch(() => {});
        const retryAfterMs = retryAfterOf(response.headers.get("retry-after"));
        return { kind: "retry", reason: `HTTP ${response.status}${response.status === 429 ? " (rate limited)" : ""}`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
      }
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => {});
        return { kind: "fail", reason: `GET ${url} answered HTTP ${response.status}` };
      }
      const body = await readBody(response, this.options.maxBodyBytes ?? MAX_SNAPSHOT_BODY_BYTES);
      if (body === undefined) return { kind: "fail", reason: `GET ${url}: the body is larger than ${this.options.maxBodyBytes ?? MAX_SNAPSHOT_BODY_BYTES} bytes; not kept` };
      return { kind: "ok", body, receivedMicros: this.options.clock() };
    } catch (err) {
      if (job.controller.signal.aborted) return { kind: "fail", reason: "superseded" };
      const reason = timeout.signal.aborted ? (timeout.signal.reason as Error).message : describeError(err);
      return { kind: "retry", reason };
    } finally {
      this.timers.clearTimeout(timer);
    }
  }

  /** Waits `delayMs`, or less if the job ends meanwhile. */
  private wait(job: Job, delayMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.timers.setTimeout(() => {
        job.cancelWait = undefined;
        resolve();
      }, delayMs);
      job.cancelWait = () => {
        this.timers.clearTimeout(timer);
        job.cancelWait = undefined;
        resolve();
      };
    });
  }

  /** Waits for one of `maxConcurrent` slots (or for the job to end). */
  private slot(job: Job): Promise<void> {
    if (this.running < this.options.maxConcurrent) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const grant = () => {
        this.running++;
        resolve();
      };
      this.queue.push(grant);
      job.controller.signal.addEventListener("abort", () => {
        const at = this.queue.indexOf(grant);
        if (at >= 0) {
          this.queue.splice(at, 1);
          grant(); // take and give back at once: run() sees the job ended and releases
        }
      }, { once: true });
    });
  }

  private release(): void {
    this.running--;
    const next = this.queue.shift();
    next?.();
  }
}

/** A signal aborted when either is (AbortSignal.any where the runtime has it). */
function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  const any = (AbortSignal as { any?: (signals: AbortSignal[]) => AbortSignal }).any;
  if (any) return any([a, b]);
  const controller = new AbortController();
  const abort = (signal: AbortSignal) => () => controller.abort(signal.reason);
  if (a.aborted) controller.abort(a.reason);
  else if (b.aborted) controller.abort(b.reason);
  else {
    a.addEventListener("abort", abort(a), { once: true });
    b.addEventListener("abort", abort(b), { once: true });
  }
  return controller.signal;
}

/** The body's bytes, read to the end; undefined beyond `maxBytes` (the rest is not read). */
async function readBody(response: Response, maxBytes: number): Promise<Uint8Array | undefined> {
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    return undefined;
  }
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    parts.push(value);
  }
  if (parts.length === 1) return parts[0]!;
  const body = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    body.set(part, at);
    at += part.length;
  }
  return body;
}

/** Retry-After in ms (seconds, or an HTTP date); undefined when absent or unreadable. */
function retryAfterOf(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function describeMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
