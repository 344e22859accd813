/**
 * A time series of the book: one row per step (from, from + every, ... up to `to`, µs), each the best
 * `depth` levels of both sides as they stand after every event at or before that time. Rows come out
 * as the events are read, so a day of events streams through in constant memory.
 */
import type { BookEvent } from "./l3-book.ts";
import { L3Book } from "./l3-book.ts";
import type { L2Level } from "./price-level.ts";
import { alignToSnapshot, EventOrderCheck } from "./snapshot-alignment.ts";
import type { OrderBookSnapshot } from "./snapshot-schema.ts";

export interface SeriesOptions {
  /** Order events sorted by exchange time, then receive time. */
  events: Iterable<BookEvent>;
  /**
   * A book to advance (it is changed: every event is applied to it), or a snapshot to start from with
   * the alignment rule (events from `marginMicros` before it; `fromMicros` must not be before it).
   */
  start: L3Book | OrderBookSnapshot;
  /** Margin before a snapshot start, µs (snapshot-alignment.ts). */
  marginMicros?: number;
  fromMicros: number;
  toMicros: number;
  everyMicros: number;
  /** Levels per side in each row. */
  depth: number;
}

export interface SeriesRow {
  /** The step's time, µs: the row holds every event at or before it. */
  readonly timeMicros: number;
  readonly bids: readonly L2Level[];
  readonly asks: readonly L2Level[];
}

/** Rows of the book from `fromMicros` to `toMicros` every `everyMicros` (see the file comment). Throws RangeError on bad bounds. */
export function* bookSeries(options: SeriesOptions): Generator<SeriesRow, void, undefined> {
  const { fromMicros, toMicros, everyMicros, depth } = options;
  if (!(Number.isInteger(everyMicros) && everyMicros > 0)) throw new RangeError(`everyMicros must be a positive integer, got ${everyMicros}`);
  if (!(Number.isInteger(depth) && depth > 0)) throw new RangeError(`depth must be a positive integer, got ${depth}`);
  if (!(fromMicros <= toMicros)) throw new RangeError(`fromMicros (${fromMicros}) is after toMicros (${toMicros})`);
  let book: L3Book;
  let applyFrom = Number.NEGATIVE_INFINITY;
  if (options.start instanceof L3Book) {
    book = options.start;
  } else {
    const aligned = alignToSnapshot(options.start, { marginMicros: options.marginMicros });
    if (fromMicros < aligned.snapshotMicros) {
      throw new RangeError(`fromMicros (${fromMicros}) is before the snapshot (${aligned.snapshotMicros}): the book is not known there`);
    }
    book = aligned.book;
    applyFrom = aligned.applyFromMicros;
  }
  const order = new EventOrderCheck();
  let step = fromMicros;
  for (const event of options.events) {
    const micros = order.micros(event);
    if (micros < applyFrom) continue;
    while (step < micros && step <= toMicros) {
      yield rowAt(book, step, depth);
      step += everyMicros;
    }
    if (step > toMicros) return;
    book.apply(event);
  }
  for (; step <= toMicros; step += everyMicros) yield rowAt(book, step, depth);
}

function rowAt(book: L3Book, timeMicros: number, depth: number): SeriesRow {
  return { timeMicros, bids: book.levels("bid", depth), asks: book.levels("ask", depth) };
}
