/**
 * The REST order-book snapshot with order ids, `GET /api/v2/order_book/<pair>/?group=2`
 * (bitstamp-protocol.md §3): `{"timestamp","microtimestamp","bids":[[price,amount,order_id],...],"asks":[...]}`,
 * every value a string. Bids come best (highest) first, asks best (lowest) first; orders of one price
 * are in queue order. `microtimestamp` marks the book's last change, not the response time.
 *
 * All values are strings, so a plain `JSON.parse` is exact here (no number to lose digits).
 */
import * as v from "valibot";
import { OrderBookBodySchema, SnapshotRowSchema as BodyRowSchema } from "../model/order-book-snapshot.ts";

/**
 * One resting order: `[price, amount, order_id]` (later items kept). The capture's own schema
 * (model/order-book-snapshot.ts), so every snapshot the capture stores is one the book can load.
 */
export const SnapshotRowSchema = BodyRowSchema;
export type SnapshotRow = v.InferOutput<typeof SnapshotRowSchema>;

/** A group=2 body: `looseObject`, a field Bitstamp adds later passes through. */
export const OrderBookSnapshotSchema = OrderBookBodySchema;
export type OrderBookSnapshot = v.InferOutput<typeof OrderBookSnapshotSchema>;

export type SnapshotParseResult = { success: true; snapshot: OrderBookSnapshot } | { success: false; reason: string };

/** Checks a group=2 body, given as its JSON text or already parsed; the reason lists valibot's issues by path. */
export function parseOrderBookSnapshot(body: unknown): SnapshotParseResult {
  let value = body;
  if (typeof body === "string") {
    try {
      value = JSON.parse(body);
    } catch (err) {
      return { success: false, reason: `order book snapshot is not JSON: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
  const result = v.safeParse(OrderBookSnapshotSchema, value);
  if (!result.success) return { success: false, reason: `not a group=2 order book snapshot:\n${v.summarize(result.issues)}` };
  return { success: true, snapshot: result.output };
}

/** The snapshot's microtimestamp as a number (µs; 16 digits, exact in a double). */
export function snapshotMicros(snapshot: OrderBookSnapshot): number {
  return Number(snapshot.microtimestamp);
}
