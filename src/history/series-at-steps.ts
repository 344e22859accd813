/**
 * A series of book states of one pair from any {@link HistorySource}: one row per step (from, from +
 * every, ... up to `to`), each the best `depth` levels as they stand after every event at or before the
 * step, the same rule as book/book-series.ts (whose rows it equals; tests/unit/history checks it). Rows
 * stream out as events are read, so a day of a busy pair goes through in bounded memory.
 */
import { alignToSnapshot, DEFAULT_MARGIN_MICROS } from "../book/snapshot-alignment.ts";
import type { SeriesRow } from "../book/book-series.ts";
import { eventMicros } from "../book/event-time.ts";
import type { L3Book } from "../book/l3-book.ts";
import { provenanceOf, reportWarnings, snapshotFor, type BookProvenance } from "./book-at.ts";
import type { HistorySource } from "./history-source.ts";

export interface SeriesRequest {
  pair: string;
  fromMicros: number;
  toMicros: number;
  everyMicros: number;
  depth: number;
  marginMicros?: number;
}

/** The rows, then (once they are all out) what the series stood on. */
export interface SeriesRun {
  rows: AsyncIterable<SeriesRow>;
  /** Resolves after the last row. */
  provenance(): Promise<BookProvenance>;
}

/** Streams the series; throws E_NO_SNAPSHOT (before any row) when no snapshot is at or before `fromMicros`. */
export async function seriesAtSteps(source: HistorySource, request: SeriesRequest): Promise<SeriesRun> {
  const { pair, fromMicros, toMicros, everyMicros, depth } = request;
  if (!(Number.isInteger(everyMicros) && everyMicros > 0)) throw new RangeError(`everyMicros must be a positive integer, got ${everyMicros}`);
  if (!(fromMicros <= toMicros)) throw new RangeError(`fromMicros (${fromMicros}) is after toMicros (${toMicros})`);
  const snapshot = await snapshotFor(source, pair, fromMicros);
  const start = alignToSnapshot(snapshot.book, { marginMicros: request.marginMicros ?? DEFAULT_MARGIN_MICROS });
  start.book.reportAfterMicros = start.snapshotMicros;
  let applied = 0;
  let late = 0;
  let done: (p: BookProvenance) => void = () => {};
  let failed: (err: unknown) => void = () => {};
  const finished = new Promise<BookProvenance>((resolve, reject) => ((done = resolve), (failed = reject)));
  finished.catch(() => undefined);
  const book: L3Book = start.book;
  async function* rows(): AsyncIterable<SeriesRow> {
    try {
      let step = fromMicros;
      for await (const event of source.orderEvents(pair, start.applyFromMicros, toMicros, () => late++)) {
        const micros = eventMicros(event.data);
        while (step < micros && step <= toMicros) {
          yield rowAt(book, step, depth);
          step += everyMicros;
        }
        book.apply(event);
        applied++;
      }
      for (; step <= toMicros; step += everyMicros) yield rowAt(book, step, depth);
      const provenance = await provenanceOf(source, snapshot, start.applyFromMicros, toMicros, applied, late);
      done({ ...provenance, warnings: [...provenance.warnings, ...reportWarnings(book.report())] });
    } catch (err) {
      failed(err);
      throw err;
    }
  }
  return { rows: rows(), provenance: () => finished };
}

function rowAt(book: L3Book, timeMicros: number, depth: number): SeriesRow {
  return { timeMicros, bids: book.levels("bid", depth), asks: book.levels("ask", depth) };
}
