/**
 * What the book noticed instead of hiding it: events about orders it does not know, events it could
 * not apply, and crossed books. Counts are complete; id lists keep the first few (bounded, so a
 * stream full of problems cannot grow memory).
 */

/** Ids kept per list unless the book is told otherwise. */
export const DEFAULT_MAX_REPORTED_IDS = 100;

/** A count, and the first ids counted (at most the book's `maxReportedIds`). */
export interface IdTally {
  readonly count: number;
  readonly ids: readonly string[];
}

/** An event the book refused, and why (a negative or malformed decimal, an unknown order_type). */
export interface RejectedEvent {
  readonly id: string;
  readonly reason: string;
}

/** A copy of the book's report at one moment. */
export interface BookReport {
  /** Order events given to the book (applied, ignored or rejected). */
  readonly events: number;
  /** `order_changed` for an order the book did not have (inserted with the event's state), after `reportAfterMicros`. */
  readonly unknownChanged: IdTally;
  /** `order_deleted` for an order the book did not have (nothing to do), after `reportAfterMicros`. */
  readonly unknownDeleted: IdTally;
  /** Events not applied at all. Counted whatever their time. */
  readonly rejected: { readonly count: number; readonly samples: readonly RejectedEvent[] };
  /** Best bid >= best ask now. */
  readonly crossed: boolean;
  /** How many times the book went from not crossed to crossed, checked after each microtimestamp's events (one matching step) after `reportAfterMicros`. */
  readonly crossedTimes: number;
}

/** The book's mutable counters behind {@link BookReport}. */
export class BookReporter {
  events = 0;
  crossed = false;
  crossedTimes = 0;
  private unknownChangedCount = 0;
  private unknownDeletedCount = 0;
  private rejectedCount = 0;
  private readonly unknownChangedIds: string[] = [];
  private readonly unknownDeletedIds: string[] = [];
  private readonly rejectedSamples: RejectedEvent[] = [];

  constructor(private readonly maxIds: number) {}

  unknownChanged(id: string): void {
    this.unknownChangedCount++;
    if (this.unknownChangedIds.length < this.maxIds) this.unknownChangedIds.push(id);
  }

  unknownDeleted(id: string): void {
    this.unknownDeletedCount++;
    if (this.unknownDeletedIds.length < this.maxIds) this.unknownDeletedIds.push(id);
  }

  rejected(id: string, reason: string): void {
    this.rejectedCount++;
    if (this.rejectedSamples.length < this.maxIds) this.rejectedSamples.push({ id, reason });
  }

  /** A copy that later events do not change. */
  report(): BookReport {
    return {
      events: this.events,
      unknownChanged: { count: this.unknownChangedCount, ids: [...this.unknownChangedIds] },
      unknownDeleted: { count: this.unknownDeletedCount, ids: [...this.unknownDeletedIds] },
      rejected: { count: this.rejectedCount, samples: [...this.rejectedSamples] },
      crossed: this.crossed,
      crossedTimes: this.crossedTimes,
    };
  }
}
