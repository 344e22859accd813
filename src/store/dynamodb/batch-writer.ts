/**
 * Writes batches of up to 25 items with BatchWriteItem, several requests in flight, until DynamoDB has
 * acknowledged every item.
 *
 * Two kinds of "not written" need the writer's own retries:
 * - `UnprocessedItems`: DynamoDB answers HTTP 200 and lists the items it did not write (throttling,
 *   partition limits). No SDK retries them. They are re-sent after a backoff.
 * - Errors: throttling, 5xx and network failures are retried with backoff and no limit on attempts
 *   (capture must not give up on trouble that passes; the backoff cap bounds the request rate). The
 *   SDK client is built with `maxAttempts: 1` (client.ts) so these retries are the only ones.
 * Errors that retrying cannot fix (table missing, validation, credentials, access) stop the writer:
 * `flush()` rejects with that ObcapError and later `submit()` calls reject at once.
 *
 * One exception: a ValidationException can be about one item (a key or the item over a limit), and a
 * batch of 25 would then fail with it forever, taking the capture down on every restart. So a batch
 * that fails validation is retried one item per request; an item refused on its own is handed to
 * `onRefused` (the caller quarantines it) and counts as done. When every item of the batch is refused
 * and nothing has been written yet, the table itself is checked (obcap's keys and metadata item,
 * table.ts): a table that does not fit stops the writer with that error; one that does means the items
 * are at fault, and they are refused (so a bad item at the head of a journal cannot stop every restart).
 * The pipeline checks items against DynamoDB's documented limits first (item-limits.ts): this is the
 * backstop for whatever real DynamoDB refuses beyond them.
 *
 * Backpressure: a batch holds its in-flight slot until it is fully written, backoff sleeps included,
 * so under throttling `submit()` waits and the caller (and the ring behind it) slows down instead of
 * piling up batches in memory.
 */
import { BatchWriteItemCommand, type DynamoDBClient, type WriteRequest } from "@aws-sdk/client-dynamodb";
import { describeError, isObcapError, obcapError, type ObcapError } from "../../base/errors.ts";
import { openCaptureTable } from "./table.ts";
import { classifyAwsError } from "./aws-errors.ts";
import { DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS, backoffDelayMs } from "../../base/backoff.ts";
import { clientTarget, type ClientTarget } from "./client.ts";
import { COVERAGE_PK } from "./coverage.ts";
import type { Item } from "./item.ts";
import { describeItemKey, itemKey } from "./item-identity.ts";
import { itemSizeBytes } from "./item-limits.ts";
import type { WriteMeter } from "./write-meter.ts";
import { WriteConcurrency, type ConcurrencyChange, type ConcurrencySettings } from "./write-concurrency.ts";

/** Coverage items among `requests` (a loop over at most 25 keys: nothing beside the request it counts). */
function coverageRequests(requests: readonly WriteRequest[]): number {
  let n = 0;
  for (const request of requests) if (request.PutRequest?.Item?.pk?.S === COVERAGE_PK) n++;
  return n;
}

/** BatchWriteItem's limit on requests per call (DynamoDB API reference). */
const MAX_BATCH_ITEMS = 25;

export interface RetryInfo {
  /** Retry number of this batch since it last made progress (1 = first retry). */
  attempt: number;
  delayMs: number;
  /** `throttled (ProvisionedThroughputExceededException)`, `7 UnprocessedItems`, `network (...)`. */
  reason: string;
  /** Items about to be re-sent. */
  items: number;
}

export interface BatchWriterOptions {
  client: DynamoDBClient;
  table: string;
  /**
   * BatchWriteItem requests in flight at once, pinned. Default 8: on DynamoDB Local 4 to 16 in flight
   * saturate it (BUN-NOTES: 14-18k items/s with 4, 18-21k with 16), and each costs one socket.
   * Ignored when `concurrency` is given.
   */
  maxInFlight?: number;
  /** Requests in flight, adapted at run time within bounds (write-concurrency.ts), or pinned. */
  concurrency?: ConcurrencySettings;
  /** The adaptive limit changed (for the log at --verbose). */
  onConcurrency?: (change: ConcurrencyChange) => void;
  /** First backoff ceiling. Default 50 ms. */
  backoffBaseMs?: number;
  /** Backoff cap. Default 20,000 ms. */
  backoffMaxMs?: number;
  /** Uniform [0, 1) for the jitter. Default Math.random. */
  random?: () => number;
  /** Waits between retries. Default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Called before each retry, e.g. to log it (the caller throttles its log lines). */
  onRetry?: (info: RetryInfo) => void;
  /** An item DynamoDB refused on its own (ValidationException): it counts as done; keep it somewhere. */
  onRefused?: (item: Item, reason: string) => void;
  /** Write units billed (write-meter.ts): each item acknowledged, on its size (an overwrite of the same item is the same size). */
  meter?: WriteMeter;
}

export interface BatchWriterStats {
  /** BatchWriteItem calls sent, first tries and retries, successful or not. */
  requests: number;
  /** Items DynamoDB acknowledged (coverage items included). */
  written: number;
  /**
   * Of `written`, coverage items (coverage.ts): bookkeeping, not data. Summaries report
   * `written - coverageWritten` as "written" (events and gap records) and these on their own.
   */
  coverageWritten: number;
  /** Items sent again (sum over retry requests). */
  retriedItems: number;
  /** Requests that re-sent a batch or its unprocessed rest. */
  retryRequests: number;
  /** Items DynamoDB returned in UnprocessedItems (one item may count several times). */
  unprocessedItems: number;
  /** Requests answered with a throttling error. */
  throttled: number;
  /** Requests that failed with a 5xx or a network error. */
  transientErrors: number;
  /** Batches accepted and not yet finished (sending or waiting to retry). */
  inFlight: number;
  /** Items submitted and not acknowledged (after a fatal error: the items that were not written). */
  pendingItems: number;
  /** Items DynamoDB refused on their own (handed to onRefused, counted as done). */
  refusedItems: number;
  /** Requests allowed in flight now (adaptive, or the pinned number). */
  concurrency: number;
}

/**
 * What the uploader (pipeline/uploader.ts) needs of a writer: BatchWriter for the event layout, and
 * PackingWriter (store/packed/packing-writer.ts) in front of one for the packed layout.
 */
export interface ItemWriter {
  /** Takes one batch (1 to 25 items, distinct keys); `onWritten` once every item of it is stored. */
  submit(items: Item[], onWritten?: () => void): Promise<void>;
  /** Resolves when everything submitted is stored; rejects with the fatal ObcapError if one happened. */
  flush(): Promise<void>;
  fatal(): ObcapError | undefined;
  stats(): BatchWriterStats;
  /** Time-driven work (packed windows due by the wall clock); the uploader's linger timer calls it. */
  tick?(): Promise<void>;
  /** Items held that only time will write (open packed windows): the uploader's timer must keep running. */
  holdsOpenWork?(): boolean;
}

interface Job {
  items: Item[];
  onWritten: (() => void) | undefined;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class BatchWriter implements ItemWriter {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly meter: WriteMeter | undefined;
  private readonly concurrency: WriteConcurrency;
  private readonly backoff: { baseMs: number; maxMs: number; random: () => number };
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly onRetry: ((info: RetryInfo) => void) | undefined;
  private readonly onRefused: ((item: Item, reason: string) => void) | undefined;
  private readonly counts = {
    refusedItems: 0,
    requests: 0,
    written: 0,
    coverageWritten: 0,
    retriedItems: 0,
    retryRequests: 0,
    unprocessedItems: 0,
    throttled: 0,
    transientErrors: 0,
    submittedItems: 0,
  };
  private active = 0;
  /** submit() calls waiting for a slot, in order; a freed slot is handed to the first one. */
  private slotWaiters: Array<{ resolve: () => void; reject: (err: ObcapError) => void }> = [];
  private idleWaiters: Array<() => void> = [];
  private fatalError: ObcapError | undefined;
  private target: Promise<ClientTarget> | undefined;

  constructor(options: BatchWriterOptions) {
    const maxInFlight = options.maxInFlight ?? 8;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
      throw new RangeError(`maxInFlight must be a positive integer, got ${maxInFlight}`);
    }
    this.client = options.client;
    this.table = options.table;
    this.concurrency = new WriteConcurrency(options.concurrency ?? { initial: maxInFlight, max: maxInFlight, adaptive: false }, (change) => {
      this.grantSlots();
      options.onConcurrency?.(change);
    });
    this.backoff = {
      baseMs: options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS,
      maxMs: options.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS,
      random: options.random ?? Math.random,
    };
    this.sleep = options.sleep ?? defaultSleep;
    this.onRetry = options.onRetry;
    this.onRefused = options.onRefused;
    this.meter = options.meter;
  }

  /**
   * Queues one batch (1 to 25 items with distinct keys; an empty one is ignored). Resolves when the
   * batch is in flight: waits while `maxInFlight` batches are. `onWritten` runs once every item of the
   * batch is acknowledged. Rejects with the fatal ObcapError once there is one; throws E_INTERNAL for
   * a malformed batch (too many items, a key twice: the Batcher prevents both).
   */
  async submit(items: Item[], onWritten?: () => void): Promise<void> {
    if (this.fatalError) throw this.fatalError;
    if (items.length === 0) return;
    checkBatch(items);
    if (this.active < this.concurrency.limit && this.slotWaiters.length === 0) {
      this.active++;
    } else {
      // The slot is handed over by release() (active stays counted), so no later caller can take it.
      await new Promise<void>((resolve, reject) => this.slotWaiters.push({ resolve, reject }));
    }
    this.counts.submittedItems += items.length;
    void this.run({ items, onWritten });
  }

  /** Resolves when everything submitted is acknowledged; rejects with the fatal ObcapError if one happened. */
  async flush(): Promise<void> {
    if (this.active > 0 || this.slotWaiters.length > 0) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
    if (this.fatalError) throw this.fatalError;
  }

  /** Current counts (a copy). */
  stats(): BatchWriterStats {
    const c = this.counts;
    return {
      requests: c.requests,
      written: c.written,
      coverageWritten: c.coverageWritten,
      retriedItems: c.retriedItems,
      retryRequests: c.retryRequests,
      unprocessedItems: c.unprocessedItems,
      throttled: c.throttled,
      transientErrors: c.transientErrors,
      inFlight: this.active,
      pendingItems: c.submittedItems - c.written - c.refusedItems,
      refusedItems: c.refusedItems,
      concurrency: this.concurrency.limit,
    };
  }

  /** The error that stopped the writer, if any. */
  fatal(): ObcapError | undefined {
    return this.fatalError;
  }

  /** Sends one batch until every item is acknowledged, or until a fatal error (of any batch). */
  private async run(job: Job): Promise<void> {
    try {
      const outcome = await this.send(job.items.map((Item) => ({ PutRequest: { Item } })));
      if (outcome.kind === "validation") {
        if (!(await this.sendOneByOne(outcome.requests, outcome.error))) return;
      } else if (outcome.kind === "failed") {
        return;
      }
      job.onWritten?.();
    } catch (err) {
      // Only a bug gets here (a throwing onRetry/onWritten/sleep): stop rather than lose track.
      this.fail(obcapError("E_INTERNAL", `batch writer for table ${this.table} failed: ${describeError(err)}`, err));
    } finally {
      this.release();
    }
  }

  /**
   * A batch DynamoDB refused with a ValidationException, one item per request: false when the writer
   * had to stop (every item refused and nothing ever written, or another fatal error).
   */
  private async sendOneByOne(requests: WriteRequest[], error: ObcapError): Promise<boolean> {
    const refused: Array<{ item: Item; reason: string }> = [];
    for (const request of requests) {
      const outcome = await this.send([request]);
      if (outcome.kind === "failed") return false;
      if (outcome.kind === "validation") refused.push({ item: request.PutRequest!.Item!, reason: outcome.error.message });
    }
    if (refused.length === requests.length && this.counts.written === 0 && !(await this.tableFits(error))) return false;
    for (const { item, reason } of refused) {
      this.counts.refusedItems++;
      this.onRefused?.(item, reason);
    }
    return true;
  }

  /**
   * Sends `requests` until every one is acknowledged: "done", "validation" (DynamoDB refused the
   * request as invalid: the requests not yet written come back), or "failed" (a fatal error, recorded).
   */
  private async send(initial: WriteRequest[]): Promise<{ kind: "done" } | { kind: "failed" } | { kind: "validation"; requests: WriteRequest[]; error: ObcapError }> {
    let requests = initial;
    let attempt = 0;
    let first = true;
    while (requests.length > 0) {
      // Another batch hit a fatal error: stop retrying this one, its items stay pending.
      if (this.fatalError) return { kind: "failed" };
      this.counts.requests++;
      if (!first) {
        this.counts.retryRequests++;
        this.counts.retriedItems += requests.length;
      }
      first = false;
      let unprocessed: WriteRequest[];
      let reason: string;
      const sentAt = performance.now();
      try {
        const out = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.table]: requests } }));
        unprocessed = out.UnprocessedItems?.[this.table] ?? [];
        const done = requests.length - unprocessed.length;
        this.counts.written += done;
        if (this.meter) this.billWritten(requests, unprocessed);
        const coverage = coverageRequests(requests);
        if (coverage > 0) this.counts.coverageWritten += coverage - coverageRequests(unprocessed);
        this.observe(sentAt, done, unprocessed.length > 0);
        if (unprocessed.length === 0) break;
        this.counts.unprocessedItems += unprocessed.length;
        if (done > 0) attempt = 0; // progress: start the backoff over
        reason = `${unprocessed.length} UnprocessedItems`;
      } catch (err) {
        const verdict = classifyAwsError(err, {
          ...(await this.resolveTarget()),
          table: this.table,
          operation: "BatchWriteItem",
          firstKey: describeItemKey(requests[0]?.PutRequest?.Item),
        });
        if (verdict.kind === "fatal") {
          if (verdict.error.code === "E_AWS_VALIDATION") return { kind: "validation", requests, error: verdict.error };
          this.fail(verdict.error);
          return { kind: "failed" };
        }
        if (verdict.category === "throttle") this.counts.throttled++;
        else {
          this.counts.transientErrors++;
          // No answer: DynamoDB may have written the batch (throttling and 5xx answers wrote nothing).
          if (verdict.category === "network") this.meter?.unknown(requests.length);
        }
        this.observe(sentAt, 0, true);
        unprocessed = requests;
        reason = verdict.reason;
      }
      const delayMs = backoffDelayMs(attempt, this.backoff);
      attempt++;
      this.onRetry?.({ attempt, delayMs, reason, items: unprocessed.length });
      await this.sleep(delayMs);
      requests = unprocessed;
    }
    return { kind: "done" };
  }

  private billWritten(requests: readonly WriteRequest[], unprocessed: readonly WriteRequest[]): void {
    // UnprocessedItems come back as new objects: matched by key.
    const left = new Set(unprocessed.map((r) => (r.PutRequest?.Item ? itemKey(r.PutRequest.Item) : "")));
    for (const request of requests) {
      const item = request.PutRequest?.Item;
      if (item !== undefined && !left.has(itemKey(item))) this.meter!.bill(itemSizeBytes(item));
    }
  }

  /** Is the table obcap's (keys, metadata item)? Otherwise the writer stops with the validation error, and why. */
  private async tableFits(validation: ObcapError): Promise<boolean> {
    try {
      await openCaptureTable({ client: this.client, table: this.table });
      return true;
    } catch (err) {
      const why = isObcapError(err) ? err.message : describeError(err);
      this.fail(obcapError(validation.code, `${validation.message}; every item was refused and the table does not look like obcap's: ${why}`, validation));
      return false;
    }
  }

  private resolveTarget(): Promise<ClientTarget> {
    this.target ??= clientTarget(this.client);
    return this.target;
  }

  private fail(error: ObcapError): void {
    if (this.fatalError) return;
    this.fatalError = error;
    // Batches still waiting for a slot are refused now; their callers see the error at once.
    // (Waiters hold no slot yet: `active` counts running batches only.)
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  /** One request's answer, for the adaptive limit. */
  private observe(sentAt: number, items: number, pushback: boolean): void {
    this.concurrency.observe({ items, latencyMs: performance.now() - sentAt, pushback, saturated: this.slotWaiters.length > 0 });
  }

  /** The limit rose: batches waiting for a slot get the new ones now. */
  private grantSlots(): void {
    while (this.active < this.concurrency.limit && this.slotWaiters.length > 0) {
      this.active++;
      this.slotWaiters.shift()!.resolve();
    }
  }

  private release(): void {
    // A lowered limit takes effect as requests finish: their slots are not handed on.
    const next = this.active <= this.concurrency.limit ? this.slotWaiters.shift() : undefined;
    if (next) {
      next.resolve(); // the slot passes to the waiter: `active` is unchanged
      return;
    }
    this.active--;
    if (this.active === 0) {
      const idle = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of idle) resolve();
    }
  }
}

function checkBatch(items: Item[]): void {
  if (items.length > MAX_BATCH_ITEMS) {
    throw obcapError("E_INTERNAL", `a batch holds ${items.length} items; BatchWriteItem takes at most ${MAX_BATCH_ITEMS}`);
  }
  const keys = new Set<string>();
  for (const item of items) {
    const key = itemKey(item);
    if (keys.has(key)) {
      throw obcapError("E_INTERNAL", `a batch holds the key ${describeItemKey(item)} twice; BatchWriteItem would reject it`);
    }
    keys.add(key);
  }
}
