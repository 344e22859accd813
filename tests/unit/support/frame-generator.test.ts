/**
 * Generated frames stand in for the real feed in integration tests and benchmarks, so they must keep the
 * real feed's invariants: layout, exact decimals, event_id chains, ids above 2^53 written as digits.
 * Checks use string and BigInt arithmetic only, independent of the generator's own helpers.
 */
import { describe, expect, test } from "bun:test";
import { decodeFrame } from "../../../src/exchange/bitstamp/decode.ts";
import type { MarketEvent } from "../../../src/model/events.ts";
import { encodeItem } from "../../../src/store/dynamodb/event-item.ts";
import { eventKeys } from "../../../src/store/dynamodb/keys.ts";
import {
  FrameGenerator, MAX_EVENTS_PER_MICROS, generateFrames, generateFramesIter, type FrameGeneratorOptions,
} from "../../support/frame-generator.ts";

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

  test("never moves millisecond microtimestamps back, over all channels, with rounded datetime and truncated timestamp", () => {
    let last = 0n;
    for (const frame of generateFrames(SAMPLE)) {
      const { data } = parse(frame);
      expect(data.microtimestamp).toMatch(/^\d{16}$/);
      expect(data.microtimestamp).toEndWith("000");
      const micros = BigInt(data.microtimestamp);
      expect(micros >= last).toBe(true);
      last = micros;
      if (isOrder(frame)) expect(BigInt(data.datetime)).toBe((micros + 500_000n) / 1_000_000n);
      else expect(BigInt(data.timestamp)).toBe(micros / 1_000_000n);
    }
  });

  test("without bursts, moves each orders channel on by at least 1 ms per event", () => {
    const last = new Map<string, bigint>();
    for (const frame of generateFrames({ ...SAMPLE, bursts: false }).filter(isOrder)) {
      const { channel, data } = parse(frame);
      const micros = BigInt(data.microtimestamp);
      expect(micros >= (last.get(channel) ?? 0n) + 1000n).toBe(true);
      last.set(channel, micros);
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

/** Frames grouped by channel and microtimestamp, in the order sent. */
function groupsByMicros(frames: readonly string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const frame of frames) {
    const { channel, data } = parse(frame);
    const key = `${channel} ${data.microtimestamp}`;
    const group = groups.get(key);
    if (group) group.push(frame);
    else groups.set(key, [frame]);
  }
  return groups;
}

function eventOf(frame: string, rxMicros = 1): MarketEvent {
  const result = decodeFrame(frame, rxMicros);
  if (result.kind !== "event") throw new Error(`not an event (${JSON.stringify(result).slice(0, 300)}): ${frame}`);
  return result.event;
}

const micros = (frame: string) => BigInt(parse(frame).data.microtimestamp);

/** One pair, 10,000 frames: the busiest channel layout the tests use. */
const BUSY = { pairs: ["btcusd"], countPerPair: 10_000, seed: 1 } as const;

describe("frame generator bursts (several events of a channel in one millisecond, as a busy real book)", () => {
  test("puts 3 or more events of one channel on one microtimestamp hundreds of times in 10,000 frames", () => {
    const groups = [...groupsByMicros(generateFrames(BUSY))];
    const sizes = (prefix: string) => groups.filter(([key]) => key.startsWith(prefix)).map(([, g]) => g.length);
    const orders = sizes("live_orders_");
    const trades = sizes("live_trades_");
    // Seed 1 gives 748 and 170; the bounds leave room for other tuning, not for "no bursts".
    expect(orders.filter((n) => n >= 3).length).toBeGreaterThanOrEqual(300);
    expect(trades.filter((n) => n >= 3).length).toBeGreaterThanOrEqual(60);
    // Never more than the event_id counter can tell apart; most events still have their own millisecond.
    expect(Math.max(...orders)).toBe(MAX_EVENTS_PER_MICROS);
    expect(orders.filter((n) => n === 1).length).toBeGreaterThan(1_000);
    expect(trades.filter((n) => n === 1).length).toBeGreaterThan(300);
  });

  test("sweeps several makers with one taker: each maker's event just before its trade, one microtimestamp, consecutive trade ids", () => {
    const frames = generateFrames(BUSY);
    let sweepsOf3 = 0;
    let i = 0;
    while (i < frames.length) {
      // A sweep: (maker event, trade) pairs in a row, one taker id, one microtimestamp.
      let length = 0;
      let taker: string | undefined;
      for (let j = i; j + 1 < frames.length && isOrder(frames[j] as string) && !isOrder(frames[j + 1] as string); j += 2) {
        const maker = parse(frames[j] as string).data.id_str;
        const trade = frames[j + 1] as string;
        const ids = [rawNumber(trade, "buy_order_id"), rawNumber(trade, "sell_order_id")];
        if (!ids.includes(maker)) break;
        const other = ids.find((id) => id !== maker) as string;
        if (taker !== undefined && (other !== taker || micros(trade) !== micros(frames[i] as string))) break;
        if (length > 0) expect(BigInt(rawNumber(trade, "id"))).toBe(BigInt(rawNumber(frames[j - 1] as string, "id")) + 1n);
        taker = other;
        length++;
      }
      if (length >= 3) sweepsOf3++;
      i += Math.max(1, 2 * length);
    }
    expect(sweepsOf3).toBeGreaterThanOrEqual(30);
  });

  test("interleaves channels and pairs inside one millisecond", () => {
    const frames = generateFrames({ pairs: ["btcusd", "ethusd"], countPerPair: 5_000, seed: 2 });
    const channelsByMs = new Map<bigint, string[]>();
    for (const frame of frames) {
      const ms = micros(frame) / 1000n;
      const list = channelsByMs.get(ms) ?? [];
      list.push(parse(frame).channel);
      channelsByMs.set(ms, list);
    }
    const lists = [...channelsByMs.values()];
    // Both pairs in one millisecond.
    expect(lists.filter((l) => new Set(l.map((c) => c.slice(-6))).size === 2).length).toBeGreaterThanOrEqual(50);
    // One channel, another, then the first again, all in one millisecond (a sweep: order, trade, order...).
    const returns = lists.filter((l) => l.some((c, k) => k >= 2 && c === l[k - 2] && c !== l[k - 1]));
    expect(returns.length).toBeGreaterThanOrEqual(100);
  });

  test.each(["2026", "2022"] as const)("gives each of 10,000 frames its own DynamoDB key although thousands share a microtimestamp (%s order layout)", (orderFormat) => {
    const opts: FrameGeneratorOptions = { pairs: ["btcusd", "ethusd"], countPerPair: 5_000, seed: 7, hugeIds: true, orderFormat };
    const frames = generateFrames(opts);
    const keys = new Set<string>();
    const sharedMicros = new Map<string, number>();
    const forms = new Set<string>();
    for (const frame of frames) {
      const item = encodeItem(eventOf(frame), 4);
      const pk = item.pk?.S as string;
      const sk = item.sk?.S as string;
      keys.add(`${pk}\u0000${sk}`);
      const timeKey = `${pk.split("#").slice(0, 2).join("#")} ${sk.slice(0, 16)}`;
      sharedMicros.set(timeKey, (sharedMicros.get(timeKey) ?? 0) + 1);
      // Which form of docs/data-model.md the key took.
      if (/^\d{16}#[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-0000-0001[0-9a-f]{2}000020$/.test(sk)) forms.add("event_id");
      else if (/^\d{16}#t#\d+$/.test(sk)) forms.add("trade");
      else if (/^\d{16}#\d+#[cd]$/.test(sk)) forms.add("order c/d");
      else if (/^\d{16}#\d+#u#\d+(\.\d+)?$/.test(sk)) forms.add("order u#amount");
      else throw new Error(`unexpected sort key ${sk}`);
      // The same frame again (another receive time: a retry, a replay) lands on the same key.
      expect(eventKeys(eventOf(frame, 2_000_000_000_000_000), 4)).toEqual({ pk, sk });
    }
    expect(keys.size).toBe(frames.length);
    const crowded = [...sharedMicros.values()].filter((n) => n >= 2);
    expect(crowded.reduce((sum, n) => sum + n, 0)).toBeGreaterThanOrEqual(3_000);
    expect([...forms].sort()).toEqual(orderFormat === "2026" ? ["event_id", "trade"] : ["order c/d", "order u#amount", "trade"]);
  });

  test("2022 layout: no event_id, the old key order, and one order changed twice in one millisecond told apart by amount_str", () => {
    const frames = generateFrames({ pairs: ["btcusd"], countPerPair: 10_000, seed: 3, orderFormat: "2022" });
    const changes = new Map<string, Set<string>>();
    for (const frame of frames.filter(isOrder)) {
      const parsed = parse(frame);
      expect(Object.keys(parsed)).toEqual(["data", "channel", "event"]);
      expect(Object.keys(parsed.data)).toEqual(["id", "id_str", "order_type", "datetime", "microtimestamp", "amount", "amount_str", "price", "price_str"]);
      if (parsed.event !== "order_changed") continue;
      const key = `${parsed.data.id_str} ${parsed.data.microtimestamp}`;
      const amounts = changes.get(key) ?? new Set<string>();
      amounts.add(parsed.data.amount_str);
      changes.set(key, amounts);
    }
    const twice = [...changes.values()].filter((amounts) => amounts.size >= 2);
    expect(twice.length).toBeGreaterThanOrEqual(1);
  });

  test("continues one stream across a quiet spell with nextFrames, restOfStep and advanceTo", () => {
    const opts = { pairs: ["btcusd"], countPerPair: 600, seed: 8 };
    const whole = generateFrames(opts);
    const generator = new FrameGenerator(opts);
    const first = generator.nextFrames(300);
    expect(first).toEqual(whole.slice(0, 300));
    // The rest of a sweep or re-quote under way: same exchange time as the last frame returned.
    const lastMicros = micros(first.at(-1) as string);
    const rest = generator.restOfStep();
    expect([...first, ...rest]).toEqual(whole.slice(0, 300 + rest.length));
    for (const frame of rest) expect(micros(frame)).toBe(lastMicros);
    expect(generator.restOfStep()).toEqual([]);
    // Later steps wait for the quiet spell's end (rounded up to a whole ms).
    generator.advanceTo(Number(lastMicros) + 60_000_500);
    const later = [...generator];
    expect(later.length).toBe(600 - 300 - rest.length);
    for (const frame of later) expect(micros(frame) >= lastMicros + 60_001_000n).toBe(true);
    // The event_id chain goes on across the spell.
    const lastOrder = parse([...first, ...rest].filter(isOrder).at(-1) as string).event_id;
    expect(parse(later.find(isOrder) as string).pre_event_id).toBe(lastOrder);
  });
});
