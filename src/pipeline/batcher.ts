/**
 * Groups items into BatchWriteItem batches: at most 25 distinct keys each (the API limit), the same
 * key at most once. Pure: no I/O and no timers. The caller drives the linger: it asks how old the open
 * batch is (`oldestAgeMs`) and calls `takeBatch()` when it has waited long enough.
 *
 * Why dedupe: BatchWriteItem rejects a whole batch that holds two requests for one key
 * ("Provided list of item keys contains duplicates", a ValidationException). The sort key is derived
 * from the event's content only, so the same key means the same event captured twice: keeping the
 * later copy loses nothing.
 */
import { itemKey } from "../store/dynamodb/item-identity.ts";
import type { Item } from "../store/dynamodb/item.ts";

/** BatchWriteItem takes at most 25 put or delete requests (DynamoDB API reference). */
export const MAX_BATCH_ITEMS = 25;

export interface BatcherOptions {
  /** Items per batch, 1..25. Default 25. */
  maxItems?: number;
  /** Clock in milliseconds, for the age of the open batch. Default `Date.now`. */
  nowMs?: () => number;
}

export class Batcher {
  private readonly maxItems: number;
  private readonly nowMs: () => number;
  /** Insertion-ordered; a replaced key keeps its first position. */
  private open = new Map<string, Item>();
  private openedAt: number | undefined;
  private dropped = 0;
  private emitted = 0;

  constructor(options: BatcherOptions = {}) {
    const maxItems = options.maxItems ?? MAX_BATCH_ITEMS;
    if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > MAX_BATCH_ITEMS) {
      throw new RangeError(`maxItems must be an integer from 1 to ${MAX_BATCH_ITEMS}, got ${maxItems}`);
    }
    this.maxItems = maxItems;
    this.nowMs = options.nowMs ?? Date.now;
  }

  /**
   * Adds one item. An item whose key is already in the open batch replaces the earlier one (counted in
   * `duplicatesDropped`). Returns the batch when it just reached `maxItems`, else `undefined`.
   */
  add(item: Item): Item[] | undefined {
    const key = itemKey(item);
    if (this.open.size === 0) this.openedAt = this.nowMs();
    if (this.open.has(key)) this.dropped++;
    this.open.set(key, item);
    return this.open.size >= this.maxItems ? this.takeBatch() : undefined;
  }

  /** Closes the open batch and returns it (the linger flush); `undefined` when nothing is open. */
  takeBatch(): Item[] | undefined {
    if (this.open.size === 0) return undefined;
    const batch = [...this.open.values()];
    this.open = new Map();
    this.openedAt = undefined;
    this.emitted++;
    return batch;
  }

  /** Returns the open batch if its first item has waited at least `lingerMs`, else `undefined`. */
  takeIfLingered(lingerMs: number, nowMs: number = this.nowMs()): Item[] | undefined {
    return this.open.size > 0 && this.oldestAgeMs(nowMs) >= lingerMs ? this.takeBatch() : undefined;
  }

  /** Distinct keys in the open batch. */
  get size(): number {
    return this.open.size;
  }

  /** When the open batch got its first item (clock of `nowMs`); `undefined` when nothing is open. */
  get openedAtMs(): number | undefined {
    return this.openedAt;
  }

  /** How long the open batch's first item has waited; 0 when nothing is open. */
  oldestAgeMs(nowMs: number = this.nowMs()): number {
    return this.openedAt === undefined ? 0 : Math.max(0, nowMs - this.openedAt);
  }

  /** Items replaced by a later item with the same key, since the start. */
  get duplicatesDropped(): number {
    return this.dropped;
  }

  /** Batches returned by `add` or `takeBatch`, since the start. */
  get batchesEmitted(): number {
    return this.emitted;
  }
}
