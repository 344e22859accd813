/**
 * A book loaded from a group=2 snapshot: its rows in the order given, so each level's queue is the
 * snapshot's order for that price. Every loaded order gets the snapshot's microtimestamp as its time,
 * and the book counts reports only for events after it (docs/book.md, alignment).
 */
import { L3Book, type BookOptions } from "./l3-book.ts";
import { snapshotMicros, type OrderBookSnapshot } from "./snapshot-schema.ts";

/** A new book holding exactly the snapshot's orders; `reportAfterMicros` is the snapshot's microtimestamp. */
export function bookFromSnapshot(snapshot: OrderBookSnapshot, options: BookOptions = {}): L3Book {
  const book = new L3Book(options);
  const micros = snapshotMicros(snapshot);
  book.reportAfterMicros = micros;
  for (const [price, amount, id] of snapshot.bids) book.upsertOrder(id, "bid", price, amount, micros);
  for (const [price, amount, id] of snapshot.asks) book.upsertOrder(id, "ask", price, amount, micros);
  return book;
}
