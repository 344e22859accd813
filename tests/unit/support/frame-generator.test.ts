/**
 * Generated frames stand in for the real feed in integration tests and benchmarks, so they must keep the
 * real feed's invariants: layout, exact decimals, event_id chains, ids above 2^53 written as digits.
 * Checks use string and BigInt arithmetic only, independent of the generator's own helpers.
 */
import { describe, expect, test } from "bun:test";
import { FrameGenerator, generateFrames, generateFramesIter } from "../../support/frame-generator.ts";

const ORDER_DATA_KEYS = [
  "id", "id_str", "order_type", "order_subtype", "datetime", "microtimestamp", "amount", "amount_str",
  "amount_traded", "amount_at_create", "price", "price_str", "is_liquidation",
];
const ORDER_TOP_KEYS = ["data", "channel", "event", "event_id", "pre_event_id", "order_source"];
const TRADE_DATA_KEYS = [
  "id", "timestamp", "amount", "amount_str", "price", "price_str", "type", "microtimestamp", "buy_order_id", "sell_order_id",
];
const TRADE_TOP_KEYS = ["data", "channel", "event"];

interface OrderData {
  id_str: string;
  order_type: number;
  datetime: string;
  microtimestamp: string;
  amount_str: string;
  amount_traded: string;
  amount_at_create: string;
  price_str: string;
}
interface TradeData {
  timestamp: string;
  microtimestamp: string;
  amount_str: string;
  price_str: string;
}
interface Frame {
  channel: string;
  event: string;
  event_id?: string;
  pre_event_id?: string;
  data: OrderData & TradeData;
}

const parse = (frame: string) => JSON.parse(frame) as Frame;
const isOrder = (frame: string) => frame.includes(`"channel":"live_orders_`);

/** A decimal string as an integer count of 10^-scale. */
function scaled(decimal: string, scale: number): bigint {
  const [whole = "", fraction = ""] = decimal.split(".");
  if (fraction.length > scale) throw new Error(`${decimal} has more than ${scale} decimals`);
  return BigInt(whole + fraction.padEnd(scale, "0"));
}

/** Raw text of a top-level-in-data JSON number field, as written on the wire. */
function rawNumber(frame: string, key: string): string {
  const match = new RegExp(`"${key}":(-?[0-9][0-9.eE+-]*)[,}]`).exec(frame);
  if (!match?.[1]) throw new Error(`no number ${key} in ${frame}`);
  return match[1];
}

const SAMPLE = { pairs: ["btcusd", "gbpusd", "slpusd", "xrpbtc"], countPerPair: 1500, seed: 42 } as const;

describe("frame generator", () => {
  test("gives the same frames for the same seed and different frames for another seed", () => {
    const a = generateFrames(SAMPLE);
    expect(generateFrames(SAMPLE)).toEqual(a);
    expect(generateFrames({ ...SAMPLE, seed: 43 })).not.toEqual(a);
  });

  test("streams exactly the frames of the array form", () => {
    expect([...generateFramesIter(SAMPLE)]).toEqual(generateFrames(SAMPLE));
  });

  test("writes exactly countPerPair frames for each pair, both channels together", () => {
    const frames = generateFrames(SAMPLE);
    for (const pair of SAMPLE.pairs) {
      expect(frames.filter((f) => f.includes(`_${pair}","event"`)).length).toBe(SAMPLE.countPerPair);
    }
    expect(frames.some((f) => f.includes(`"event":"trade"`))).toBe(true);
    expect(generateFrames({ ...SAMPLE, trades: false }).some((f) => f.includes("live_trades_"))).toBe(false);
  });

  test("writes valid compact JSON in the exchange's key order", () => {
    for (const frame of generateFrames(SAMPLE)) {
      const parsed = parse(frame);
      expect(frame).not.toMatch(/\s/);
      if (isOrder(frame)) {
        expect(Object.keys(parsed)).toEqual(ORDER_TOP_KEYS);
        expect(Object.keys(parsed.data)).toEqual(ORDER_DATA_KEYS);
        expect(["order_created", "order_changed", "order_deleted"]).toContain(parsed.event);
        expect(frame).toContain(`"order_subtype":5,`);
        expect(frame).toEndWith(`"order_source":"orderbook"}`);
      } else {
        expect(Object.keys(parsed)).toEqual(TRADE_TOP_KEYS);
        expect(Object.keys(parsed.data)).toEqual(TRADE_DATA_KEYS);
        expect(parsed.event).toBe("trade");
      }
    }
  });

  test("keeps amount + amount_traded == amount_at_create exactly", () => {
    let partial = 0;
    for (const frame of generateFrames(SAMPLE).filter(isOrder)) {
      const { amount_str, amount_traded, amount_at_create } = parse(frame).data;
      expect(scaled(amount_str, 8) + scaled(amount_traded, 8)).toBe(scaled(amount_at_create, 8));
      if (amount_traded !== "0" && amount_str !== amount_at_create) partial++;
    }
    expect(partial).toBeGreaterThan(0);
  });

  test("chains each event's pre_event_id to the previous event_id of its channel", () => {
    const lastId = new Map<string, string>();
    const seen = new Set<string>();
    for (const frame of generateFrames(SAMPLE).filter(isOrder)) {
      const { channel, event_id = "", pre_event_id = "", data } = parse(frame);
      const previous = lastId.get(channel);
      if (previous !== undefined) expect(pre_event_id).toBe(previous);
      expect(event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-0000-0001[0-9a-f]{2}000020$/);
      // The first 16 hex digits are the microtimestamp, as in the real chain.
      expect(BigInt(`0x${event_id.slice(0, 18).replaceAll("-", "")}`)).toBe(BigInt(data.microtimestamp));
      expect(seen.has(`${channel} ${event_id}`)).toBe(false);
      seen.add(`${channel} ${event_id}`);
      lastId.set(channel, event_id);
    }
    expect(lastId.size).toBe(SAMPLE.pairs.length);
  });

  test("writes each JSON number as the shortest text of its _str decimal", () => {
    for (const frame of generateFrames(SAMPLE)) {
      const { data } = parse(frame);
      for (const [numberKey, strKey] of [["price", "price_str"], ["amount", "amount_str"]] as const) {
        const text = rawNumber(frame, numberKey);
        const decimal = data[strKey];
        expect(text).not.toMatch(/\.$|\.\d*0$|e/);
        expect(scaled(text, 8)).toBe(scaled(decimal, 8));
      }
    }
  });

  test("formats decimals at each pair's precision from trading-pairs-info", () => {
    const precision: Record<string, [price: RegExp, amount: RegExp]> = {
      btcusd: [/^\d+\.\d{2}$/, /^\d+\.\d{8}$/],
      gbpusd: [/^\d+\.\d{5}$/, /^\d+\.\d{5}$/],
      slpusd: [/^\d+\.\d{5}$/, /^\d+$/],
      xrpbtc: [/^\d+\.\d{8}$/, /^\d+\.\d{8}$/],
    };
    for (const frame of generateFrames(SAMPLE)) {
      const { channel, data } = parse(frame);
      const [price, amount] = precision[channel.replace(/^live_(orders|trades)_/, "")] ?? [];
      expect(data.price_str).toMatch(price as RegExp);
      expect(data.amount_str).toMatch(amount as RegExp);
      if (isOrder(frame)) {
        expect(data.amount_at_create).toMatch(amount as RegExp);
        if (data.amount_traded !== "0") expect(data.amount_traded).toMatch(amount as RegExp);
      }
    }
  });

  test("writes ids as plain digits equal to id_str, above 2^53 with hugeIds", () => {
    const twoTo53 = 2n ** 53n;
    for (const hugeIds of [false, true]) {
      for (const frame of generateFrames({ ...SAMPLE, hugeIds })) {
        const id = rawNumber(frame, "id");
        if (isOrder(frame)) expect(id).toBe(parse(frame).data.id_str);
        const ids = isOrder(frame) ? [id] : [id, rawNumber(frame, "buy_order_id"), rawNumber(frame, "sell_order_id")];
        for (const text of ids) {
          expect(text).toMatch(/^[1-9]\d*$/);
          expect(BigInt(text) > twoTo53).toBe(hugeIds);
        }
      }
    }
  });

  test("keeps millisecond microtimestamps rising on each orders channel, with rounded datetime and truncated timestamp", () => {
    const last = new Map<string, bigint>();
    for (const frame of generateFrames(SAMPLE)) {
      const { channel, data } = parse(frame);
      expect(data.microtimestamp).toMatch(/^\d{16}$/);
      expect(data.microtimestamp).toEndWith("000");
      const micros = BigInt(data.microtimestamp);
      if (isOrder(frame)) {
        expect(micros > (last.get(channel) ?? 0n)).toBe(true);
        last.set(channel, micros);
        expect(BigInt(data.datetime)).toBe((micros + 500_000n) / 1_000_000n);
      } else {
        expect(BigInt(data.timestamp)).toBe(micros / 1_000_000n);
      }
    }
  });

  test("makes each trade fill a maker order that changes or leaves the book at the same microtimestamp", () => {
    const frames = generateFrames(SAMPLE);
    // amount_traded of each order before its latest event (the maker's event comes just before its trade).
    const tradedBefore = new Map<string, bigint>();
    const traded = new Map<string, bigint>();
    let trades = 0;
    frames.forEach((frame, i) => {
      if (isOrder(frame)) {
        const { id_str, amount_traded } = parse(frame).data;
        const previous = traded.get(id_str);
        if (previous === undefined) tradedBefore.delete(id_str);
        else tradedBefore.set(id_str, previous);
        traded.set(id_str, scaled(amount_traded, 8));
        return;
      }
      trades++;
      const trade = parse(frame).data;
      const maker = parse(frames[i - 1] as string);
      const makerId = maker.data.id_str;
      expect([rawNumber(frame, "buy_order_id"), rawNumber(frame, "sell_order_id")]).toContain(makerId);
      expect(["order_changed", "order_deleted"]).toContain(maker.event);
      expect(maker.data.microtimestamp).toBe(trade.microtimestamp);
      expect(maker.data.price_str).toBe(trade.price_str);
      // The maker's cumulative fill grew by exactly the trade amount.
      const before = tradedBefore.get(makerId);
      if (before !== undefined) expect(scaled(maker.data.amount_traded, 8) - before).toBe(scaled(trade.amount_str, 8));
    });
    expect(trades).toBeGreaterThan(100);
  });

  test("sends nothing for an order after its order_deleted and only shrinks it in order_changed", () => {
    const remaining = new Map<string, bigint>();
    const deleted = new Set<string>();
    for (const frame of generateFrames(SAMPLE).filter(isOrder)) {
      const { event, data } = parse(frame);
      expect(deleted.has(data.id_str)).toBe(false);
      const amount = scaled(data.amount_str, 8);
      if (event === "order_created") expect(remaining.has(data.id_str)).toBe(false);
      if (event === "order_changed" && remaining.has(data.id_str)) {
        expect(amount < (remaining.get(data.id_str) as bigint)).toBe(true);
      }
      if (event === "order_deleted") deleted.add(data.id_str);
      remaining.set(data.id_str, amount);
    }
  });

  test("gives a book snapshot that, with every event applied, equals the snapshot after them", () => {
    type Book = Map<string, string>;
    const readBook = (body: string): Book => {
      const { bids, asks } = JSON.parse(body) as { bids: string[][]; asks: string[][] };
      const book: Book = new Map();
      for (const [side, rows] of [["0", bids], ["1", asks]] as const) {
        for (const [price, amount, id] of rows) book.set(id as string, `${side} ${price} ${amount}`);
      }
      return book;
    };
    const generator = new FrameGenerator({ pairs: ["btcusd"], countPerPair: 3000, seed: 5 });
    const before = generator.bookSnapshot("btcusd") as string;
    expect(before).toMatch(/^\{"timestamp": "\d+", "microtimestamp": "\d{16}", "bids": \[\["/);
    const book = readBook(before);
    expect(book.size).toBe(20);
    for (const frame of generator) {
      if (!isOrder(frame)) continue;
      const { event, data } = parse(frame);
      if (event === "order_deleted") book.delete(data.id_str);
      else book.set(data.id_str, `${data.order_type} ${data.price_str} ${data.amount_str}`);
    }
    const after = readBook(generator.bookSnapshot("btcusd") as string);
    expect([...book.entries()].sort()).toEqual([...after.entries()].sort());
    // Never crossed: best bid below best ask.
    const prices = (side: string) => [...after.values()].filter((v) => v.startsWith(side)).map((v) => Number(v.split(" ")[1]));
    expect(Math.max(...prices("0"))).toBeLessThan(Math.min(...prices("1")));
  });

  test("streams an endless pair without holding the frames", () => {
    const generator = generateFramesIter({ pairs: ["ethusd"], countPerPair: Infinity });
    let count = 0;
    for (const frame of generator) {
      if (++count === 100_000) {
        expect(frame).toContain("live_");
        break;
      }
    }
    expect(count).toBe(100_000);
    expect(() => generateFrames({ pairs: ["ethusd"], countPerPair: Infinity })).toThrow("finite");
  });
});
