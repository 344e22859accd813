/**
 * The self-check of stored data: the book rebuilt from one snapshot and the events after it must
 * equal the next snapshot, order for order. Every later snapshot of the range is compared with the
 * book advanced to exactly its microtimestamp (every event at or before it applied), then the book
 * goes on from there, so one missing event shows as a difference at the next snapshot and names the
 * orders it touched. A clean capture reports zero differences.
 *
 * One case cannot be decided: event times have millisecond resolution and a snapshot's microsecond
 * one marks its last change, so events of the snapshot's own millisecond may be before or after it.
 * Orders those events touched are listed apart (`undecided`), not counted as differences.
 */
import { numberText } from "../base/exact-json.ts";
import { alignToSnapshot, DEFAULT_MARGIN_MICROS } from "../book/snapshot-alignment.ts";
import { eventMicros } from "../book/event-time.ts";
import type { OrderDifference, SnapshotDiff } from "../book/snapshot-diff.ts";
import type { GapEvent } from "../model/events.ts";
import type { HistorySource } from "./history-source.ts";

export interface SnapshotCheck {
  /** The snapshot compared (its microtimestamp) and the one the book started from. */
  snapshotMicros: number;
  startedFromMicros: number;
  eventsApplied: number;
  /** The differences, less those of {@link SnapshotCheck.undecided}. */
  diff: SnapshotDiff;
  /** Ids that differ but were touched by an event of the snapshot's own millisecond (file comment). */
  undecided: string[];
  /** Gaps between the two snapshots: a difference there has a known cause. */
  gaps: GapEvent[];
}

/** Compares every snapshot of `pair` in [from, to] after the first with the book rebuilt up to it. */
export async function checkSnapshots(source: HistorySource, pair: string, fromMicros: number, toMicros: number, marginMicros = DEFAULT_MARGIN_MICROS): Promise<SnapshotCheck[]> {
  const snapshots = await source.snapshotsBetween(pair, fromMicros, toMicros);
  if (snapshots.length < 2) return [];
  const first = snapshots[0]!;
  const start = alignToSnapshot(first.book, { marginMicros });
  start.book.reportAfterMicros = start.snapshotMicros;
  const book = start.book;
  const gaps = await source.gaps(pair, first.microtimestamp, snapshots.at(-1)!.microtimestamp);
  const checks: SnapshotCheck[] = [];
  let next = 1;
  let applied = 0;
  let startedFrom = first.microtimestamp;
  // Ids touched by the events applied in the latest millisecond.
  let touchedMs = Number.NaN;
  let touched = new Set<string>();
  const compare = () => {
    const snapshot = snapshots[next]!;
    const ambiguous = Math.floor(snapshot.microtimestamp / 1000) === touchedMs ? touched : new Set<string>();
    const full = book.diffAgainstSnapshot(snapshot.book);
    const decided = <T extends { id: string }>(list: readonly T[]) => list.filter((o) => !ambiguous.has(o.id));
    const missing = decided(full.missing);
    const extra = decided(full.extra);
    const different = decided<OrderDifference>(full.different);
    checks.push({
      snapshotMicros: snapshot.microtimestamp,
      startedFromMicros: startedFrom,
      eventsApplied: applied,
      diff: { count: missing.length + extra.length + different.length, missing, extra, different },
      undecided: [...full.missing, ...full.extra, ...full.different].map((o) => o.id).filter((id) => ambiguous.has(id)),
      gaps: gaps.filter((g) => g.endMicros >= startedFrom && g.startMicros <= snapshot.microtimestamp),
    });
    startedFrom = snapshot.microtimestamp;
    applied = 0;
    next++;
  };
  for await (const event of source.orderEvents(pair, start.applyFromMicros, snapshots.at(-1)!.microtimestamp)) {
    const micros = eventMicros(event.data);
    while (next < snapshots.length && micros > snapshots[next]!.microtimestamp) compare();
    book.apply(event);
    applied++;
    const ms = Math.floor(micros / 1000);
    if (ms !== touchedMs) {
      touchedMs = ms;
      touched = new Set();
    }
    touched.add(event.data.id_str ?? numberText(event.data.id));
  }
  while (next < snapshots.length) compare();
  return checks;
}
