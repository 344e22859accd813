/**
 * Where the writer puts frames: DynamoDB (items, batched) or journal lines (no AWS needed).
 * Both take frames synchronously from the drain loop and do their I/O in `pump`, between drains.
 */
import type { DecodeResult } from "./decode.ts";
import { StoredItems } from "./stored-item.ts";
import { ItemUploader } from "./uploader.ts";
import { JournalLineWriter } from "./journal-lines.ts";
import { copyWriteStats, type WriterInit, type WriterStats } from "./writer-protocol.ts";
import { BatchWriter } from "../store/dynamodb/batch-writer.ts";
import { createDynamoClient } from "../store/dynamodb/client.ts";

/** The decode results a sink stores. */
export type StoredResult = Extract<DecodeResult, { kind: "event" | "gap" }>;

export interface WriterSink {
  /** An order or trade event, or a gap frame (with its text). Synchronous: runs inside the ring drain. */
  takeStored(result: StoredResult, frame: string, rxMicros: number): void;
  /** A valid frame that is not stored as an event (unknown kind): journal sinks keep it. */
  takeOther(frame: string, rxMicros: number): void;
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

export function createSink(init: WriterInit, stats: WriterStats, onRetry: (message: string) => void): WriterSink {
  return init.target.kind === "dynamodb"
    ? new DynamoDbSink(init.target, stats, onRetry)
    : new JournalLinesSink(init.target.path, stats);
}

class DynamoDbSink implements WriterSink {
  private readonly uploader: ItemUploader<number>;
  private readonly writer: BatchWriter;
  private readonly stored: StoredItems;
  /** Frames taken, as the uploader's position (this sink has no checkpoint to resume from). */
  private taken = 0;

  constructor(
    target: Extract<WriterInit["target"], { kind: "dynamodb" }>,
    private readonly stats: WriterStats,
    onRetry: (message: string) => void,
  ) {
    this.stored = new StoredItems(target.shards);
    const client = createDynamoClient({ endpoint: target.endpoint, region: target.region });
    this.writer = new BatchWriter({
      client,
      table: target.table,
      maxInFlight: target.maxInFlight,
      onRetry: (info) =>
        onRetry(`retry ${info.attempt} of ${info.items} items in ${Math.round(info.delayMs)} ms: ${info.reason}`),
    });
    this.uploader = new ItemUploader(this.writer);
  }

  takeStored(result: StoredResult): void {
    this.uploader.take(this.stored.of(result), ++this.taken);
  }

  takeOther(): void {
    // Only order and trade events are stored in the table; the rest is counted by the writer.
    this.uploader.take([], ++this.taken);
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

  constructor(path: string | null, private readonly stats: WriterStats) {
    this.out = new JournalLineWriter(path);
  }

  takeStored(_result: StoredResult, frame: string, rxMicros: number): void {
    this.out.append(rxMicros, frame);
  }

  takeOther(frame: string, rxMicros: number): void {
    this.out.append(rxMicros, frame);
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
