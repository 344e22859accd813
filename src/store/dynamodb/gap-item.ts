/**
 * The item of a gap record, and how to tell one from an event item (its own partition, keys.ts);
 * item-decoder.ts turns one back into its `obcap:gap` frame.
 */
import { GAP_EVENT } from "../../model/gap-record.ts";
import type { GapEvent } from "../../model/events.ts";
import type { Item } from "./item.ts";
import { GAP_ATTRIBUTES } from "./item-fields.ts";
import { gapKeys, parseGapPartitionKey } from "./keys.ts";

/**
 * Builds the item of a gap record (docs/data-model.md, "Gap items"): pk `<pair>#<stream>#gaps`,
 * sk `<start µs16>#<end µs16>#<reason>`, and `rx`, `ev` ("obcap:gap"), `gs`, `ge` (N, µs), `gr` (S).
 * The writer calls this for `decodeFrame` results of kind "gap" (no shard: gaps have one partition).
 */
export function encodeGapItem(gap: GapEvent): Item {
  const { pk, sk } = gapKeys(gap);
  return {
    pk: { S: pk },
    sk: { S: sk },
    rx: { N: String(Math.trunc(gap.rxMicros)) },
    ev: { S: GAP_EVENT },
    [GAP_ATTRIBUTES.start]: { N: String(Math.trunc(gap.startMicros)) },
    [GAP_ATTRIBUTES.end]: { N: String(Math.trunc(gap.endMicros)) },
    [GAP_ATTRIBUTES.reason]: { S: gap.reason },
  };
}

/** True for an item written by {@link encodeGapItem}. */
export function isGapItem(item: Item): boolean {
  return parseGapPartitionKey(item.pk?.S ?? "") !== undefined;
}
