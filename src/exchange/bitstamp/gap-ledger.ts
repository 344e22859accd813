/**
 * Which channel has had no subscribed connection since when. When a connection ends, each channel it
 * carried that no other connection carries is uncovered from its last frame (receive time, or its
 * exchange time if earlier); the gap closes when a new subscription to that channel is acknowledged
 * (or at `endAll()`), and is reported as a gap record's unit (src/model/gap-record.ts), reason
 * "stale", "dropped" or "closed".
 */
import type { MicrosClock } from "../../base/clock.ts";
import { exchangeMicrosOf, type FeedGap } from "../../model/gap-record.ts";
import type { Connection, EndReason } from "./connection.ts";

/** What the ledger reads of a connection. */
type Carrier = Pick<Connection, "subscribedAtMicros" | "lastFrameMicros" | "lastDataFrame">;

interface Uncovered {
  startMicros: number;
  reason: EndReason;
}

export class GapLedger {
  private readonly uncovered = new Map<string, Uncovered>();

  constructor(
    private readonly channels: readonly string[],
    private readonly clock: MicrosClock,
    private readonly report: (gap: FeedGap) => void,
  ) {}

  /**
   * Channels `gone` carried that `other` (the other live connection, if any) does not carry become
   * uncovered from its last frame: the earlier of that frame's receive time and the exchange time of
   * its last market event (frames the exchange wrote but we never read may be older than our receive
   * clock says).
   */
  uncover(gone: Carrier, other: Carrier | undefined, reason: EndReason): void {
    const startMicros = this.gapStartOf(gone);
    for (const channel of this.channels) {
      if (gone.subscribedAtMicros(channel) === undefined || this.uncovered.has(channel)) continue;
      if (other !== undefined && other.subscribedAtMicros(channel) !== undefined) continue;
      this.uncovered.set(channel, { startMicros, reason });
    }
  }

  /** A subscription to `channel` was acknowledged: its gap, if it had one, ends. */
  covered(channel: string, ackMicros: number): void {
    const gap = this.uncovered.get(channel);
    if (gap === undefined) return;
    this.uncovered.delete(channel);
    this.report({ channel, startMicros: gap.startMicros, endMicros: ackMicros, reason: gap.reason });
  }

  /**
   * `old` was closed without answering its last heartbeat: frames it sent between its last one
   * received and `replacement`'s subscriptions may never arrive.
   */
  undrained(old: Carrier, replacement: Carrier): void {
    const startMicros = this.gapStartOf(old);
    for (const channel of this.channels) {
      const endMicros = replacement.subscribedAtMicros(channel);
      if (endMicros !== undefined && endMicros > startMicros) this.report({ channel, startMicros, endMicros, reason: "stale" });
    }
  }

  /** The capture stops: every channel uncovered now gets its gap, ending at `nowMicros`. */
  endAll(nowMicros: number): void {
    for (const [channel, gap] of this.uncovered) this.report({ channel, startMicros: gap.startMicros, endMicros: nowMicros, reason: gap.reason });
    this.uncovered.clear();
  }

  private gapStartOf(gone: Carrier): number {
    const received = gone.lastFrameMicros() || this.clock();
    return Math.min(received, exchangeMicrosOf(gone.lastDataFrame()) ?? received);
  }
}
