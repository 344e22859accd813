/**
 * What the writers store for one decoded frame: the single place that maps a {@link DecodeResult}
 * to DynamoDB items. Used by the journal uploader, the `--no-journal` writer and replay. Web standards only.
 *
 * - order and trade events -> `encodeItem`; gap records -> `encodeGapItem`, one per channel; order
 *   book snapshot records -> `encodeSnapshotItems`, its chunk items (no coverage item: their day
 *   partitions are not hours);
 * - a break of an event_id/pre_event_id chain (exact proof that events were missed) adds a gap item
 *   of reason "chain" beside the event (src/pipeline/chain-tracker.ts);
 * - everything else -> nothing (the caller counts it and moves its position over it);
 * - the first frame of a (pair, stream, hour), or the first gap record of a (pair, stream), that this
 *   process stores also carries the coverage item of that partition (src/store/dynamodb/coverage.ts,
 *   coverage-tracker.ts), first in its list. The items of one frame are acknowledged together
 *   (uploader.ts), so no checkpoint passes a frame whose hour's coverage item is not in DynamoDB.
 *
 * {@link StoredItems.take} is the guarded form every pipeline uses: a frame that the decoder accepted
 * but that cannot become items DynamoDB takes (an encoder that throws on a hostile frame, a key or
 * item over DynamoDB's limits) comes back as `unstorable` with the reason, for the caller to
 * quarantine and count. One frame must never stop a capture, nor make every restart die on it again.
 */
import type { DecodeResult } from "../exchange/bitstamp/decode.ts";
import { ChainTracker } from "./chain-tracker.ts";
import { CoverageTracker } from "./coverage-tracker.ts";
import { coverageSortKeyOfPartition, encodeCoverageItem } from "../store/dynamodb/coverage.ts";
import { describeError } from "../base/errors.ts";
import { encodeItem } from "../store/dynamodb/event-item.ts";
import { encodeGapItem } from "../store/dynamodb/gap-item.ts";
import { encodeSnapshotItems } from "../store/dynamodb/snapshot-item.ts";
import type { Item } from "../store/dynamodb/item.ts";
import { itemProblem } from "../store/dynamodb/item-limits.ts";

/** The items to write for `result` (none when the frame is not stored). Stateless; may throw. */
export function storedItemsOf(result: DecodeResult, shards: number): Item[] {
  switch (result.kind) {
    case "event":
      return [encodeItem(result.event, shards)];
    case "gap":
      return result.gaps.map(encodeGapItem);
    case "snapshot":
      return encodeSnapshotItems(result.snapshot);
    default:
      return [];
  }
}

/** What {@link StoredItems.take} makes of one decoded frame. */
export type StoredOutcome =
  /** Items to write: none (not stored), or coverage items, then a chain gap, then the event (or the gap items). */
  | { kind: "items"; items: Item[] }
  /** Accepted by the decoder, but no item DynamoDB takes can hold it: quarantine it with `reason`. */
  | { kind: "unstorable"; reason: string };

/**
 * {@link storedItemsOf} plus what spans frames: the chain check (per-channel chain state) and, in
 * {@link take}, the coverage items of the partitions this process meets for the first time.
 */
export class StoredItems {
  private readonly chains = new ChainTracker();
  /** Chain breaks found (each stored as a gap item). */
  chainGaps = 0;
  /** Events seen again within the chain window (an overlap of two connections, a replayed journal). */
  chainDuplicates = 0;
  /** Coverage items attached to frames by {@link take}. */
  coverageItems = 0;
  private readonly coverage: CoverageTracker | undefined;
  /** The coverage key of the last item looked at: most items share it, a prefix check instead of a parse. */
  private lastCoverageKey = "";

  /**
   * `coverage`: the tracker of the coverage items already attached (default: a new one of
   * DEFAULT_COVERAGE_KEYS); `false` attaches none (for measuring the mapping alone).
   */
  constructor(private readonly shards: number, coverage: CoverageTracker | false = new CoverageTracker()) {
    this.coverage = coverage === false ? undefined : coverage;
  }

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

  /**
   * {@link of}, guarded: never throws, and every item returned passes DynamoDB's limits. A frame that
   * is stored also gets the coverage items of the partitions its items open for this process, first
   * in the list (the event stays last); an unstorable one gets none and marks nothing, so the next
   * frame of its hour carries them.
   */
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
    return { kind: "items", items: this.coverage === undefined || items.length === 0 ? items : this.withCoverage(items, this.coverage) };
  }

  /** `items` preceded by the coverage items of their partitions not yet attached by this process. */
  private withCoverage(items: Item[], tracker: CoverageTracker): Item[] {
    let added: Item[] | undefined;
    for (const item of items) {
      const pk = item.pk?.S ?? "";
      const last = this.lastCoverageKey;
      // Same partition group as the last item: already attached. (The last key is always in the
      // tracker: only a new key evicts one, and a new key becomes the last key.)
      if (last !== "" && pk.startsWith(last) && (pk.length === last.length || pk.charCodeAt(last.length) === 35 /* # */)) continue;
      const key = coverageSortKeyOfPartition(pk);
      if (key === undefined) continue;
      this.lastCoverageKey = key;
      if (tracker.firstTime(key)) (added ??= []).push(encodeCoverageItem(key));
    }
    if (added === undefined) return items;
    this.coverageItems += added.length;
    return [...added, ...items];
  }
}
