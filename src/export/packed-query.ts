/**
 * Reading either layout through the one QueryFn every reader uses (export, book, the API): a packed
 * partition (`<pair>#<stream>#<hour>#p`, store/packed/packed-window.ts) is read as if it were one
 * partition of event items. Its windows are read in sort-key order, each head with the overflow
 * chunks of its digest (other chunks are left over from merges: ignored), unpacked, and the event
 * items in [lo, hi] handed on in (sk, pk) order: the order merge.ts gives the shards of the event
 * layout, so both layouts export the same lines.
 *
 * A page ends after a whole window: when DynamoDB's page ends inside one (a head whose chunks come on
 * the next page), the next pages are read before the window is handed on. A head whose chunks are
 * not all there (a merge replaced them between two reads) is read again alone; a window still
 * incomplete or damaged is an E_BAD_ITEMS error naming it, never a silent loss.
 */
import { obcapError } from "../base/errors.ts";
import type { Stream } from "../model/channels.ts";
import type { Item } from "../store/dynamodb/item.ts";
import { partitionKeysOfHour, sortKeyMicros } from "../store/dynamodb/keys.ts";
import { PACKED_KEY_PART, packedPartitionKey, storedWindows, unpackWindow, windowStartOf, type StoredWindow } from "../store/packed/packed-window.ts";
import type { QueryFn, QueryPage, StartKey } from "./partition-query.ts";

/** How a table's events are partitioned: `packMs` set means the packed layout. */
export interface EventPartitions {
  shards: number;
  packMs?: number | undefined;
}

/** The partition keys that hold the events of one pair, stream and hour. */
export function partitionKeysToRead(layout: EventPartitions, pair: string, stream: Stream, hour: string): string[] {
  return layout.packMs === undefined ? partitionKeysOfHour(pair, stream, hour, layout.shards) : [packedPartitionKey(pair, stream, hour)];
}

/** Raw packed items per Query page: a few windows (each up to 400 KB; DynamoDB stops a page at 1 MB anyway). */
const RAW_PAGE_ITEMS = 64;
const PACKED_SUFFIX = `#${PACKED_KEY_PART}`;

/** `inner` for the event layout; for the packed layout, a QueryFn that reads packed partitions as event items. */
export function layoutQueryFn(inner: QueryFn, layout: EventPartitions): QueryFn {
  const { packMs } = layout;
  if (packMs === undefined) return inner;
  return async (pk, lo, hi, startKey): Promise<QueryPage> => {
    if (!pk.endsWith(PACKED_SUFFIX)) return inner(pk, lo, hi, startKey);
    // Windows that start at or before lo's microtimestamp may hold events from lo on.
    const rawLo = sortKeyMicros(windowStartOf(Number(lo.slice(0, 16)), packMs));
    const raw: Item[] = [];
    let next: StartKey | undefined = startKey;
    let first = true;
    // Whole windows only: read on while the last head's chunks may continue on the next page.
    while (first || (next !== undefined && lastWindowOpen(raw))) {
      first = false;
      const page = await inner(pk, rawLo, hi, next, undefined, RAW_PAGE_ITEMS);
      for (const item of page.items) raw.push(item);
      next = page.lastKey;
    }
    const items: Item[] = [];
    for (const window of storedWindows(raw)) {
      const events = await eventsOf(window, pk, inner);
      for (const event of events) {
        const sk = event.sk?.S ?? "";
        if (sk >= lo && sk <= hi) items.push(event);
      }
    }
    return { items, lastKey: next };
  };
}

/** The last head read has fewer chunks than it names (they may be on the next page). */
function lastWindowOpen(raw: readonly Item[]): boolean {
  const windows = storedWindows(raw);
  const last = windows.at(-1);
  if (last === undefined) return false;
  const named = Number(last.head.ck?.N ?? "1");
  return last.chunks.length < named - 1;
}

async function eventsOf(window: StoredWindow, pk: string, inner: QueryFn): Promise<Item[]> {
  const sk = window.head.sk?.S ?? "";
  let problem: string | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return unpackWindow(window.head, window.chunks);
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
    // Read the window alone again: a merge may have replaced it between two pages.
    const again: Item[] = [];
    let next: StartKey | undefined;
    do {
      const page = await inner(pk, sk, `${sk}~`, next);
      for (const item of page.items) again.push(item);
      next = page.lastKey;
    } while (next !== undefined);
    const fresh = storedWindows(again)[0];
    if (fresh === undefined) return []; // deleted meanwhile (a migration's cleanup): nothing to read
    window = fresh;
  }
  throw obcapError("E_BAD_ITEMS", `packed window ${pk} / ${sk} cannot be read: ${problem}; export the rest with --from/--to around it, and report it`);
}
