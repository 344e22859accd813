/**
 * The self-check: which orders differ between the book and a group=2 snapshot. The capture runs it
 * whenever a fresh snapshot arrives; a book kept by events alone that disagrees with the exchange's
 * own list is a fact to report (missed events, a wrong rule), never to paper over.
 *
 * Orders are compared by value: side, price and remaining amount (`"58356.1"` equals `"58356.10"`).
 * Queue order is not compared. Rows with a zero amount count as absent (the book drops such orders).
 * Compare a book that has applied exactly the events up to the snapshot's microtimestamp; orders
 * touched by events within the alignment margin of it may differ for timing reasons (docs/book.md),
 * and each entry carries the book's `timeMicros` so a caller can tell.
 */
import { compareDecimal, parseDecimal, parsedDecimalSlot } from "./decimal.ts";
import type { L3Book, OrderView } from "./l3-book.ts";
import type { Side } from "./price-level.ts";
import type { OrderBookSnapshot } from "./snapshot-schema.ts";

/** One row of a snapshot, by name. */
export interface SnapshotOrder {
  readonly id: string;
  readonly side: Side;
  readonly price: string;
  readonly amount: string;
}

/** An order both hold, with different state. */
export interface OrderDifference {
  readonly id: string;
  readonly fields: readonly ("side" | "price" | "amount")[];
  readonly book: OrderView;
  readonly snapshot: SnapshotOrder;
}

export interface SnapshotDiff {
  /** missing + extra + different. */
  readonly count: number;
  /** In the snapshot, not in the book (snapshot order: bids, then asks). */
  readonly missing: readonly SnapshotOrder[];
  /** In the book, not in the snapshot (sorted by id). */
  readonly extra: readonly OrderView[];
  /** In both, with another side, price or amount (snapshot order). */
  readonly different: readonly OrderDifference[];
}

/** The snapshot's orders by id (a repeated id: the last row wins, as loading does), zero amounts left out. */
export function snapshotOrders(snapshot: OrderBookSnapshot): Map<string, SnapshotOrder> {
  const orders = new Map<string, SnapshotOrder>();
  const slot = parsedDecimalSlot();
  for (const [side, rows] of [["bid", snapshot.bids], ["ask", snapshot.asks]] as const) {
    for (const [price, amount, id] of rows) {
      if (parseDecimal(amount, slot) && slot.value === 0) orders.delete(id);
      else orders.set(id, { id, side, price, amount });
    }
  }
  return orders;
}

/** See the file comment. */
export function diffBookAgainstSnapshot(book: L3Book, snapshot: OrderBookSnapshot): SnapshotDiff {
  const wanted = snapshotOrders(snapshot);
  const missing: SnapshotOrder[] = [];
  const different: OrderDifference[] = [];
  for (const row of wanted.values()) {
    const held = book.order(row.id);
    if (held === undefined) {
      missing.push(row);
      continue;
    }
    const fields: ("side" | "price" | "amount")[] = [];
    if (held.side !== row.side) fields.push("side");
    if (!sameDecimal(held.price, row.price)) fields.push("price");
    if (!sameDecimal(held.amount, row.amount)) fields.push("amount");
    if (fields.length > 0) different.push({ id: row.id, fields, book: held, snapshot: row });
  }
  const extra: OrderView[] = [];
  for (const order of book.allOrders()) if (!wanted.has(order.id)) extra.push(order);
  extra.sort((a, b) => a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { count: missing.length + extra.length + different.length, missing, extra, different };
}

const LEFT = parsedDecimalSlot();
const RIGHT = parsedDecimalSlot();

/** Equal values; texts that are not decimals compare as texts. */
function sameDecimal(a: string, b: string): boolean {
  if (a === b) return true;
  if (!parseDecimal(a, LEFT) || !parseDecimal(b, RIGHT)) return false;
  return compareDecimal(LEFT.value, RIGHT.value) === 0;
}
