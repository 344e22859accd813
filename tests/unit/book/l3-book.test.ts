/**
 * src/book/l3-book.ts: one test per rule of applying Bitstamp's `live_orders` events (the state after
 * the event) and per report. The property test (book-property.test.ts) checks the same rules on long
 * random streams against a reference model.
 */
import { describe, expect, test } from "bun:test";
import { JsonNumber } from "../../../src/base/exact-json.ts";
import { L3Book, type BookEvent } from "../../../src/book/l3-book.ts";
import type { OrderData, OrderEventName } from "../../../src/model/schemas.ts";

const T0 = 1_788_551_766_000_000;

interface EventSpec {
  id: string;
  side?: 0 | 1;
  price?: string;
  amount?: string;
  micros?: number;
  /** Leave id_str out and give the id as a number (or JsonNumber above 2^53). */
  numericIdOnly?: boolean;
}

function event(kind: OrderEventName, spec: EventSpec): BookEvent {
  const price = spec.price ?? "100.00";
  const amount = spec.amount ?? "1.00000000";
  const micros = spec.micros ?? T0;
  // Letter ids ("b1") keep the tests readable; the book keys by id_str, so the number is a stand-in then.
  const idNumber = !/^\d+$/.test(spec.id) ? 0 : BigInt(spec.id) > BigInt(Number.MAX_SAFE_INTEGER) ? new JsonNumber(spec.id) : Number(spec.id);
  const data: OrderData = {
    id: idNumber,
    ...(spec.numericIdOnly ? {} : { id_str: spec.id }),
    order_type: spec.side ?? 0,
    datetime: String(Math.round(micros / 1e6)),
    microtimestamp: String(micros),
    amount: new JsonNumber(amount),
    amount_str: amount,
    price: new JsonNumber(price),
    price_str: price,
  };
  return { event: kind, data };
}

const created = (spec: EventSpec) => event("order_created", spec);
const changed = (spec: EventSpec) => event("order_changed", spec);
const deleted = (spec: EventSpec) => event("order_deleted", spec);

function bookOf(...events: BookEvent[]): L3Book {
  const book = new L3Book();
  for (const e of events) book.apply(e);
  return book;
}

const ids = (book: L3Book, side: "bid" | "ask", price: string) => book.queue(side, price).map((o) => o.id);

describe("applying events", () => {
  test("order_created inserts; the same event again changes nothing, queue place included", () => {
    const a = created({ id: "1", amount: "0.5" });
    const book = bookOf(a, created({ id: "2", amount: "0.25" }), a);
    expect(ids(book, "bid", "100.00")).toEqual(["1", "2"]);
    expect(book.bestBid()).toEqual({ price: "100.00", amount: "0.75", orders: 2 });
    expect(book.order("1")).toEqual({ id: "1", side: "bid", price: "100.00", amount: "0.5", timeMicros: T0 });
  });

  test("order_changed sets the remaining amount and keeps the order's place in the queue", () => {
    const book = bookOf(created({ id: "1", amount: "0.50000000" }), created({ id: "2", amount: "0.25000000" }), changed({ id: "1", amount: "0.10000001", micros: T0 + 5000 }));
    expect(ids(book, "bid", "100.00")).toEqual(["1", "2"]);
    expect(book.bestBid()).toEqual({ price: "100.00", amount: "0.35000001", orders: 2 });
    expect(book.order("1")?.timeMicros).toBe(T0 + 5000);
    expect(book.report().unknownChanged.count).toBe(0);
  });

  test("order_changed of an unknown order inserts it and reports it", () => {
    const book = bookOf(changed({ id: "7", side: 1, price: "101.5", amount: "2" }));
    expect(book.bestAsk()).toEqual({ price: "101.5", amount: "2", orders: 1 });
    expect(book.report().unknownChanged).toEqual({ count: 1, ids: ["7"] });
  });

  test("order_deleted removes; an unknown one changes nothing and is reported", () => {
    const book = bookOf(created({ id: "1" }), deleted({ id: "1" }), deleted({ id: "9" }));
    expect(book.orderCount).toBe(0);
    expect(book.levelCount("bid")).toBe(0);
    expect(book.report().unknownDeleted).toEqual({ count: 1, ids: ["9"] });
  });

  test("an amount of zero, in any spelling, removes the order", () => {
    const book = bookOf(created({ id: "1" }), created({ id: "2" }), changed({ id: "1", amount: "0.00000000" }), created({ id: "2", amount: "0E-8" }), created({ id: "3", amount: "0" }));
    expect(book.orderCount).toBe(0);
    expect(book.bestBid()).toBeUndefined();
  });

  test("a new price moves the order to the back of its new level and empties the old one", () => {
    const book = bookOf(created({ id: "1", price: "100.00" }), created({ id: "2", price: "99.00" }), changed({ id: "1", price: "99.00" }));
    expect(book.levelCount("bid")).toBe(1);
    expect(ids(book, "bid", "99.00")).toEqual(["2", "1"]);
    expect(book.bestBid()).toEqual({ price: "99.00", amount: "2.00000000", orders: 2 });
  });

  test("a new side moves the order to the other side", () => {
    const book = bookOf(created({ id: "1", side: 0 }), changed({ id: "1", side: 1 }));
    expect(book.levelCount("bid")).toBe(0);
    expect(book.bestAsk()).toEqual({ price: "100.00", amount: "1.00000000", orders: 1 });
    expect(book.order("1")?.side).toBe("ask");
  });

  test("another spelling of the same price keeps the level and the queue place; the level shows its first order's text", () => {
    const book = bookOf(created({ id: "1", price: "64839.00" }), created({ id: "2", price: "64839" }), changed({ id: "1", price: "6.4839E+4", amount: "0.5" }));
    expect(book.levelCount("bid")).toBe(1);
    expect(ids(book, "bid", "64839")).toEqual(["1", "2"]);
    expect(book.bestBid()).toEqual({ price: "64839", amount: "1.50000000", orders: 2 });
    book.apply(deleted({ id: "1" }));
    expect(book.bestBid()?.price).toBe("64839");
  });

  test("exponent decimals are kept exactly and shown in plain form", () => {
    const book = bookOf(created({ id: "1", amount: "1E-8", price: "1.5E+3" }), created({ id: "2", amount: "0.5", price: "1500.00" }));
    expect(book.order("1")).toMatchObject({ price: "1500", amount: "0.00000001" });
    expect(book.bestBid()).toEqual({ price: "1500", amount: "0.50000001", orders: 2 });
  });

  test("keys orders by id_str, else by the id number's exact text, above 2^53 too", () => {
    const huge = "1234567890123456789";
    const book = bookOf(created({ id: huge, numericIdOnly: true }), created({ id: "2046839978799111", numericIdOnly: true }));
    expect(book.order(huge)?.id).toBe(huge);
    expect(book.order("2046839978799111")).toBeDefined();
    book.apply(deleted({ id: huge }));
    expect(book.order(huge)).toBeUndefined();
    expect(book.report().unknownDeleted.count).toBe(0);
  });

  test("sums of many decimals and huge amounts stay exact (BigInt fallback)", () => {
    const book = bookOf(
      created({ id: "1", amount: "123456789012.12345678" }),
      created({ id: "2", amount: "0.000000000000000001" }),
      created({ id: "3", amount: "87654321000" }),
    );
    expect(book.bestBid()).toEqual({ price: "100.00", amount: "211111110012.123456780000000001", orders: 3 });
    book.apply(deleted({ id: "2" }));
    expect(book.bestBid()?.amount).toBe("211111110012.12345678");
  });
});

describe("reading", () => {
  const book = bookOf(
    created({ id: "b1", side: 0, price: "1.01", amount: "3" }),
    created({ id: "b2", side: 0, price: "1.00", amount: "1" }),
    created({ id: "b3", side: 0, price: "0.99", amount: "1" }),
    created({ id: "a1", side: 1, price: "1.02", amount: "2" }),
    created({ id: "a2", side: 1, price: "1.05", amount: "2" }),
  );

  test("best, spread and mid are exact; mid takes one more digit when it needs it", () => {
    expect(book.bestBid()).toEqual({ price: "1.01", amount: "3", orders: 1 });
    expect(book.bestAsk()).toEqual({ price: "1.02", amount: "2", orders: 1 });
    expect(book.spread()).toBe("0.01");
    expect(book.mid()).toBe("1.015");
  });

  test("depth gives the best n levels of each side, best first", () => {
    expect(book.depth(2)).toEqual({
      bids: [{ price: "1.01", amount: "3", orders: 1 }, { price: "1.00", amount: "1", orders: 1 }],
      asks: [{ price: "1.02", amount: "2", orders: 1 }, { price: "1.05", amount: "2", orders: 1 }],
    });
    expect(book.levels("bid").map((l) => l.price)).toEqual(["1.01", "1.00", "0.99"]);
  });

  test("an empty side has no best, spread or mid", () => {
    const oneSided = bookOf(created({ id: "1" }));
    expect([oneSided.bestAsk(), oneSided.spread(), oneSided.mid()]).toEqual([undefined, undefined, undefined]);
  });

  test("queue finds a level by any spelling of its price and refuses a non-decimal", () => {
    expect(ids(book, "bid", "1.0100")).toEqual(["b1"]);
    expect(ids(book, "ask", "1.01")).toEqual([]);
    expect(() => book.queue("bid", "abc")).toThrow(RangeError);
  });

  test("a level read earlier does not change when the book does", () => {
    const b = bookOf(created({ id: "1", amount: "1" }));
    const before = b.bestBid();
    b.apply(changed({ id: "1", amount: "2" }));
    expect(before).toEqual({ price: "100.00", amount: "1", orders: 1 });
    expect(b.bestBid()).toEqual({ price: "100.00", amount: "2", orders: 1 });
  });
});

describe("reports", () => {
  test("counts each time the book becomes crossed, and says whether it is crossed now", () => {
    const book = bookOf(created({ id: "b", side: 0, price: "10" }), created({ id: "a", side: 1, price: "11" }));
    expect(book.crossed).toBe(false);
    book.apply(created({ id: "x", side: 0, price: "11" })); // bid = ask: crossed
    book.apply(created({ id: "y", side: 0, price: "12" })); // still crossed: not a new crossing
    expect([book.crossed, book.report().crossedTimes, book.spread()]).toEqual([true, 1, "-1"]);
    book.apply(deleted({ id: "x" }));
    book.apply(deleted({ id: "y" }));
    expect(book.crossed).toBe(false);
    book.apply(created({ id: "z", side: 1, price: "9.5" }));
    expect(book.report()).toMatchObject({ crossed: true, crossedTimes: 2 });
  });

  test("a crossing inside one microtimestamp (one matching step, its events in any order) is not counted; one that outlasts it is", () => {
    const book = bookOf(created({ id: "b", side: 0, price: "10" }), created({ id: "a", side: 1, price: "11", amount: "1" }));
    const t1 = T0 + 1000;
    // A taker's limit buy at 11 fills the ask: its created, the ask's change and both deletes share t1.
    book.apply(created({ id: "t", side: 0, price: "11", amount: "0.4", micros: t1 }));
    book.apply(changed({ id: "a", side: 1, price: "11", amount: "0.6", micros: t1 }));
    book.apply(deleted({ id: "t", side: 0, price: "11", micros: t1 }));
    expect(book.report()).toMatchObject({ crossed: false, crossedTimes: 0 });
    // Still crossed after its step: counted once the step ends (the next time, or a read).
    book.apply(created({ id: "u", side: 0, price: "12", micros: t1 + 1000 }));
    book.apply(created({ id: "v", side: 0, price: "10", micros: t1 + 2000 }));
    expect(book.report()).toMatchObject({ crossed: true, crossedTimes: 1 });
  });

  test("events at or before reportAfterMicros are applied but not counted as unknown or crossing", () => {
    const book = new L3Book();
    book.reportAfterMicros = T0;
    book.apply(deleted({ id: "1", micros: T0 }));
    book.apply(changed({ id: "2", micros: T0 - 1000 }));
    book.apply(created({ id: "3", side: 1, price: "99", micros: T0 }));
    expect(book.order("2")).toBeDefined();
    expect(book.crossed).toBe(true);
    expect(book.report()).toMatchObject({ unknownChanged: { count: 0 }, unknownDeleted: { count: 0 }, crossedTimes: 0 });
    book.apply(deleted({ id: "4", micros: T0 + 1000 }));
    expect(book.report().unknownDeleted).toEqual({ count: 1, ids: ["4"] });
  });

  test("rejects negative or malformed decimals and unknown order types, whatever their time, and changes nothing", () => {
    const book = bookOf(created({ id: "1", amount: "0.5" }));
    book.reportAfterMicros = T0 + 1;
    book.apply(changed({ id: "1", amount: "-0.5" }));
    book.apply(created({ id: "2", price: "1,5" }));
    book.apply(created({ id: "3", side: 2 as 0 }));
    book.apply(changed({ id: "4", amount: "-1" }));
    expect(book.orderCount).toBe(1);
    expect(book.order("1")?.amount).toBe("0.5");
    const report = book.report();
    expect(report.rejected.count).toBe(4);
    expect(report.rejected.samples.map((s) => s.id)).toEqual(["1", "2", "3", "4"]);
    expect(report.rejected.samples[0]!.reason).toContain('"-0.5"');
    expect(report.unknownChanged.count).toBe(0); // a rejected event is not also an unknown change
    expect(report.events).toBe(5);
  });

  test("keeps at most maxReportedIds ids per list, and every count", () => {
    const book = new L3Book({ maxReportedIds: 2 });
    for (let i = 0; i < 5; i++) book.apply(deleted({ id: String(i) }));
    expect(book.report().unknownDeleted).toEqual({ count: 5, ids: ["0", "1"] });
  });

  test("a report is a copy: later events do not change it", () => {
    const book = new L3Book();
    const report = book.report();
    book.apply(deleted({ id: "1" }));
    expect(report.unknownDeleted).toEqual({ count: 0, ids: [] });
  });
});
