/**
 * The book at time T from a snapshot and the events around it: the one implementation of the
 * alignment rule of docs/book.md, so that readers do not each write their own.
 *
 * Rebuild at T from the nearest snapshot at or before T (microtimestamp S): load it, then apply every
 * event from S - margin up to T. Events carry the order's state after them, so those in the margin
 * that the snapshot already holds change nothing, and those it missed (the REST book lagging the
 * feed, ms-resolution event times against a µs snapshot time) are put right. Unknown-order and
 * crossing reports count only events after S.
 */
import { eventMicros } from "./event-time.ts";
import type { BookEvent, BookOptions, L3Book } from "./l3-book.ts";
import { bookFromSnapshot } from "./snapshot-book.ts";
import { snapshotMicros, type OrderBookSnapshot } from "./snapshot-schema.ts";

/**
 * Margin before the snapshot's microtimestamp, µs. Any margin is correct on a gap-free stream (the
 * overlap is idempotent); a wider one only replays more events. One second covers the
 * millisecond resolution of event times 1,000 times over and Bitstamp's REST book trailing its feed.
 */
export const DEFAULT_MARGIN_MICROS = 1_000_000;

export interface AlignOptions extends BookOptions {
  /** µs before the snapshot's microtimestamp from which events are applied. Default {@link DEFAULT_MARGIN_MICROS}. */
  marginMicros?: number;
}

/** A book at a snapshot, and the exchange time (µs) from which events must be applied to it. */
export interface AlignedStart {
  book: L3Book;
  snapshotMicros: number;
  applyFromMicros: number;
}

/** Loads the snapshot and says where the events start (S - margin). */
export function alignToSnapshot(snapshot: OrderBookSnapshot, options: AlignOptions = {}): AlignedStart {
  const margin = options.marginMicros ?? DEFAULT_MARGIN_MICROS;
  if (!(margin >= 0)) throw new RangeError(`marginMicros must be >= 0, got ${margin}`);
  const micros = snapshotMicros(snapshot);
  return { book: bookFromSnapshot(snapshot, options), snapshotMicros: micros, applyFromMicros: micros - margin };
}

/**
 * The book at `atMicros`: `snapshot` (the nearest at or before it) plus every event of `events` from
 * the margin before the snapshot up to `atMicros` inclusive. `events` must be sorted by exchange time,
 * then receive time (reading stops at the first event after `atMicros`). Throws RangeError when
 * `atMicros` is before the snapshot or the events go back in time.
 */
export function rebuildBookAt(snapshot: OrderBookSnapshot, events: Iterable<BookEvent>, atMicros: number, options: AlignOptions = {}): L3Book {
  const start = alignToSnapshot(snapshot, options);
  if (atMicros < start.snapshotMicros) {
    throw new RangeError(`rebuildBookAt: time ${atMicros} is before the snapshot (${start.snapshotMicros}); use the nearest snapshot at or before it`);
  }
  const order = new EventOrderCheck();
  for (const event of events) {
    const micros = order.micros(event);
    if (micros < start.applyFromMicros) continue;
    if (micros > atMicros) break;
    start.book.apply(event);
  }
  return start.book;
}

/** Exchange times of a sorted event stream, checked: an event earlier than the one before it throws. */
export class EventOrderCheck {
  private last = Number.NEGATIVE_INFINITY;

  /** The event's exchange time, µs. Throws RangeError when it is before the previous event's. */
  micros(event: BookEvent): number {
    const micros = eventMicros(event.data);
    if (micros < this.last) {
      throw new RangeError(`events out of order: ${micros} after ${this.last} (sort them by exchange time, then receive time)`);
    }
    this.last = micros;
    return micros;
  }
}
