/**
 * What the writers store for one decoded frame: the single place that maps a {@link DecodeResult}
 * to DynamoDB items. Used by the journal uploader, the `--no-journal` writer and replay. Web standards only.
 *
 * - order and trade events -> `encodeItem`; gap records -> `encodeGapItem`, one per channel;
 * - a break of an event_id/pre_event_id chain (exact proof that events were missed) adds a gap item
 *   of reason "chain" beside the event (src/pipeline/chain-tracker.ts);
 * - everything else -> nothing (the caller counts it and moves its position over it).
 *
 * {@link StoredItems.take} is the guarded form every pipeline uses: a frame that the decoder accepted
 * but that cannot become items DynamoDB takes (an encoder that throws on a hostile frame, a key or
 * item over DynamoDB's limits) comes back as `unstorable` with the reason, for the caller to
 * quarantine and count. One frame must never stop a capture, nor make every restart die on it again.
 */
import type { DecodeResult } from "../exchange/bitstamp/decode.ts";
import { ChainTracker } from "./chain-tracker.ts";
import { describeError } from "../base/errors.ts";
import { encodeItem } from "../store/dynamodb/event-item.ts";
import { encodeGapItem } from "../store/dynamodb/gap-item.ts";
import type { Item } from "../store/dynamodb/item.ts";
import { itemProblem } from "../store/dynamodb/item-limits.ts";

/** The items to write for `result` (none when the frame is not stored). Stateless; may throw. */
export function storedItemsOf(result: DecodeResult, shards: number): Item[] {
  switch (result.kind) {
    case "event":
      return [encodeItem(result.event, shards)];
    case "gap":
      return result.gaps.map(encodeGapItem);
    default:
      return [];
  }
}

/** What {@link StoredItems.take} makes of one decoded frame. */
export type StoredOutcome =
  /** Items to write: none (not stored), one, or a chain gap followed by the event. */
  | { kind: "items"; items: Item[] }
  /** Accepted by the decoder, but no item DynamoDB takes can hold it: quarantine it with `reason`. */
  | { kind: "unstorable"; reason: string };

/** {@link storedItemsOf} plus the chain check across frames: keeps per-channel chain state. */
export class StoredItems {
  private readonly chains = new ChainTracker();
  /** Chain breaks found (each stored as a gap item). */
  chainGaps = 0;
  /** Events seen again within the chain window (an overlap of two connections, a replayed journal). */
  chainDuplicates = 0;

  constructor(private readonly shards: number) {}

  /** Items for `result`: none, one per gap, or a chain gap followed by the event. May throw. */
  of(result: DecodeResult): Item[] {
    const items = storedItemsOf(result, this.shards);
    if (result.kind !== "event" || items.length === 0) return items;
    const { event } = result;
    const verdict = this.chains.check(event.channel, event.eventId, event.preEventId, event.data.microtimestamp);
    if (verdict.kind === "duplicate") this.chainDuplicates++;
    if (verdict.kind !== "gap") return items;
    this.chainGaps++;
    const gap = encodeGapItem({
      pair: event.pair,
      stream: event.stream,
      channel: event.channel,
      startMicros: verdict.startMicros,
      endMicros: verdict.endMicros,
      reason: verdict.reason,
      rxMicros: event.rxMicros,
    });
    return [gap, ...items];
  }

  /** {@link of}, guarded: never throws, and every item returned passes DynamoDB's limits. */
  take(result: DecodeResult): StoredOutcome {
    let items: Item[];
    try {
      items = this.of(result);
    } catch (err) {
      return { kind: "unstorable", reason: `the frame cannot be turned into an item (${describeError(err)})` };
    }
    for (const item of items) {
      const problem = itemProblem(item);
      if (problem !== undefined) return { kind: "unstorable", reason: problem };
    }
    return { kind: "items", items };
  }
}
