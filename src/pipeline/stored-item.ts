/**
 * What the writers store for one decoded frame: the single place that maps a {@link DecodeResult}
 * to DynamoDB items. Used by the journal uploader and by the `--no-journal` writer. Web standards only.
 *
 * - order and trade events -> `encodeItem`; gap frames -> `encodeGapItem`;
 * - a break of an event_id/pre_event_id chain (exact proof that events were missed) adds a gap item
 *   of reason "chain" beside the event (src/pipeline/chain-tracker.ts);
 * - everything else -> nothing (the caller counts it and moves its position over it).
 */
import type { DecodeResult } from "./decode.ts";
import { ChainTracker } from "./chain-tracker.ts";
import { encodeGapItem, encodeItem, type Item } from "../store/dynamodb/item-codec.ts";

/** The item to write for `result`, or undefined when the frame is not stored. Stateless. */
export function storedItemOf(result: DecodeResult, shards: number): Item | undefined {
  switch (result.kind) {
    case "event":
      return encodeItem(result.event, shards);
    case "gap":
      return encodeGapItem(result.gap);
    default:
      return undefined;
  }
}

/** {@link storedItemOf} plus the chain check across frames: keeps per-channel chain state. */
export class StoredItems {
  private readonly chains = new ChainTracker();
  /** Chain breaks found (each stored as a gap item). */
  chainGaps = 0;
  /** Events seen again within the chain window (an overlap of two connections, a replayed journal). */
  chainDuplicates = 0;

  constructor(private readonly shards: number) {}

  /** Items for `result`: none, one, or a chain gap followed by the event. */
  of(result: DecodeResult): Item[] {
    const item = storedItemOf(result, this.shards);
    if (item === undefined) return [];
    if (result.kind !== "event") return [item];
    const { event } = result;
    const verdict = this.chains.check(event.channel, event.eventId, event.preEventId, event.data.microtimestamp);
    if (verdict.kind === "duplicate") this.chainDuplicates++;
    if (verdict.kind !== "gap") return [item];
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
    return [gap, item];
  }
}
