/**
 * Where the writer puts frames: DynamoDB (items, batched) or journal lines (no AWS needed).
 * Both take frames synchronously from the drain loop and do their I/O in `pump`, between drains.
 */
import type { MarketEvent } from "./decode.ts";
import { Batcher, type Item } from "./batcher.ts";
import { JournalLineWriter } from "./journal-lines.ts";
import type { WriterInit, WriterStats } from "./writer-protocol.ts";
import { BatchWriter } from "../store/dynamodb/batch-writer.ts";
import { createDynamoClient } from "../store/dynamodb/client.ts";
import { encodeItem } from "../store/dynamodb/item-codec.ts";

export interface WriterSink {
  /** An order or trade event (with its frame text). Synchronous: runs inside the ring drain. */
  takeEvent(event: MarketEvent, frame: string, rxMicros: number): void;
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
  private readonly batcher = new Batcher();
  private readonly writer: BatchWriter;
  private readonly shards: number;
  private full: Item[][] = [];

  constructor(
    target: Extract<WriterInit["target"], { kind: "dynamodb" }>,
    private readonly stats: WriterStats,
    onRetry: (message: string) => void,
  ) {
    this.shards = target.shards;
    const client = createDynamoClient({ endpoint: target.endpoint, region: target.region });
    this.writer = new BatchWriter({
      client,
      table: target.table,
      maxInFlight: target.maxInFlight,
      onRetry: (info) =>
        onRetry(`retry ${info.attempt} of ${info.items} items in ${Math.round(info.delayMs)} ms: ${info.reason}`),
    });
  }

  takeEvent(event: MarketEvent): void {
    const batch = this.batcher.add(encodeItem(event, this.shards));
    if (batch) this.full.push(batch);
  }

  takeOther(): void {
    // Only order and trade events are stored in the table; the rest is counted by the writer.
  }

  async pump(): Promise<void> {
    // A request that failed for good stops the capture even when no new batch is waiting.
    const fatal = this.writer.fatal();
    if (fatal) throw fatal;
    const batches = this.full;
    this.full = [];
    for (const batch of batches) await this.writer.submit(batch);
  }

  hasOpenBatch(): boolean {
    return this.batcher.size > 0;
  }

  async lingerFlush(nowMs: number, lingerMs: number): Promise<void> {
    const batch = this.batcher.takeIfLingered(lingerMs, nowMs);
    if (batch) await this.writer.submit(batch);
  }

  async finish(): Promise<void> {
    await this.pump();
    const rest = this.batcher.takeBatch();
    if (rest) await this.writer.submit(rest);
    await this.writer.flush();
  }

  snapshot(): WriterStats {
    const w = this.writer.stats();
    const s = this.stats;
    s.written = w.written;
    s.requests = w.requests;
    s.retryRequests = w.retryRequests;
    s.retriedItems = w.retriedItems;
    s.unprocessedItems = w.unprocessedItems;
    s.throttled = w.throttled;
    s.inFlight = w.inFlight;
    s.duplicatesDropped = this.batcher.duplicatesDropped;
    return s;
  }
}

class JournalLinesSink implements WriterSink {
  private readonly out: JournalLineWriter;

  constructor(path: string | null, private readonly stats: WriterStats) {
    this.out = new JournalLineWriter(path);
  }

  takeEvent(_event: MarketEvent, frame: string, rxMicros: number): void {
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
