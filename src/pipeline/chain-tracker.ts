/**
 * Follows the `event_id` / `pre_event_id` chain of every channel. Bitstamp links each 2026+
 * `live_orders` event to the previous event of its channel (bitstamp-protocol.md §2.1: thousands of
 * consecutive events chain with no break), so a `pre_event_id` that obcap has not seen is exact proof
 * that events were missed: the writer records it as a gap of reason "chain".
 *
 * Per channel the tracker keeps the last event (id and microtimestamp) and a bounded window of recent
 * ids, which also recognises an event seen twice (an overlap of two connections, a journal replay).
 * Pure and synchronous: no clock, no I/O. Frames without `event_id` are not checked.
 */

/** Recent ids kept per channel by default: a few seconds of a busy book (btcusd peaks near 2,000 events/s). */
export const DEFAULT_RECENT_IDS = 4096;

export type ChainVerdict =
  /** Chains to the last event (or to a recent one, or starts the channel's chain), or has no event_id. */
  | { kind: "ok" }
  /** Its event_id was seen recently: the same event again (overlap, replay). Store nothing new. */
  | { kind: "duplicate" }
  /**
   * Its pre_event_id is neither the last event_id nor a recent one: events between the last event
   * (`startMicros`, its microtimestamp) and this one (`endMicros`) were missed.
   */
  | { kind: "gap"; startMicros: number; endMicros: number; reason: "chain"; missingEventId: string };

export interface ChainTrackerOptions {
  /** Ids remembered per channel (oldest forgotten first). Default {@link DEFAULT_RECENT_IDS}. */
  recentIds?: number;
}

/** A fixed-size FIFO of ids with O(1) membership. */
class RecentIds {
  private readonly ring: (string | undefined)[];
  private readonly members = new Set<string>();
  private next = 0;

  constructor(capacity: number) {
    this.ring = new Array<string | undefined>(capacity);
  }

  has(id: string): boolean {
    return this.members.has(id);
  }

  /** Adds `id`; false when it was already there. One hash lookup on the common path (hot: every event). */
  add(id: string): boolean {
    const before = this.members.size;
    this.members.add(id);
    if (this.members.size === before) return false;
    const evicted = this.ring[this.next];
    if (evicted !== undefined) this.members.delete(evicted);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.ring.length;
    return true;
  }

  get size(): number {
    return this.members.size;
  }
}

interface ChannelChain {
  lastEventId: string;
  lastMicros: number;
  recent: RecentIds;
}

/** Chain state of every channel seen. */
export class ChainTracker {
  private readonly chains = new Map<string, ChannelChain>();
  private readonly recentIds: number;

  constructor(options: ChainTrackerOptions = {}) {
    const recentIds = options.recentIds ?? DEFAULT_RECENT_IDS;
    if (!Number.isInteger(recentIds) || recentIds < 1) throw new RangeError(`recentIds must be a positive integer, got ${recentIds}`);
    this.recentIds = recentIds;
  }

  /**
   * Checks one event of `channel`. `microtimestamp` is the event's exchange time in µs (Bitstamp's
   * string or a number). An event without `eventId` is "ok" and leaves the state alone; one without
   * `preEventId` starts a new chain.
   */
  check(channel: string, eventId: string | undefined, preEventId: string | undefined, microtimestamp: string | number): ChainVerdict {
    if (eventId === undefined) return OK;
    const micros = Number(microtimestamp);
    const chain = this.chains.get(channel);
    if (chain === undefined) {
      const recent = new RecentIds(this.recentIds);
      recent.add(eventId);
      this.chains.set(channel, { lastEventId: eventId, lastMicros: micros, recent });
      return OK;
    }
    if (!chain.recent.add(eventId)) return DUPLICATE;

    let verdict: ChainVerdict = OK;
    if (preEventId !== undefined && preEventId !== chain.lastEventId && !chain.recent.has(preEventId)) {
      verdict = { kind: "gap", startMicros: chain.lastMicros, endMicros: Math.max(micros, chain.lastMicros), reason: "chain", missingEventId: preEventId };
    }
    // An older event arriving late (it chains to a recent id) must not move the chain's head back.
    if (!(micros < chain.lastMicros)) {
      chain.lastEventId = eventId;
      chain.lastMicros = micros;
    }
    return verdict;
  }

  /** Channels tracked. */
  get channels(): number {
    return this.chains.size;
  }

  /** Ids remembered for `channel` (at most `recentIds`). */
  rememberedIds(channel: string): number {
    return this.chains.get(channel)?.recent.size ?? 0;
  }
}

const OK: ChainVerdict = Object.freeze({ kind: "ok" });
const DUPLICATE: ChainVerdict = Object.freeze({ kind: "duplicate" });
