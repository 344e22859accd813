/**
 * The capture's self-check: per pair, a book kept from the order events it stores, compared with every
 * fresh order book snapshot the capture fetches (docs/book.md). A clean capture differs by nothing; a
 * missed event shows as the orders it touched, named and counted (metrics), never papered over.
 *
 * Frames come in receive order and a snapshot's record arrives after the events that followed its
 * microtimestamp S (the REST round trip). So events are held back for `lagMicros` of receive time
 * before the book applies them: when the record of S comes, the book is still before S, the held
 * events up to S are applied, and the book is compared with the snapshot. A record that comes later
 * than that (slow fetch, retries) can neither be compared nor started from: counted as `late`, the
 * book goes on. The first snapshot of a pair, and the first after a gap, starts the book (`anchored`).
 *
 * One case cannot be decided: events have millisecond times and S marks the book's last change to the
 * microsecond, so events of S's own millisecond may be on either side of it; orders they touched are
 * not counted as differences (`undecided`). Pure: no clock, no I/O.
 */
import { numberText } from "../base/exact-json.ts";
import { MinHeap } from "../base/min-heap.ts";
import { eventMicros } from "../book/event-time.ts";
import { L3Book } from "../book/l3-book.ts";
import { bookFromSnapshot } from "../book/snapshot-book.ts";
import type { SnapshotDiff } from "../book/snapshot-diff.ts";
import type { OrderBookSnapshot } from "../book/snapshot-schema.ts";
import type { OrderData, OrderEventName } from "../model/schemas.ts";

/** Receive time an event is held back before the book applies it. Bitstamp's REST book trails its feed by 0.2-2 s. */
export const DEFAULT_LAG_MICROS = 5_000_000;
/** Ids named per check in a report (the counts are complete). */
const MAX_IDS = 20;

export interface BookEventIn {
  pair: string;
  event: OrderEventName;
  data: OrderData;
  rxMicros: number;
}

export type SelfCheckOutcome =
  /** The book starts from this snapshot (the pair's first, or the first after a gap or a late one). */
  | { kind: "anchored"; pair: string; snapshotMicros: number }
  /** The record came after the book had passed S: not comparable, not a start; the book goes on. */
  | { kind: "late"; pair: string; snapshotMicros: number; bookMicros: number }
  /** Compared: `differences` orders differ (missing + extra + different), the first ids named. */
  | { kind: "checked"; pair: string; snapshotMicros: number; differences: number; missing: string[]; extra: string[]; different: string[]; undecided: number; eventsSince: number };

interface Held {
  micros: number;
  rx: number;
  seq: number;
  event: BookEventIn;
}

class PairCheck {
  book: L3Book | undefined;
  /** Exchange time of the last event the book applied. */
  appliedMicros = Number.NEGATIVE_INFINITY;
  eventsSince = 0;
  readonly heap = new MinHeap<Held>(less);
  touchedMs = Number.NaN;
  touched = new Set<string>();
}

export class BookSelfCheck {
  private readonly pairs = new Map<string, PairCheck>();
  private seq = 0;
  private maxRx = Number.NEGATIVE_INFINITY;

  constructor(private readonly lagMicros = DEFAULT_LAG_MICROS) {}

  /** An order event as stored (receive order). */
  onEvent(event: BookEventIn): void {
    const p = this.pairOf(event.pair);
    this.maxRx = Math.max(this.maxRx, event.rxMicros);
    p.heap.push({ micros: eventMicros(event.data), rx: event.rxMicros, seq: this.seq++, event });
    this.release(p, this.maxRx - this.lagMicros);
  }

  /** Events of `pair` may be missing from here on (a gap record): the book waits for the next snapshot. */
  onGap(pair: string): void {
    const p = this.pairOf(pair);
    p.book = undefined;
  }

  /** A fresh snapshot of `pair` (its record's receive time `rxMicros`): compare, or start from it. */
  onSnapshot(pair: string, snapshot: OrderBookSnapshot, rxMicros: number): SelfCheckOutcome {
    const p = this.pairOf(pair);
    this.maxRx = Math.max(this.maxRx, rxMicros);
    const s = Number(snapshot.microtimestamp);
    const anchor = (): SelfCheckOutcome => {
      p.book = bookFromSnapshot(snapshot);
      p.book.reportAfterMicros = s;
      p.eventsSince = 0;
      // Held events up to S are in the snapshot already (their state is its state: applying them changes nothing).
      this.release(p, s + 1);
      return { kind: "anchored", pair, snapshotMicros: s };
    };
    // Events after S are already applied (or, before an anchor, passed by): this snapshot can neither
    // be compared nor started from; the book goes on as it is.
    if (p.appliedMicros > s) return { kind: "late", pair, snapshotMicros: s, bookMicros: p.appliedMicros };
    if (p.book === undefined) return anchor();
    this.release(p, s + 1);
    const diff: SnapshotDiff = p.book.diffAgainstSnapshot(snapshot);
    const undecided = Math.floor(s / 1000) === p.touchedMs ? p.touched : new Set<string>();
    const decided = <T extends { id: string }>(list: readonly T[]) => list.filter((o) => !undecided.has(o.id)).map((o) => o.id);
    const missing = decided(diff.missing);
    const extra = decided(diff.extra);
    const different = decided(diff.different);
    const differences = missing.length + extra.length + different.length;
    const outcome: SelfCheckOutcome = {
      kind: "checked",
      pair,
      snapshotMicros: s,
      differences,
      missing: missing.slice(0, MAX_IDS),
      extra: extra.slice(0, MAX_IDS),
      different: different.slice(0, MAX_IDS),
      undecided: diff.count - differences,
      eventsSince: p.eventsSince,
    };
    p.eventsSince = 0;
    // A book that differs starts again from the exchange's own list, so one missed event is reported once.
    if (differences > 0) anchor();
    return outcome;
  }

  /** Events held back, all pairs (memory: about lagMicros of the feed). */
  get held(): number {
    let n = 0;
    for (const p of this.pairs.values()) n += p.heap.size;
    return n;
  }

  private pairOf(pair: string): PairCheck {
    let p = this.pairs.get(pair);
    if (p === undefined) this.pairs.set(pair, (p = new PairCheck()));
    return p;
  }

  /** Applies the held events of exchange time below `beforeMicros`, in (exchange time, receive time) order. */
  private release(p: PairCheck, beforeMicros: number): void {
    for (let top = p.heap.peek(); top !== undefined && top.micros < beforeMicros; top = p.heap.peek()) {
      const { micros, event } = p.heap.pop()!;
      p.appliedMicros = Math.max(p.appliedMicros, micros);
      if (p.book === undefined) continue;
      p.book.applyOrderData(event.event, event.data);
      p.eventsSince++;
      const ms = Math.floor(micros / 1000);
      if (ms !== p.touchedMs) {
        p.touchedMs = ms;
        p.touched = new Set();
      }
      p.touched.add(event.data.id_str ?? numberText(event.data.id));
    }
  }
}

function less(a: Held, b: Held): boolean {
  return a.micros !== b.micros ? a.micros < b.micros : a.rx !== b.rx ? a.rx < b.rx : a.seq < b.seq;
}
