/**
 * Puts order events read in receive order into exchange-time order (then receive time, then read
 * order), holding only a bounded window: an event is released once the receive clock has moved
 * `latenessMicros` past its exchange time, since no event arrives later than that after it happened.
 * Journals are in receive order, and Bitstamp's event times are close to, not exactly, in that order.
 */
import type { HistoryEvent } from "./history-source.ts";
import { MinHeap } from "../base/min-heap.ts";
import { eventMicros } from "../book/event-time.ts";

interface Held {
  micros: number;
  rx: number;
  seq: number;
  event: HistoryEvent;
}

/** Holds events by (exchange µs, receive µs, read order) until they are safe to release. */
export class EventOrder {
  private readonly heap = new MinHeap<Held>((a, b) => (a.micros !== b.micros ? a.micros < b.micros : a.rx !== b.rx ? a.rx < b.rx : a.seq < b.seq));
  private seq = 0;
  private lastReleased = Number.NEGATIVE_INFINITY;
  /** Events that came after an event of a later exchange time had already been released. */
  late = 0;

  constructor(private readonly latenessMicros: number) {}

  /** Holds `event`; returns the events now safe to release, in order. `onLate` gets an event that is already too late. */
  push(event: HistoryEvent, onLate?: (event: HistoryEvent) => void): HistoryEvent[] {
    const micros = eventMicros(event.data);
    if (micros < this.lastReleased) {
      this.late++;
      onLate?.(event);
      return [event];
    }
    this.heap.push({ micros, rx: event.rxMicros, seq: this.seq++, event });
    return this.releaseBefore(event.rxMicros - this.latenessMicros);
  }

  /** Everything held, in order (the end of the input). */
  flush(): HistoryEvent[] {
    return this.releaseBefore(Number.POSITIVE_INFINITY);
  }

  get size(): number {
    return this.heap.size;
  }

  private releaseBefore(limitMicros: number): HistoryEvent[] {
    const out: HistoryEvent[] = [];
    for (let top = this.heap.peek(); top !== undefined && top.micros < limitMicros; top = this.heap.peek()) {
      this.heap.pop();
      this.lastReleased = top.micros;
      out.push(top.event);
    }
    return out;
  }
}
