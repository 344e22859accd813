import { describe, expect, test } from "bun:test";
import { numberText } from "../../../../src/base/exact-json.ts";
import { decodeFrame } from "../../../../src/exchange/bitstamp/decode.ts";
import type { OrderEvent } from "../../../../src/model/events.ts";
import { encodeItem } from "../../../../src/store/dynamodb/event-item.ts";
import { ORDER_BOOK_PROJECTION, orderStateOfItem } from "../../../../src/store/dynamodb/order-item-reader.ts";
import type { Item } from "../../../../src/store/dynamodb/item.ts";
import { generateFrames } from "../../../support/frame-generator.ts";
import { orderAndTradeFrames } from "../../../support/fixtures.ts";

function orderEvents(frames: readonly string[]): OrderEvent[] {
  return frames.flatMap((f, i) => {
    const d = decodeFrame(f, 1_788_551_771_000_000 + i);
    return d.kind === "event" && d.event.stream === "orders" ? [d.event] : [];
  });
}

/** The item as a projected Query returns it: only the projection's attributes. */
function projected(item: Item): Item {
  const names = ORDER_BOOK_PROJECTION.ProjectionExpression.split(", ").map((n) => (ORDER_BOOK_PROJECTION.ExpressionAttributeNames as Record<string, string>)[n] ?? n);
  return Object.fromEntries(Object.entries(item).filter(([k]) => names.includes(k)));
}

describe("orderStateOfItem", () => {
  const cases: [string, string[]][] = [
    ["2026 frames with 19-digit ids and exponent numbers", generateFrames({ pairs: ["btcusd", "shibusd"], countPerPair: 800, seed: 3, hugeIds: true, exponentNumbers: true })],
    ["2022 frames (no id_str chain fields)", generateFrames({ pairs: ["btcusd"], countPerPair: 500, seed: 4, orderFormat: "2022" })],
    ["the recorded fixtures", orderAndTradeFrames()],
  ];
  for (const [name, frames] of cases) {
    test(`${name}: the event, id, side, time and exact decimal strings of the frame, from the projected item`, () => {
      const events = orderEvents(frames);
      expect(events.length).toBeGreaterThan(0);
      for (const event of events) {
        const state = orderStateOfItem(projected(encodeItem(event, 4)));
        expect(state.event).toBe(event.event);
        expect(state.rxMicros).toBe(event.rxMicros);
        expect(state.data.id_str ?? numberText(state.data.id)).toBe(event.data.id_str ?? numberText(event.data.id));
        expect(state.data.order_type).toBe(event.data.order_type);
        expect(state.data.microtimestamp).toBe(event.data.microtimestamp);
        // The book parses exponent forms itself; the reader gives the plain form with the wire's zeros.
        const plainOf = (text: string) => (/e/i.test(text) ? Number(text).toFixed(20).replace(/0+$/, "") : text);
        if (!/e/i.test(event.data.price_str)) expect(state.data.price_str).toBe(event.data.price_str);
        if (!/e/i.test(event.data.amount_str)) expect(state.data.amount_str).toBe(event.data.amount_str);
        else expect(plainOf(state.data.amount_str)).toBe(plainOf(event.data.amount_str));
      }
    });
  }

  test("an item that is not an order event is refused, naming it", () => {
    expect(() => orderStateOfItem({ pk: { S: "btcusd#trades#2026090419#0" }, sk: { S: "x" }, ev: { S: "trade" } })).toThrow(/btcusd#trades#2026090419#0.*not an order event item/);
    expect(() => orderStateOfItem({ pk: { S: "p" }, sk: { S: "s" }, ev: { S: "order_created" } })).toThrow(/lacks id, ot or mt|has no/);
  });
});
