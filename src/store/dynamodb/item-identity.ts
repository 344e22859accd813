/**
 * What makes two DynamoDB items "the same item": their primary key (`pk` + `sk`). Shared by the
 * batcher (dedupe inside a batch) and the batch writer (duplicate check, error messages).
 */
import { obcapError } from "../../base/errors.ts";
import type { Item } from "./item.ts";

/**
 * The item's primary key as one string, `pk + "\u0000" + sk` (NUL cannot appear in our keys, so two
 * different keys never join to the same string). Throws E_INTERNAL if `pk` or `sk` is not a string
 * attribute: the codec always sets both, so that is a bug.
 */
export function itemKey(item: Item): string {
  const pk = item.pk?.S;
  const sk = item.sk?.S;
  if (pk === undefined || sk === undefined) {
    throw obcapError("E_INTERNAL", `item without string pk/sk attributes (attributes: ${Object.keys(item).join(", ")})`);
  }
  return `${pk}\u0000${sk}`;
}

/** The key for messages: `pk=btcusd#orders#2026112707#3 sk=...`. Never throws. */
export function describeItemKey(item: Item | undefined): string {
  if (!item) return "(no item)";
  return `pk=${item.pk?.S ?? "?"} sk=${item.sk?.S ?? "?"}`;
}
