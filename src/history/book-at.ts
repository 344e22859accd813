/**
 * The order book of one pair at an instant, from any {@link HistorySource}, by the alignment rule of
 * docs/book.md: the nearest snapshot at or before T, then every order event from a margin before the
 * snapshot's microtimestamp up to T. The answer says what it stands on (the snapshot, how many events)
 * and what may make it wrong (gaps inside the window, events out of order, the book's own reports),
 * instead of hiding it.
 */
import { obcapError } from "../base/errors.ts";
import { alignToSnapshot, DEFAULT_MARGIN_MICROS } from "../book/snapshot-alignment.ts";
import type { BookReport } from "../book/book-report.ts";
import type { L3Book } from "../book/l3-book.ts";
import type { GapEvent } from "../model/events.ts";
import type { HistorySource, StoredSnapshot } from "./history-source.ts";

export interface BookAtOptions {
  /** µs before the snapshot's microtimestamp from which events are applied (snapshot-alignment.ts). */
  marginMicros?: number;
}

/** Where a rebuilt book came from, and what may make it wrong. */
export interface BookProvenance {
  pair: string;
  source: string;
  /** The snapshot it started from. */
  snapshot: { microtimestamp: number; receivedMicros: number; bids: number; asks: number };
  /** Events were applied from here (snapshot - margin) ... */
  appliedFromMicros: number;
  /** ... up to here (the instant asked for, or the last step of a series). */
  appliedToMicros: number;
  eventsApplied: number;
  /** Gaps of the order channel inside [appliedFrom, appliedTo]: events may be missing there. */
  gaps: GapEvent[];
  /** Events that came too late to be applied in exchange-time order (applied where they came). */
  lateEvents: number;
  /** Plain sentences: why the book may be wrong (empty when nothing suggests it). */
  warnings: string[];
}

export interface BookAt extends BookProvenance {
  atMicros: number;
  book: L3Book;
  report: BookReport;
}

/** The snapshot to start from at `atMicros`; throws E_NO_SNAPSHOT naming the source and the fix. */
export async function snapshotFor(source: HistorySource, pair: string, atMicros: number): Promise<StoredSnapshot> {
  const snapshot = await source.snapshotAtOrBefore(pair, atMicros);
  if (snapshot === undefined) {
    throw obcapError(
      "E_NO_SNAPSHOT",
      `no order book snapshot of ${pair} at or before ${isoOfMicros(atMicros)} in ${source.describe()}: a book cannot be rebuilt from events alone ` +
        "(orders resting before the capture are unknown); ask for a time after the first snapshot (captures take one on every connect and every --snapshot-every)",
    );
  }
  return snapshot;
}

/** The book of `pair` at `atMicros` (every event at or before it applied). */
export async function bookAt(source: HistorySource, pair: string, atMicros: number, options: BookAtOptions = {}): Promise<BookAt> {
  const snapshot = await snapshotFor(source, pair, atMicros);
  const start = alignToSnapshot(snapshot.book, { marginMicros: options.marginMicros ?? DEFAULT_MARGIN_MICROS });
  start.book.reportAfterMicros = start.snapshotMicros;
  // The gaps are read while the events are (one request beside many).
  const gaps = source.gaps(pair, start.applyFromMicros, atMicros);
  gaps.catch(() => undefined); // awaited below; an early failure must not be unhandled meanwhile
  let applied = 0;
  let late = 0;
  for await (const event of source.orderEvents(pair, start.applyFromMicros, atMicros, () => late++)) {
    start.book.apply(event);
    applied++;
  }
  const provenance = await provenanceOf(source, snapshot, start.applyFromMicros, atMicros, applied, late, gaps);
  const report = start.book.report();
  return { ...provenance, atMicros, book: start.book, report, warnings: [...provenance.warnings, ...reportWarnings(report)] };
}

/** The provenance of a book built from `snapshot` with `applied` events over [from, to]. */
export async function provenanceOf(
  source: HistorySource,
  snapshot: StoredSnapshot,
  fromMicros: number,
  toMicros: number,
  applied: number,
  late: number,
  gapsRead: Promise<GapEvent[]> = source.gaps(snapshot.pair, fromMicros, toMicros),
): Promise<BookProvenance> {
  const gaps = await gapsRead;
  const warnings: string[] = [];
  for (const gap of gaps) {
    warnings.push(`gap (${gap.reason}) from ${isoOfMicros(gap.startMicros)} to ${isoOfMicros(gap.endMicros)}: order events may be missing there, so the book may be wrong after it`);
  }
  if (late > 0) warnings.push(`${late} events arrived too late to be put in exchange-time order (applied as they came)`);
  return {
    pair: snapshot.pair,
    source: source.describe(),
    snapshot: { microtimestamp: snapshot.microtimestamp, receivedMicros: snapshot.receivedMicros, bids: snapshot.book.bids.length, asks: snapshot.book.asks.length },
    appliedFromMicros: fromMicros,
    appliedToMicros: toMicros,
    eventsApplied: applied,
    gaps,
    lateEvents: late,
    warnings,
  };
}

/** The book's own reports as warnings (after the snapshot only: the margin replays what it holds). */
export function reportWarnings(report: BookReport): string[] {
  const out: string[] = [];
  if (report.unknownChanged.count > 0) out.push(`${report.unknownChanged.count} order_changed for orders the book did not have (e.g. ${report.unknownChanged.ids.slice(0, 3).join(", ")}): events missing before them?`);
  if (report.unknownDeleted.count > 0) out.push(`${report.unknownDeleted.count} order_deleted for orders the book did not have (e.g. ${report.unknownDeleted.ids.slice(0, 3).join(", ")}): events missing before them?`);
  if (report.rejected.count > 0) out.push(`${report.rejected.count} events could not be applied (e.g. ${report.rejected.samples[0]?.reason ?? ""})`);
  if (report.crossed) out.push("the book is crossed (best bid >= best ask)");
  else if (report.crossedTimes > 0) out.push(`the book was crossed ${report.crossedTimes} times on the way`);
  return out;
}

/** ISO 8601 with microseconds, UTC. */
export function isoOfMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return `${micros} µs`;
  return `${date.toISOString().slice(0, 19)}.${String(((micros % 1_000_000) + 1_000_000) % 1_000_000).padStart(6, "0")}Z`;
}
