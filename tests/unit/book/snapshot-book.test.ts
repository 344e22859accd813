/**
 * src/book/snapshot-book.ts: a group=2 snapshot loaded into a book in the snapshot's queue order.
 */
import { describe, expect, test } from "bun:test";
import { bookFromSnapshot } from "../../../src/book/snapshot-book.ts";
import { parseOrderBookSnapshot, type OrderBookSnapshot } from "../../../src/book/snapshot-schema.ts";
import { fixtureLines } from "../../support/fixtures.ts";

const FIXTURE = "rest_order_book_group2_2026-09-04_lob_decoder_test_TRIMMED.json";

function fixtureSnapshot(): OrderBookSnapshot {
  const result = parseOrderBookSnapshot(fixtureLines(FIXTURE)[0]!);
  if (!result.success) throw new Error(result.reason);
  return result.snapshot;
}

describe("bookFromSnapshot", () => {
  test("holds every order of the snapshot, in its queue order, stamped with its microtimestamp", () => {
    const book = bookFromSnapshot(fixtureSnapshot());
    expect(book.orderCount).toBe(6);
    expect(book.queue("bid", "79715.38").map((o) => o.id)).toEqual(["2046839968690178", "2046839975448576"]);
    expect(book.depth(10)).toEqual({
      bids: [
        { price: "79715.38", amount: "0.45815068", orders: 2 },
        { price: "79715.24", amount: "0.37633686", orders: 1 },
        { price: "71743.85", amount: "0.12500000", orders: 1 },
      ],
      asks: [
        { price: "79728.11", amount: "0.18816587", orders: 1 },
        { price: "79730.00", amount: "0.50000000", orders: 1 },
      ],
    });
    expect([book.spread(), book.mid(), book.crossed]).toEqual(["12.73", "79721.745", false]);
    expect(book.order("2046839966826496")?.timeMicros).toBe(1_788_551_766_754_717);
    expect(book.reportAfterMicros).toBe(1_788_551_766_754_717);
  });

  test("a crossed snapshot (Bitstamp warns they happen) loads as crossed, not counted as a new crossing", () => {
    const book = bookFromSnapshot({ timestamp: "1", microtimestamp: "1000000", bids: [["10.5", "1", "1"]], asks: [["10.0", "1", "2"]] });
    expect(book.report()).toMatchObject({ crossed: true, crossedTimes: 0 });
  });
});
