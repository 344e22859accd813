/**
 * The book on Bitstamp's own recorded messages (tests/fixtures, provenance in its README): the group=2
 * snapshot of 2026-09-04 and the live_orders frames recorded beside it, decoded by the real decoder
 * (here in the test only: src/book imports nothing from exchange/).
 *
 * The three order events of that recording all fall 0.39 to 0.40 s before the snapshot's
 * microtimestamp (1788551766754717): inside the default one-second margin, so the alignment rule
 * applies them over the snapshot.
 * - order_created 2046839978799111 (bid 71743.85): not in the snapshot, which its author trimmed to
 *   4 bids and 2 asks, so the book holds it beside the snapshot and the self-check names it as extra;
 * - order_created 2046839978831872 (ask 79728.11, 0.18816587): the snapshot already holds it, the
 *   same: nothing changes, its queue place included;
 * - order_deleted 2046839978139649: not in the snapshot, at a time before it: ignored, not reported.
 */
import { describe, expect, test } from "bun:test";
import type { BookEvent } from "../../../src/book/l3-book.ts";
import { L3Book } from "../../../src/book/l3-book.ts";
import { rebuildBookAt } from "../../../src/book/snapshot-alignment.ts";
import { bookFromSnapshot } from "../../../src/book/snapshot-book.ts";
import { parseOrderBookSnapshot, type OrderBookSnapshot } from "../../../src/book/snapshot-schema.ts";
import { decodeFrame } from "../../../src/exchange/bitstamp/decode.ts";
import { fixtureLines, stripRecvNs } from "../../support/fixtures.ts";

const SNAPSHOT_FILE = "rest_order_book_group2_2026-09-04_lob_decoder_test_TRIMMED.json";
const EVENTS_FILE = "live_orders_2026-09-04_lob_decoder_test_with_recv_ns.ndjson";

function snapshot(): OrderBookSnapshot {
  const result = parseOrderBookSnapshot(fixtureLines(SNAPSHOT_FILE)[0]!);
  if (!result.success) throw new Error(result.reason);
  return result.snapshot;
}

/** The order events of a fixture file, in file order (trades and acks left out). */
function orderEvents(file: string): BookEvent[] {
  return fixtureLines(file).flatMap((line) => {
    const result = decodeFrame(stripRecvNs(line), 1);
    return result.kind === "event" && result.event.stream === "orders" ? [result.event] : [];
  });
}

describe("the 2026-09-04 recording: group=2 snapshot + live_orders", () => {
  const events = orderEvents(EVENTS_FILE);
  const S = 1_788_551_766_754_717;

  test("the recording holds the three order events described above", () => {
    expect(events.map((e) => [e.event, e.data.id_str, e.data.microtimestamp])).toEqual([
      ["order_created", "2046839978799111", "1788551766357000"],
      ["order_created", "2046839978831872", "1788551766364000"],
      ["order_deleted", "2046839978139649", "1788551766365000"],
    ]);
  });

  test("rebuilt at the snapshot with the default margin: not crossed, nothing reported, exact levels", () => {
    const book = rebuildBookAt(snapshot(), events, S);
    expect(book.report()).toEqual({
      events: 3,
      unknownChanged: { count: 0, ids: [] },
      unknownDeleted: { count: 0, ids: [] },
      rejected: { count: 0, samples: [] },
      crossed: false,
      crossedTimes: 0,
    });
    expect(book.depth(3)).toEqual({
      bids: [
        { price: "79715.38", amount: "0.45815068", orders: 2 },
        { price: "79715.24", amount: "0.37633686", orders: 1 },
        { price: "71743.85", amount: "0.12637276", orders: 2 },
      ],
      asks: [
        { price: "79728.11", amount: "0.18816587", orders: 1 },
        { price: "79730.00", amount: "0.50000000", orders: 1 },
      ],
    });
    expect([book.spread(), book.mid()]).toEqual(["12.73", "79721.745"]);
    expect(book.queue("bid", "71743.85").map((o) => o.id)).toEqual(["2046839966826496", "2046839978799111"]);
    expect(book.order("2046839978831872")).toEqual({ id: "2046839978831872", side: "ask", price: "79728.11", amount: "0.18816587", timeMicros: 1_788_551_766_364_000 });
  });

  test("the self-check names exactly the order the trimmed snapshot lacks", () => {
    const diff = rebuildBookAt(snapshot(), events, S).diffAgainstSnapshot(snapshot());
    expect(diff.count).toBe(1);
    expect(diff.extra).toEqual([{ id: "2046839978799111", side: "bid", price: "71743.85", amount: "0.00137276", timeMicros: 1_788_551_766_357_000 }]);
  });

  test("with a margin of zero the events (all before the snapshot) are skipped: the book is the snapshot", () => {
    const book = rebuildBookAt(snapshot(), events, S, { marginMicros: 0 });
    expect(book.diffAgainstSnapshot(snapshot()).count).toBe(0);
    expect(book.report().events).toBe(0);
  });

  test("the same events after the snapshot's time would be reported: the delete of an unknown order counts then", () => {
    const book = bookFromSnapshot(snapshot());
    book.reportAfterMicros = 0;
    for (const e of events) book.apply(e);
    expect(book.report().unknownDeleted).toEqual({ count: 1, ids: ["2046839978139649"] });
  });
});

describe("every recorded order event", () => {
  test("2026-08-09: two deletes of orders from before the recording are reported with their ids, texts kept", () => {
    const book = new L3Book();
    for (const e of orderEvents("live_orders_2026-08-09_te_recorder_test.ndjson")) book.apply(e);
    expect(book.report().unknownDeleted).toEqual({ count: 2, ids: ["2037493297635328", "2037493293895680"] });
    expect(book.orderCount).toBe(0);
  });

  test("2022 (no event_id, crypto-msg-parser): an order_created rests with its exact texts", () => {
    const book = new L3Book();
    for (const e of orderEvents("crypto-msg-parser_ws_raw.ndjson")) book.apply(e);
    expect(book.bestBid()).toEqual({ price: "31483.10", amount: "7.92010000", orders: 1 });
  });
});
