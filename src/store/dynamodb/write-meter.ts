/**
 * Write units the way DynamoDB bills them ("Capacity unit consumption for write operations", Amazon
 * DynamoDB Developer Guide, read-write-operations.html): per request, each item written is rounded up
 * to the next 1 KB; a write that replaces an item is billed on the larger of the item before and
 * after; a conditional write whose condition fails is billed the same way; a delete on the size of
 * the item deleted. Writers report every write DynamoDB acknowledged, retries included (a retry after
 * a lost answer writes again); items returned in UnprocessedItems and throttled requests are not
 * written and not billed. A request whose answer never came (a network error) may or may not have been
 * written: it is counted apart (`unknownItems`), never guessed into the total.
 */
export const WRITE_UNIT_BYTES = 1024;

export interface WriteMeterStats {
  /** Write units billed. */
  writeUnits: number;
  /** Item writes billed (puts, replacements, failed conditions and deletes). */
  itemWrites: number;
  /** Items in requests that failed without an answer (network): maybe written, not in `writeUnits`. */
  unknownItems: number;
}

export class WriteMeter {
  private readonly counts: WriteMeterStats = { writeUnits: 0, itemWrites: 0, unknownItems: 0 };

  /** One item written (or refused by its condition): `bytes` its size, `beforeBytes` the item it replaced, if any. */
  bill(bytes: number, beforeBytes = 0): void {
    this.counts.writeUnits += Math.max(1, Math.ceil(Math.max(bytes, beforeBytes) / WRITE_UNIT_BYTES));
    this.counts.itemWrites++;
  }

  /** Items of a request whose answer never came. */
  unknown(items: number): void {
    this.counts.unknownItems += items;
  }

  stats(): WriteMeterStats {
    return { ...this.counts };
  }
}
