/**
 * src/book/snapshot-alignment.ts and the self-check on a generated market (tests/support/frame-generator.ts
 * simulates a book and serves its group=2 snapshot at any point, so snapshot + events can be checked
 * against a later snapshot exactly). Frames are decoded by the real decoder, here in the test only.
 */
import { describe, expect, test } from "bun:test";
import { L3Book, type BookEvent } from "../../../src/book/l3-book.ts";
import { rebuildBookAt } from "../../../src/book/snapshot-alignment.ts";
import { bookFromSnapshot } from "../../../src/book/snapshot-book.ts";
import { parseOrderBookSnapshot, snapshotMicros, type OrderBookSnapshot } from "../../../src/book/snapshot-schema.ts";
import { decodeFrame } from "../../../src/exchange/bitstamp/decode.ts";
import type { OrderEvent } from "../../../src/model/events.ts";
import type { OrderData, OrderEventName } from "../../../src/model/schemas.ts";
import { FrameGenerator } from "../../support/frame-generator.ts";

function snapshotOf(body: string | undefined): OrderBookSnapshot {
  const result = parseOrderBookSnapshot(body);
  if (!result.success) throw new Error(result.reason);
  return result.snapshot;
}

function orderEvents(frames: readonly string[]): OrderEvent[] {
  return frames.map((frame) => {
    const result = decodeFrame(frame, 1);
    if (result.kind !== "event" || result.event.stream !== "orders") throw new Error(`not an order event: ${frame}`);
    return result.event;
  });
}

const micros = (e: BookEvent) => Number(e.data.microtimestamp);
const idOf = (e: BookEvent) => e.data.id_str!;

/** A market of 200 resting orders, 3,000 events, snapshots at the start, after 1,500 events and at the end. */
function market() {
  const gen = new FrameGenerator({ pairs: ["btcusd"], countPerPair: 3000, trades: false, seed: 7, initialOrdersPerPair: 200 });
  const start = snapshotOf(gen.bookSnapshot("btcusd"));
  const first = orderEvents([...gen.nextFrames(1500), ...gen.restOfStep()]);
  const middle = snapshotOf(gen.bookSnapshot("btcusd"));
  const rest = orderEvents([...gen]);
  const end = snapshotOf(gen.bookSnapshot("btcusd"));
  return { start, first, middle, rest, end, all: [...first, ...rest] };
}

/** Everything a reader sees: every level of both sides and every queue. */
function state(book: L3Book): unknown {
  const queues = (side: "bid" | "ask") => book.levels(side).map((l) => [l.price, l.amount, book.queue(side, l.price).map((o) => o.id)]);
  return { bids: queues("bid"), asks: queues("ask"), best: [book.bestBid(), book.bestAsk(), book.spread(), book.mid()] };
}

function applied(book: L3Book, events: Iterable<BookEvent>): L3Book {
  for (const e of events) book.apply(e);
  return book;
}

describe("snapshot + events on a consistent stream", () => {
  const m = market();

  test("the start snapshot plus every event is the end snapshot: zero differences, same queues, nothing reported", () => {
    const book = applied(bookFromSnapshot(m.start), m.all);
    expect(book.diffAgainstSnapshot(m.end)).toEqual({ count: 0, missing: [], extra: [], different: [] });
    expect(state(book)).toEqual(state(bookFromSnapshot(m.end)));
    expect(book.report()).toMatchObject({ unknownChanged: { count: 0 }, unknownDeleted: { count: 0 }, rejected: { count: 0 }, crossed: false, crossedTimes: 0 });
    expect(m.all.length).toBeGreaterThan(2900);
    expect(m.all.some((e) => e.event === "order_changed")).toBe(true);
  });

  test("withholding one event shows exactly that event's order", () => {
    const endIds = new Set([...m.end.bids, ...m.end.asks].map((row) => row[2]));
    const lastIndexOf = new Map<string, number>();
    m.all.forEach((e, i) => lastIndexOf.set(idOf(e), i));
    const isLast = (e: BookEvent, i: number) => lastIndexOf.get(idOf(e)) === i;
    const pickIndex = (want: (e: BookEvent, i: number) => boolean) => m.all.findIndex(want);
    const cases = [
      { name: "a delete", index: pickIndex((e, i) => e.event === "order_deleted" && isLast(e, i) && m.all.some((c) => c.event === "order_created" && idOf(c) === idOf(e))), list: "extra" },
      { name: "the only event of a resting order", index: pickIndex((e, i) => e.event === "order_created" && isLast(e, i) && endIds.has(idOf(e))), list: "missing" },
      { name: "the last change of a resting order", index: pickIndex((e, i) => e.event === "order_changed" && isLast(e, i) && endIds.has(idOf(e))), list: "different" },
    ] as const;
    for (const c of cases) {
      expect([c.name, c.index >= 0]).toEqual([c.name, true]);
      const withheld = m.all[c.index]!;
      const book = applied(bookFromSnapshot(m.start), m.all.filter((_, i) => i !== c.index));
      const diff = book.diffAgainstSnapshot(m.end);
      const named = { missing: diff.missing.map((o) => o.id), extra: diff.extra.map((o) => o.id), different: diff.different.map((d) => d.id) };
      expect([c.name, diff.count, named[c.list]]).toEqual([c.name, 1, [idOf(withheld)]]);
      if (c.list === "different") expect(diff.different[0]!.fields).toEqual(["amount"]);
    }
  });

  test("events in the margin before a snapshot, applied once or twice, change nothing", () => {
    const s = snapshotMicros(m.middle);
    const margin = m.first.filter((e) => micros(e) >= s - 2_000_000);
    expect(margin.length).toBeGreaterThan(50);
    const plain = state(bookFromSnapshot(m.middle));
    const once = applied(bookFromSnapshot(m.middle), margin);
    expect(state(once)).toEqual(plain);
    expect(state(applied(once, margin))).toEqual(plain);
    expect(once.diffAgainstSnapshot(m.middle).count).toBe(0);
    // Deletes in the margin of orders the snapshot no longer holds are ignored, not reported.
    expect(margin.some((e) => e.event === "order_deleted")).toBe(true);
    expect(once.report()).toMatchObject({ unknownChanged: { count: 0 }, unknownDeleted: { count: 0 }, crossedTimes: 0 });
  });

  test("rebuildBookAt equals replaying every event from the start, at any time after the snapshot, any margin", () => {
    const s = snapshotMicros(m.middle);
    const times = [s, micros(m.rest[10]!), micros(m.rest[700]!), micros(m.rest.at(-1)!)];
    for (const at of times) {
      const replayed = applied(bookFromSnapshot(m.start), m.all.filter((e) => micros(e) <= at));
      for (const marginMicros of [0, 150_000, 5_000_000]) {
        const rebuilt = rebuildBookAt(m.middle, m.all, at, { marginMicros });
        expect([at, marginMicros, state(rebuilt)]).toEqual([at, marginMicros, state(replayed)]);
        expect(rebuilt.report()).toMatchObject({ unknownChanged: { count: 0 }, unknownDeleted: { count: 0 } });
      }
    }
  });
});

describe("alignment edge cases (docs/book.md)", () => {
  const S = 1_788_551_766_754_717;
  const snapshot: OrderBookSnapshot = { timestamp: "1788551767", microtimestamp: String(S), bids: [["100.00", "1", "1"]], asks: [["101.00", "1", "2"]] };

  function ev(kind: OrderEventName, id: string, at: number, side: 0 | 1 = 0, price = "100.00", amount = "1"): BookEvent {
    const data: OrderData = {
      id: Number(id), id_str: id, order_type: side, datetime: "0", microtimestamp: String(at),
      amount: 0, amount_str: amount, price: 0, price_str: price,
    };
    return { event: kind, data };
  }

  test("an order created and deleted in the margin, not in the snapshot, is absent and not reported", () => {
    const events = [ev("order_created", "3", S - 500_000), ev("order_deleted", "3", S - 400_000)];
    const book = rebuildBookAt(snapshot, events, S + 1000, { marginMicros: 1_000_000 });
    expect(book.order("3")).toBeUndefined();
    expect(book.report().unknownDeleted.count).toBe(0);
  });

  test("a delete in the margin of an order the snapshot lacks is ignored and not counted; after the snapshot it is counted", () => {
    const events = [ev("order_deleted", "4", S - 1000), ev("order_deleted", "5", S), ev("order_deleted", "6", S + 1000)];
    const book = rebuildBookAt(snapshot, events, S + 1000, { marginMicros: 1_000_000 });
    expect(book.report().unknownDeleted).toEqual({ count: 1, ids: ["6"] });
    expect(book.orderCount).toBe(2);
  });

  test("a change in the margin that the snapshot already shows changes nothing; events before the margin are skipped", () => {
    const events = [ev("order_created", "7", S - 2_000_000), ev("order_changed", "1", S - 300_000, 0, "100.00", "1")];
    const book = rebuildBookAt(snapshot, events, S, { marginMicros: 1_000_000 });
    expect(book.order("7")).toBeUndefined();
    expect(state(book)).toEqual(state(bookFromSnapshot(snapshot)));
  });

  test("an order the snapshot holds, created again in the margin, keeps its snapshot place in the queue", () => {
    const twoAtOnePrice: OrderBookSnapshot = { ...snapshot, bids: [["100.00", "1", "1"], ["100.00", "2", "10"]] };
    const events = [ev("order_created", "1", S - 2000), ev("order_changed", "10", S - 1000, 0, "100.00", "2"), ev("order_created", "1", S - 1000)];
    const book = rebuildBookAt(twoAtOnePrice, events, S, { marginMicros: 1_000_000 });
    expect(book.queue("bid", "100").map((o) => o.id)).toEqual(["1", "10"]);
    expect(book.bestBid()).toEqual({ price: "100.00", amount: "3", orders: 2 });
  });

  test("stops at the requested time, refuses a time before the snapshot and events out of order", () => {
    const events = [ev("order_created", "8", S + 1000), ev("order_created", "9", S + 2000)];
    expect(rebuildBookAt(snapshot, events, S + 1500).order("9")).toBeUndefined();
    expect(() => rebuildBookAt(snapshot, events, S - 1)).toThrow(RangeError);
    expect(() => rebuildBookAt(snapshot, [...events].reverse(), S + 5000)).toThrow(/out of order/);
    expect(() => rebuildBookAt(snapshot, events, S, { marginMicros: -1 })).toThrow(RangeError);
  });
});
