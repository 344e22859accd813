import { describe, expect, test } from "bun:test";
import { AsyncChannel } from "../../../src/history/async-channel.ts";
import { EventOrder } from "../../../src/history/event-order.ts";
import type { OrderEvent } from "../../../src/model/events.ts";
import { seededRandom } from "../../support/seeded-random.ts";

function event(micros: number, rx: number, id: number): OrderEvent {
  return {
    pair: "btcusd", channel: "live_orders_btcusd", stream: "orders", event: "order_created", extra: {}, eventId: undefined, preEventId: undefined, rxMicros: rx,
    data: { id, order_type: 0, datetime: "0", microtimestamp: String(micros), amount: 1, amount_str: "1", price: 1, price_str: "1" },
  } as OrderEvent;
}

describe("EventOrder", () => {
  test("events received up to the lateness after their time come out in (exchange time, receive time, read order)", () => {
    const rand = seededRandom(9);
    const events: OrderEvent[] = [];
    let rx = 1_000_000;
    for (let i = 0; i < 5000; i++) {
      rx += 1 + Math.floor(rand() * 500);
      // Exchange time up to 50 ms before receipt, so neighbours are often out of order; some equal times.
      events.push(event(rx - Math.floor(rand() * 50) * 1000, rx, i));
    }
    const order = new EventOrder(100_000);
    const out = [...events.flatMap((e) => order.push(e)), ...order.flush()];
    const key = (e: OrderEvent) => [Number(e.data.microtimestamp), e.rxMicros, Number(e.data.id)];
    const expected = [...events].sort((a, b) => {
      const [x, y] = [key(a), key(b)];
      return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
    });
    expect(out.map((e) => e.data.id)).toEqual(expected.map((e) => e.data.id));
    expect(order.late).toBe(0);
    // Memory: only the lateness window is held.
    expect(order.size).toBe(0);
  });

  test("an event later than the lateness is counted, passed on at once, and told to onLate", () => {
    const order = new EventOrder(10);
    const late: OrderEvent[] = [];
    const a = event(100, 200, 1);
    const b = event(50, 300, 2);
    expect(order.push(a)).toEqual([a]);
    expect(order.push(b, (e) => late.push(e as OrderEvent))).toEqual([b]);
    expect(order.late).toBe(1);
    expect(late).toEqual([b]);
  });
});

describe("AsyncChannel", () => {
  test("the producer waits while `capacity` items are unread; every item arrives in order", async () => {
    const channel = new AsyncChannel<number>(4);
    let pushed = 0;
    const producer = (async () => {
      for (let i = 0; i < 100; i++) {
        await channel.push(i);
        pushed++;
      }
      channel.close();
    })();
    await new Promise((r) => setTimeout(r, 10));
    expect(pushed).toBeLessThanOrEqual(4);
    const got: number[] = [];
    for await (const x of channel) got.push(x);
    await producer;
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  test("a reader that stops makes the next push reject, so the producer stops; a producer failure reaches the reader", async () => {
    const channel = new AsyncChannel<number>(2);
    let stoppedAt = -1;
    const producer = (async () => {
      try {
        for (let i = 0; ; i++) await channel.push(i);
      } catch {
        stoppedAt = 1;
      }
    })();
    for await (const x of channel) if (x === 3) break;
    channel.close();
    await producer;
    expect(stoppedAt).toBe(1);

    const failing = new AsyncChannel<number>(2);
    void failing.push(1);
    failing.fail(new Error("table gone"));
    const seen: number[] = [];
    const err = await (async () => {
      for await (const x of failing) seen.push(x);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([1]);
    expect((err as Error).message).toBe("table gone");
  });
});
