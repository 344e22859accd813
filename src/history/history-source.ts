/**
 * What a reader of the order book needs from stored data, whatever holds it (a DynamoDB table or a
 * journal directory): the nearest snapshot at or before a time, the order events of a window in
 * exchange-time order, and the gaps that say where events may be missing. `obcap book` and the REST
 * API read through this, so both answer the same from either store.
 */
import type { OrderBookSnapshot } from "../book/snapshot-schema.ts";
import type { GapEvent } from "../model/events.ts";
import type { OrderData, OrderEventName } from "../model/schemas.ts";

/** An order event as a reader applies it: what the book reads, and when it was received. An OrderEvent is one. */
export interface HistoryEvent {
  event: OrderEventName;
  data: OrderData;
  rxMicros: number;
}

/** One stored order book snapshot, parsed. */
export interface StoredSnapshot {
  pair: string;
  /** The body's `microtimestamp`: the book's last change, µs. */
  microtimestamp: number;
  /** When the capture had the whole body (µs, the capture's clock). */
  receivedMicros: number;
  book: OrderBookSnapshot;
}

export interface HistorySource {
  /** `table Orders`, `journal /var/lib/obcap`: for messages. */
  describe(): string;
  /** The snapshot of `pair` with the largest microtimestamp at or before `atMicros`; undefined when none is stored. */
  snapshotAtOrBefore(pair: string, atMicros: number): Promise<StoredSnapshot | undefined>;
  /** The snapshots of `pair` with microtimestamp in [fromMicros, toMicros], oldest first. */
  snapshotsBetween(pair: string, fromMicros: number, toMicros: number): Promise<StoredSnapshot[]>;
  /** Gaps of `pair`'s order channel that overlap [fromMicros, toMicros]. */
  gaps(pair: string, fromMicros: number, toMicros: number): Promise<GapEvent[]>;
  /**
   * `pair`'s order events with exchange time in [fromMicros, toMicros], sorted by exchange time, then
   * receive time. `onLate` is told of an event that could not be put in order (it is still yielded).
   */
  orderEvents(pair: string, fromMicros: number, toMicros: number, onLate?: (event: HistoryEvent) => void): AsyncIterable<HistoryEvent>;
}
