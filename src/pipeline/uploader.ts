/**
 * Items -> batches -> BatchWriteItem, with an acknowledged position.
 *
 * Every frame taken has a position in its source (a ring sequence number, a journal segment offset,
 * a replay file's byte offset) and gives zero, one or several items (a chain-gap item beside its
 * event, the gap items of a multi-channel gap record). `take(items, position)` hands over all items
 * of one position at once.
 *
 * Invariant: `acknowledged()` is the latest position P such that every item taken from every position
 * up to P is acknowledged by DynamoDB. It is what a checkpoint may record: a restart resumes after P
 * without losing anything, and re-reads at most the positions whose items were in flight. Batches
 * finish out of order (several in flight) and one position's items may sit in two batches (the 25th
 * item of one batch and the first of the next), so each position counts its items still outstanding
 * and the acknowledged position only moves over a prefix of positions whose count is zero.
 *
 * An item replaced inside the open batch by a later item with the same key (Batcher's dedupe) is
 * stored when the batch holding its replacement is: both positions wait for that batch.
 */
import { Batcher } from "./batcher.ts";
import type { Item } from "../store/dynamodb/item.ts";
import { SNAPSHOT_EVENT } from "../model/order-book-snapshot.ts";
import type { ItemWriter } from "../store/dynamodb/batch-writer.ts";

/** One source position not yet acknowledged, with the number of its items not yet acknowledged. */
interface Pending<P> {
  position: P;
  outstanding: number;
}

export class ItemUploader<P> {
  private readonly batcher = new Batcher();
  /** The positions of the items added to the open batch (one entry per item, replaced ones too). */
  private openOwners: Pending<P>[] = [];
  /** Emitted batches not yet handed to the writer, each with the positions of its items. */
  private ready: Array<{ items: Item[]; owners: Pending<P>[] }> = [];
  /** Positions in source order, from the oldest not yet acknowledged; `head` is the first live one. */
  private pending: Pending<P>[] = [];
  private head = 0;
  private acked: P | undefined;
  /**
   * Order book snapshot chunk items of the batches DynamoDB acknowledged. Summaries keep them out of
   * "written" (events and gap records), like coverage items: a snapshot is 1 to ~20 chunks whatever
   * the feed did.
   */
  snapshotItemsWritten = 0;

  constructor(private readonly writer: ItemWriter) {}

  /**
   * All items of the frame ending at `position` (none: the frame stores nothing, e.g. rejected or
   * of a kind obcap does not store). Positions must be given in source order.
   */
  take(items: readonly Item[], position: P): void {
    if (items.length === 0) {
      this.skip(position);
      return;
    }
    const entry: Pending<P> = { position, outstanding: items.length };
    this.pending.push(entry);
    for (const item of items) {
      this.openOwners.push(entry);
      const batch = this.batcher.add(item);
      if (batch) this.emit(batch);
    }
  }

  /** Sends the full batches; waits while the writer has `maxInFlight` requests out (backpressure). */
  async pump(): Promise<void> {
    // A request that failed for good stops the caller even when no new batch is waiting.
    const fatal = this.writer.fatal();
    if (fatal) throw fatal;
    while (this.ready.length > 0) {
      const { items, owners } = this.ready.shift()!;
      let chunks = 0;
      for (const item of items) if (item.ev?.S === SNAPSHOT_EVENT) chunks++;
      await this.writer.submit(items, () => {
        this.snapshotItemsWritten += chunks;
        this.written(owners);
      });
    }
  }

  /** An open batch, or items the writer holds until a time (packed windows): the linger timer must run. */
  hasOpenBatch(): boolean {
    return this.batcher.size > 0 || (this.writer.holdsOpenWork?.() ?? false);
  }

  /** Sends the open batch once its oldest item has waited `lingerMs`. */
  async lingerFlush(nowMs: number, lingerMs: number): Promise<void> {
    const batch = this.batcher.takeIfLingered(lingerMs, nowMs);
    if (batch) this.emit(batch);
    await this.pump();
    await this.writer.tick?.();
  }

  /** Sends everything still open and waits until DynamoDB acknowledged all of it. */
  async finish(): Promise<void> {
    const batch = this.batcher.takeBatch();
    if (batch) this.emit(batch);
    await this.pump();
    await this.writer.flush();
  }

  /** Latest position up to which every item taken is acknowledged; undefined before the first. */
  acknowledged(): P | undefined {
    return this.acked;
  }

  /** Items replaced inside a batch by a later copy with the same key. */
  get duplicatesDropped(): number {
    return this.batcher.duplicatesDropped;
  }

  /** A position without items: acknowledged once every position before it is. */
  private skip(position: P): void {
    if (this.head === this.pending.length) {
      this.acked = position;
      return;
    }
    // The last waiting position has nothing outstanding: it only waits for earlier ones, so it can
    // stand for this one too (keeps the list short through long runs of skipped frames).
    const last = this.pending[this.pending.length - 1]!;
    if (last.outstanding === 0) last.position = position;
    else this.pending.push({ position, outstanding: 0 });
  }

  private emit(items: Item[]): void {
    this.ready.push({ items, owners: this.openOwners });
    this.openOwners = [];
  }

  private written(owners: Pending<P>[]): void {
    for (const owner of owners) owner.outstanding--;
    const pending = this.pending;
    let head = this.head;
    while (head < pending.length && pending[head]!.outstanding === 0) this.acked = pending[head++]!.position;
    if (head === pending.length) {
      this.pending = [];
      this.head = 0;
    } else if (head > 1024 && head * 2 > pending.length) {
      this.pending = pending.slice(head);
      this.head = 0;
    } else {
      this.head = head;
    }
  }
}
