/**
 * src/book/book-series.ts: one row per step, each the book after every event at or before the step.
 */
import { describe, expect, test } from "bun:test";
import { bookSeries, type SeriesRow } from "../../../src/book/book-series.ts";
import { L3Book, type BookEvent } from "../../../src/book/l3-book.ts";
import { rebuildBookAt } from "../../../src/book/snapshot-alignment.ts";
import { parseOrderBookSnapshot, snapshotMicros, type OrderBookSnapshot } from "../../../src/book/snapshot-schema.ts";
import { decodeFrame } from "../../../src/exchange/bitstamp/decode.ts";
import type { OrderData, OrderEventName } from "../../../src/model/schemas.ts";
import { FrameGenerator } from "../../support/frame-generator.ts";

const T = 1_788_551_766_000_000;

function ev(kind: OrderEventName, id: string, at: number, side: 0 | 1, price: string, amount = "1"): BookEvent {
  const data: OrderData = {
    id: Number(id), id_str: id, order_type: side, datetime: "0", microtimestamp: String(at),
    amount: 0, amount_str: amount, price: 0, price_str: price,
  };
  return { event: kind, data };
}

const EVENTS = [
  ev("order_created", "1", T + 1000, 0, "100.00"),
  ev("order_created", "2", T + 1000, 1, "101.00"),
  ev("order_created", "3", T + 2000, 0, "100.50", "0.5"),
  ev("order_deleted", "1", T + 5000, 0, "100.00"),
];

const times = (rows: SeriesRow[]) => rows.map((r) => r.timeMicros - T);

describe("bookSeries", () => {
  test("a row per step holds every event at or before it; quiet steps repeat the book", () => {
    const rows = [...bookSeries({ events: EVENTS, start: new L3Book(), fromMicros: T, toMicros: T + 6000, everyMicros: 1000, depth: 2 })];
    expect(times(rows)).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000]);
    expect(rows[0]).toEqual({ timeMicros: T, bids: [], asks: [] });
    expect(rows[1]).toEqual({ timeMicros: T + 1000, bids: [{ price: "100.00", amount: "1", orders: 1 }], asks: [{ price: "101.00", amount: "1", orders: 1 }] });
    expect(rows[2]!.bids).toEqual([{ price: "100.50", amount: "0.5", orders: 1 }, { price: "100.00", amount: "1", orders: 1 }]);
    expect(rows[4]).toEqual({ ...rows[2]!, timeMicros: T + 4000 });
    expect(rows[5]!.bids).toEqual([{ price: "100.50", amount: "0.5", orders: 1 }]);
  });

  test("stops at toMicros without reading further, and applies events before fromMicros first", () => {
    let read = 0;
    function* counted() {
      for (const e of EVENTS) {
        read++;
        yield e;
      }
    }
    const rows = [...bookSeries({ events: counted(), start: new L3Book(), fromMicros: T + 1500, toMicros: T + 1500, everyMicros: 1000, depth: 1 })];
    expect(rows).toEqual([{ timeMicros: T + 1500, bids: [{ price: "100.00", amount: "1", orders: 1 }], asks: [{ price: "101.00", amount: "1", orders: 1 }] }]);
    expect(read).toBe(3); // the third event (T + 2000) ends the step; the fourth is never read
  });

  test("refuses bad bounds, a start before the snapshot, and events out of order", () => {
    const base = { events: EVENTS, start: new L3Book(), fromMicros: T, toMicros: T + 1000, everyMicros: 1000, depth: 1 };
    expect(() => [...bookSeries({ ...base, everyMicros: 0 })]).toThrow(RangeError);
    expect(() => [...bookSeries({ ...base, depth: 0 })]).toThrow(RangeError);
    expect(() => [...bookSeries({ ...base, toMicros: T - 1 })]).toThrow(RangeError);
    const snapshot: OrderBookSnapshot = { timestamp: "0", microtimestamp: String(T + 500), bids: [], asks: [] };
    expect(() => [...bookSeries({ ...base, start: snapshot })]).toThrow(/before the snapshot/);
    expect(() => [...bookSeries({ ...base, events: [...EVENTS].reverse(), toMicros: T + 9000 })]).toThrow(/out of order/);
  });

  test("from a snapshot, every row equals rebuildBookAt at its time (generated market)", () => {
    const gen = new FrameGenerator({ pairs: ["btcusd"], countPerPair: 1500, trades: false, seed: 11, initialOrdersPerPair: 100 });
    const decode = (frames: string[]) => frames.map((f) => {
      const r = decodeFrame(f, 1);
      if (r.kind !== "event" || r.event.stream !== "orders") throw new Error(f);
      return r.event;
    });
    const before = decode([...gen.nextFrames(700), ...gen.restOfStep()]);
    const parsed = parseOrderBookSnapshot(gen.bookSnapshot("btcusd"));
    if (!parsed.success) throw new Error(parsed.reason);
    const after = decode([...gen]);
    const all = [...before, ...after];
    const s = snapshotMicros(parsed.snapshot);
    const options = { events: all, start: parsed.snapshot, marginMicros: 500_000, fromMicros: s, toMicros: s + 10_000_000, everyMicros: 250_000, depth: 5 };
    const rows = [...bookSeries(options)];
    expect(rows.length).toBe(41);
    for (const row of rows) {
      const book = rebuildBookAt(parsed.snapshot, all, row.timeMicros, { marginMicros: 500_000 });
      expect(row).toEqual({ timeMicros: row.timeMicros, ...book.depth(5) });
    }
    expect(new Set(rows.map((r) => JSON.stringify([r.bids, r.asks]))).size).toBeGreaterThan(20); // the book moved
  });
});
