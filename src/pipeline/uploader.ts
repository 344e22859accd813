/**
 * Items -> batches -> BatchWriteItem, with an acknowledged position.
 *
 * Every frame taken has a position in its source (a ring sequence number, a journal segment offset,
 * a replay file's byte offset). A frame either adds an item or is skipped (rejected, unknown kind).
 * `acknowledged()` is the latest position P such that every frame up to P is in DynamoDB or was
 * skipped: the point a checkpoint can record, so a restart resumes there without losing or re-reading
 * more than the batches in flight. Batches finish out of order (several in flight); the position only
 * moves over a finished prefix.
 */
import { Batcher, type Item } from "./batcher.ts";
import type { BatchWriter } from "../store/dynamodb/batch-writer.ts";

interface AckEntry<P> {
  position: P;
  done: boolean;
}

export class ItemUploader<P> {
  private readonly batcher = new Batcher();
  /** Emitted batches not yet handed to the writer. */
  private ready: Array<{ items: Item[]; entry: AckEntry<P> }> = [];
  /** Emitted batches and skip marks in source order, until acknowledged. */
  private pending: AckEntry<P>[] = [];
  private lastTaken: P | undefined;
  private acked: P | undefined;

  constructor(private readonly writer: BatchWriter) {}

  /** An item to store, from the frame ending at `position`. */
  add(item: Item, position: P): void {
    this.lastTaken = position;
    const batch = this.batcher.add(item);
    if (batch) this.emit(batch);
  }

  /** A frame that stores nothing, ending at `position`: done once everything before it is. */
  skip(position: P): void {
    this.lastTaken = position;
    if (this.batcher.size > 0) return; // the open batch will carry this position when it is emitted
    if (this.pending.length === 0) {
      this.acked = position;
      return;
    }
    const last = this.pending[this.pending.length - 1]!;
    if (last.done) last.position = position;
    else this.pending.push({ position, done: true });
  }

  /** Sends the full batches; waits while the writer has `maxInFlight` requests out (backpressure). */
  async pump(): Promise<void> {
    // A request that failed for good stops the caller even when no new batch is waiting.
    const fatal = this.writer.fatal();
    if (fatal) throw fatal;
    while (this.ready.length > 0) {
      const { items, entry } = this.ready.shift()!;
      await this.writer.submit(items, () => {
        entry.done = true;
        this.advance();
      });
    }
  }

  hasOpenBatch(): boolean {
    return this.batcher.size > 0;
  }

  /** Sends the open batch once its oldest item has waited `lingerMs`. */
  async lingerFlush(nowMs: number, lingerMs: number): Promise<void> {
    const batch = this.batcher.takeIfLingered(lingerMs, nowMs);
    if (batch) this.emit(batch);
    await this.pump();
  }

  /** Sends everything still open and waits until DynamoDB acknowledged all of it. */
  async finish(): Promise<void> {
    const batch = this.batcher.takeBatch();
    if (batch) this.emit(batch);
    await this.pump();
    await this.writer.flush();
  }

  /** Latest position up to which everything taken is stored or skipped; undefined before the first. */
  acknowledged(): P | undefined {
    return this.acked;
  }

  /** Items replaced inside a batch by a later copy with the same key. */
  get duplicatesDropped(): number {
    return this.batcher.duplicatesDropped;
  }

  private emit(items: Item[]): void {
    const entry: AckEntry<P> = { position: this.lastTaken as P, done: false };
    this.pending.push(entry);
    this.ready.push({ items, entry });
  }

  private advance(): void {
    while (this.pending.length > 0 && this.pending[0]!.done) this.acked = this.pending.shift()!.position;
  }
}
