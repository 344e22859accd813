/**
 * Merges the frames of two connections while one replaces the other (make-before-break), so that
 * downstream sees one stream: every frame once, each channel in exchange order.
 *
 *   old ──F1 F2 F3 F4 F5───────┐ (drained: heartbeat answered, then closed)
 *   new        ──F3 F4 F5 F6 F7┘ (subscribed meanwhile)
 *   out ──F1 F2 F3 F4 F5 F6 F7
 *
 * The old connection's frames pass at once. The new connection's frames are held until the old one
 * is finished, unless the old one already delivered the same text (then the copy is dropped);
 * held frames that the old one delivers later are dropped at that moment. When the old connection is
 * finished, the held frames it never delivered are passed on in arrival order, with their own receive
 * times: they are exactly the events after the old connection's last frame. Holding (rather than
 * passing both connections' frames as they come) keeps each channel's `pre_event_id` chain in order,
 * so a new connection running ahead of the old one never looks like a break.
 *
 * Only text frames are merged; cost is a Map lookup per frame, and only during an overlap.
 * Memory is bounded by the overlap: the supervisor ends it within `--stale-ms` of the new
 * connection's last acknowledgement.
 */
import type { DataHandler } from "./frame-receiver.ts";

interface HeldFrame {
  frame: string;
  rxMicros: number;
  dropped: boolean;
}

export class OverlapMerge {
  /** Old frames passed on and not yet matched by a new copy, by text (a count: texts may repeat). */
  private readonly seenOld = new Map<string, number>();
  private readonly held: HeldFrame[] = [];
  /** Indexes into `held` of new frames not yet matched, by text. */
  private readonly heldByText = new Map<string, number[]>();
  private finished = false;
  private dropped = 0;

  constructor(private readonly forward: DataHandler) {}

  /** Receiver for the old connection's data frames. */
  readonly fromOld: DataHandler = (frame, rxMicros) => {
    if (!this.finished) {
      const waiting = this.heldByText.get(frame);
      if (waiting !== undefined) {
        const index = waiting.shift() as number;
        if (waiting.length === 0) this.heldByText.delete(frame);
        (this.held[index] as HeldFrame).dropped = true;
        this.dropped++;
      } else {
        this.seenOld.set(frame, (this.seenOld.get(frame) ?? 0) + 1);
      }
    }
    this.forward(frame, rxMicros);
  };

  /** Receiver for the new connection's data frames. */
  readonly fromNew: DataHandler = (frame, rxMicros) => {
    if (this.finished) {
      this.forward(frame, rxMicros);
      return;
    }
    const seen = this.seenOld.get(frame);
    if (seen !== undefined) {
      if (seen === 1) this.seenOld.delete(frame);
      else this.seenOld.set(frame, seen - 1);
      this.dropped++;
      return;
    }
    const index = this.held.push({ frame, rxMicros, dropped: false }) - 1;
    const waiting = this.heldByText.get(frame);
    if (waiting === undefined) this.heldByText.set(frame, [index]);
    else waiting.push(index);
  };

  /** The old connection is finished: pass on what only the new one delivered. Later new frames pass straight. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const held of this.held) if (!held.dropped) this.forward(held.frame, held.rxMicros);
    this.clear();
  }

  /** The new connection failed: forget its frames (the old one delivers everything). */
  abandon(): void {
    if (this.finished) return;
    this.finished = true;
    this.clear();
  }

  /** Copies dropped because the other connection delivered the same frame. */
  get duplicatesDropped(): number {
    return this.dropped;
  }

  /** New frames waiting for the old connection to finish. */
  get heldFrames(): number {
    return this.held.length;
  }

  private clear(): void {
    this.held.length = 0;
    this.heldByText.clear();
    this.seenOld.clear();
  }
}
