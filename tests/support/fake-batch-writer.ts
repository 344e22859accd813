/**
 * A stand-in for the BatchWriter (src/store/dynamodb/batch-writer.ts) that keeps its contract without
 * DynamoDB, for unit tests of what writes through it (the upload stage, the uploader):
 * - `submit(items, onWritten)` takes 1 to 25 items with distinct keys (E_INTERNAL otherwise, an empty
 *   batch is ignored) and resolves once the batch is in flight, waiting in order while `maxInFlight`
 *   batches are; `onWritten` runs once every item of the batch is acknowledged;
 * - `flush()` resolves once everything submitted is acknowledged, and rejects with the fatal error;
 * - after a fatal error `submit()` rejects at once and the batches waiting for a slot are refused;
 * - `stats()`: requests, written (coverage items among them counted as `coverageWritten`), in flight,
 *   pending items, as the real one counts them.
 * Batches are acknowledged by the test (`ack`, `ackAll`), or with `autoAck` in a later task, in the
 * order they were submitted (as DynamoDB answering each request the first time would).
 * Runtime-neutral; the AWS SDK is not loaded (types only).
 */
import { obcapError, type ObcapError } from "../../src/base/errors.ts";
import type { BatchWriter, BatchWriterOptions, BatchWriterStats } from "../../src/store/dynamodb/batch-writer.ts";
import { isCoverageItem } from "../../src/store/dynamodb/coverage.ts";
import { itemKey } from "../../src/store/dynamodb/item-identity.ts";
import type { Item } from "../../src/store/dynamodb/item.ts";

export interface FakeBatch {
  /** Submission order, from 0. */
  readonly index: number;
  readonly items: readonly Item[];
  acked: boolean;
}

export interface FakeBatchWriterOptions {
  /** Acknowledge each batch in a later task, in order. Default false: the test acknowledges. */
  autoAck?: boolean;
}

export class FakeBatchWriter {
  readonly batches: FakeBatch[] = [];
  private readonly maxInFlight: number;
  private readonly onWritten = new Map<FakeBatch, (() => void) | undefined>();
  private readonly slotWaiters: Array<{ resolve: () => void; reject: (error: ObcapError) => void }> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private readonly checks = new Set<() => void>();
  private active = 0;
  private submittedItems = 0;
  private written = 0;
  private coverageWritten = 0;
  private fatalError: ObcapError | undefined;

  constructor(readonly options: Omit<BatchWriterOptions, "client">, private readonly fake: FakeBatchWriterOptions = {}) {
    this.maxInFlight = options.concurrency?.initial ?? options.maxInFlight ?? 8;
  }

  /** The same object, typed as what its users take (BatchWriter has private members, so a cast). */
  asBatchWriter(): BatchWriter {
    return this as unknown as BatchWriter;
  }

  async submit(items: Item[], onWritten?: () => void): Promise<void> {
    if (this.fatalError) throw this.fatalError;
    if (items.length === 0) return;
    if (items.length > 25) throw obcapError("E_INTERNAL", `a batch holds ${items.length} items; BatchWriteItem takes at most 25`);
    const keys = new Set(items.map(itemKey));
    if (keys.size !== items.length) throw obcapError("E_INTERNAL", "a batch holds a key twice; BatchWriteItem would reject it");
    if (this.active < this.maxInFlight && this.slotWaiters.length === 0) this.active++;
    else await new Promise<void>((resolve, reject) => this.slotWaiters.push({ resolve, reject }));
    const batch: FakeBatch = { index: this.batches.length, items: [...items], acked: false };
    this.batches.push(batch);
    this.onWritten.set(batch, onWritten);
    this.submittedItems += items.length;
    this.changed();
    if (this.fake.autoAck) setTimeout(() => this.ack(batch), 0);
  }

  async flush(): Promise<void> {
    if (this.active > 0 || this.slotWaiters.length > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (this.fatalError) throw this.fatalError;
  }

  stats(): BatchWriterStats {
    return {
      requests: this.batches.length,
      written: this.written,
      coverageWritten: this.coverageWritten,
      retriedItems: 0,
      retryRequests: 0,
      unprocessedItems: 0,
      throttled: 0,
      transientErrors: 0,
      inFlight: this.active,
      pendingItems: this.submittedItems - this.written,
      refusedItems: 0,
      concurrency: this.maxInFlight,
    };
  }

  fatal(): ObcapError | undefined {
    return this.fatalError;
  }

  /** DynamoDB acknowledged every item of `batch` (once; later calls do nothing). */
  ack(batch: FakeBatch | number): void {
    const b = typeof batch === "number" ? this.batches[batch]! : batch;
    if (b.acked || this.fatalError) return;
    b.acked = true;
    this.written += b.items.length;
    this.coverageWritten += b.items.filter(isCoverageItem).length;
    this.onWritten.get(b)?.();
    this.release();
    this.changed();
  }

  /** Acknowledges every batch submitted so far, in order. */
  ackAll(): void {
    for (const batch of this.batches) this.ack(batch);
  }

  /** An error retrying cannot fix: the writer stops, as the real one does. */
  fail(error: ObcapError): void {
    if (this.fatalError) return;
    this.fatalError = error;
    for (const waiter of this.slotWaiters.splice(0)) waiter.reject(error);
    // The batches in flight end without being written (their slots are freed, their items stay pending).
    const inFlight = this.batches.filter((b) => !b.acked).length;
    for (let i = 0; i < inFlight; i++) this.release();
    this.changed();
  }

  /** Every item submitted, in submission order. */
  items(): Item[] {
    return this.batches.flatMap((b) => b.items);
  }

  /** The items submitted that are data (events, gap records): coverage items left out. */
  dataItems(): Item[] {
    return this.items().filter((item) => !isCoverageItem(item));
  }

  /** The coverage items submitted, in submission order. */
  coverageItems(): Item[] {
    return this.items().filter(isCoverageItem);
  }

  /** Calls `recheck` after every submission and acknowledgement (for waitFor's `subscribe`). */
  subscribe(recheck: () => void): () => void {
    this.checks.add(recheck);
    return () => this.checks.delete(recheck);
  }

  private release(): void {
    const next = this.slotWaiters.shift();
    if (next) {
      next.resolve();
      return;
    }
    this.active = Math.max(0, this.active - 1);
    if (this.active === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private changed(): void {
    for (const check of [...this.checks]) check();
  }
}
