/**
 * Where the writer puts frames: DynamoDB (items, batched) or journal lines (no AWS needed).
 * Both take frames synchronously from the drain loop and do their I/O in `pump`, between drains.
 */
import type { DecodeResult } from "../exchange/bitstamp/decode.ts";
import { StoredItems } from "./stored-item.ts";
import { ItemUploader } from "./uploader.ts";
import { JournalLineWriter } from "./journal-lines.ts";
import { copyWriteStats, type WriterInit, type WriterStats } from "./writer-protocol.ts";
import { BatchWriter } from "../store/dynamodb/batch-writer.ts";
import { createDynamoClient } from "../store/dynamodb/client.ts";
import { describeItemKey } from "../store/dynamodb/item-identity.ts";

/** The decode results a sink stores. */
export type StoredResult = Extract<DecodeResult, { kind: "event" | "gap" }>;

export interface WriterSink {
  /** An order or trade event (with its frame text). Synchronous: runs inside the ring drain. */
  takeStored(result: StoredResult, frame: string, rxMicros: number): void;
  /** A frame that is not stored as an event (unknown kind, control, rejected): journal sinks keep it. */
  takeOther(frame: string, rxMicros: number): void;
  /** A frame that goes nowhere (counted by the writer). */
  skip(): void;
  /** One of obcap's own records (its text and what it decodes to). */
  takeOwn(result: StoredResult, record: string, rxMicros: number): void;
  /** Frames taken whose fate is settled (see WriterStats.settledFrames). */
  settledFrames(): number;
  /** Does the I/O for what was taken; waits while the store applies backpressure. */
  pump(): Promise<void>;
  hasOpenBatch(): boolean;
  /** Sends a partial batch once its oldest item has waited `lingerMs`. */
  lingerFlush(nowMs: number, lingerMs: number): Promise<void>;
  /** Writes everything still open and waits for the acknowledgements. */
  finish(): Promise<void>;
  /** Current figures (the shared stats object, updated). */
  snapshot(): WriterStats;
}

export function createSink(init: WriterInit, stats: WriterStats, onRetry: (message: string) => void, onUnstorable: (reason: string) => void): WriterSink {
  return init.target.kind === "dynamodb"
    ? new DynamoDbSink(init.target, stats, onRetry, onUnstorable)
    : new JournalLinesSink(init.target.path, stats);
}

class DynamoDbSink implements WriterSink {
  private readonly uploader: ItemUploader<number>;
  private readonly writer: BatchWriter;
  private readonly stored: StoredItems;
  /**
   * Frames taken, as the uploader's position (this sink has no checkpoint to resume from): own records
   * take the position of the frame before them, so the acknowledged position counts settled frames.
   */
  private taken = 0;

  constructor(
    target: Extract<WriterInit["target"], { kind: "dynamodb" }>,
    private readonly stats: WriterStats,
    onRetry: (message: string) => void,
    private readonly onUnstorable: (reason: string) => void,
  ) {
    this.stored = new StoredItems(target.shards);
    const client = createDynamoClient({ endpoint: target.endpoint, region: target.region });
    this.writer = new BatchWriter({
      client,
      table: target.table,
      maxInFlight: target.maxInFlight,
      onRetry: (info) =>
        onRetry(`retry ${info.attempt} of ${info.items} items in ${Math.round(info.delayMs)} ms: ${info.reason}`),
      onRefused: (item, reason) => onUnstorable(`DynamoDB refused the item ${describeItemKey(item)}: ${reason}`),
    });
    this.uploader = new ItemUploader(this.writer);
  }

  takeStored(result: StoredResult): void {
    this.uploader.take(this.itemsOf(result), ++this.taken);
  }

  takeOther(): void {
    // Only order and trade events are stored in the table; the rest is counted by the writer.
    this.uploader.take([], ++this.taken);
  }

  takeOwn(result: StoredResult): void {
    this.uploader.take(this.itemsOf(result), this.taken);
  }

  skip(): void {
    this.uploader.take([], ++this.taken);
  }

  settledFrames(): number {
    return this.uploader.acknowledged() ?? 0;
  }

  /** Guarded (stored-item.ts): a frame no item can hold is counted and logged, never fatal. */
  private itemsOf(result: StoredResult) {
    const outcome = this.stored.take(result);
    if (outcome.kind === "items") return outcome.items;
    this.onUnstorable(outcome.reason);
    return [];
  }

  pump(): Promise<void> {
    return this.uploader.pump();
  }

  hasOpenBatch(): boolean {
    return this.uploader.hasOpenBatch();
  }

  lingerFlush(nowMs: number, lingerMs: number): Promise<void> {
    return this.uploader.lingerFlush(nowMs, lingerMs);
  }

  finish(): Promise<void> {
    return this.uploader.finish();
  }

  snapshot(): WriterStats {
    copyWriteStats(this.stats, this.writer.stats(), this.uploader.duplicatesDropped);
    return this.stats;
  }
}

class JournalLinesSink implements WriterSink {
  private readonly out: JournalLineWriter;
  private skipped = 0;

  constructor(path: string | null, private readonly stats: WriterStats) {
    this.out = new JournalLineWriter(path);
  }

  takeStored(_result: StoredResult, frame: string, rxMicros: number): void {
    this.out.append(rxMicros, frame);
  }

  takeOther(frame: string, rxMicros: number): void {
    this.out.append(rxMicros, frame);
  }

  takeOwn(_result: StoredResult, record: string, rxMicros: number): void {
    this.out.appendOwn(rxMicros, record);
  }

  settledFrames(): number {
    return this.out.writtenFrames + this.skipped;
  }

  skip(): void {
    this.skipped++;
  }

  async pump(): Promise<void> {}

  hasOpenBatch(): boolean {
    return false;
  }

  async lingerFlush(): Promise<void> {
    // Lines reach the OS when the ring runs dry, so a quiet feed is never held back.
    this.out.flush();
  }

  async finish(): Promise<void> {
    this.out.close();
  }

  snapshot(): WriterStats {
    this.stats.written = this.out.written;
    return this.stats;
  }
}
