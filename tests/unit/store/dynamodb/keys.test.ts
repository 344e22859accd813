import { describe, expect, test } from "bun:test";
import { decodeFrame } from "../../../../src/exchange/bitstamp/decode.ts";
import type { MarketEvent } from "../../../../src/model/events.ts";
import {
  DEFAULT_SHARDS,
  META_KEY,
  eventKeys,
  hourBucketOf,
  hourBucketsBetween,
  parsePartitionKey,
  partitionKey,
  partitionKeysOfHour,
  shardOf,
  sortKey,
  sortKeyMicros,
} from "../../../../src/store/dynamodb/keys.ts";
import { orderAndTradeFrames } from "../../../support/fixtures.ts";

function eventOf(text: string, rxMicros = 1): MarketEvent {
  const result = decodeFrame(text, rxMicros);
  if (result.kind !== "event") throw new Error(`not an event: ${JSON.stringify(result)}`);
  return result.event;
}

/** The real 2026-08-09 frame (capture bitstamp-btcusd-20260809T100421Z). */
const ORDER_2026 =
  '{"data":{"id":2037493297635328,"id_str":"2037493297635328","order_type":0,"order_subtype":5,"datetime":"1786269862","microtimestamp":"1786269861947000","amount":0.00171371,"amount_str":"0.00171371","amount_traded":"0","amount_at_create":"0.00171371","price":58356.1,"price_str":"58356.10","is_liquidation":false},"channel":"live_orders_btcusd","event":"order_deleted","event_id":"0006589a-5c98-2678-0000-000101000020","pre_event_id":"0006589a-5c97-f798-0000-000100000020","order_source":"orderbook"}';

/** The real 2022 frame (crypto-msg-parser fixture): no event_id. */
const ORDER_2022 =
  '{"data":{"id":1496011283275781,"id_str":"1496011283275781","order_type":0,"datetime":"1654072104","microtimestamp":"1654072104363000","amount":7.9201,"amount_str":"7.92010000","price":31483.1,"price_str":"31483.10"},"channel":"live_orders_btcusd","event":"order_created"}';

const TRADE_2026 =
  '{"data":{"id":629876235,"timestamp":"1788551770","amount":0.00062132,"amount_str":"0.00062132","price":79715.39,"price_str":"79715.39","type":0,"microtimestamp":"1788551770815000","buy_order_id":2046839997059073,"sell_order_id":2046839970762754},"channel":"live_trades_btcusd","event":"trade"}';

describe("partition key", () => {
  test("is pair#stream#UTC hour of the exchange time#shard", () => {
    const { pk } = eventKeys(eventOf(ORDER_2026), 4);
    expect(pk).toMatch(/^btcusd#orders#2026080910#[0-3]$/);
    expect(pk).toBe(partitionKey("btcusd", "orders", "2026080910", shardOf("2037493297635328", 4)));
  });

  test("the hour bucket changes exactly at the hour", () => {
    expect(hourBucketOf("1786269599999000")).toBe("2026080909");
    expect(hourBucketOf("1786269600000000")).toBe("2026080910");
    expect(hourBucketOf("1654072104363000")).toBe("2022060108");
    // Out of order after the cache held another hour.
    expect(hourBucketOf("1786269599999999")).toBe("2026080909");
  });

  test("refuses a microtimestamp of more than 16 digits: no 16-digit sort key or hour bucket holds it", () => {
    expect(() => hourBucketOf("17862698619470001")).toThrow('microtimestamp "17862698619470001" has 17 digits; keys hold at most 16');
    // 20 digits and more are beyond JS dates ("Invalid Date" before): the same clear RangeError.
    expect(() => hourBucketOf("9".repeat(400))).toThrow(RangeError);
    expect(() => hourBucketOf("9".repeat(400))).toThrow("has 400 digits");
  });

  test("the hour bucket of any microtimestamp, in or out of order, is its UTC hour (20,000 random times around hour ends)", () => {
    // The reference: the UTC hour of the time, from Date, for every call (no cache).
    const reference = (micros: string) => new Date(Math.floor(Number(micros) / 1000)).toISOString().slice(0, 13).replace(/[-T]/g, "");
    let a = 11;
    const rand = () => ((a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 4294967296);
    const hourEnd = 1_786_269_600_000_000;
    for (let i = 0; i < 20_000; i++) {
      const shape = rand();
      let micros: number;
      if (shape < 0.4) micros = hourEnd + Math.floor((rand() - 0.5) * 4) * 3_600_000_000 + (rand() < 0.5 ? Math.floor(rand() * 3) - 1 : Math.floor((rand() - 0.5) * 2_000)); // an hour end, or 1 µs / up to 1 ms off
      else if (shape < 0.8) micros = Math.floor(rand() * 2_000_000_000_000_000); // any 16-digit time up to 2033
      else micros = Math.floor(rand() * 10 ** (4 + Math.floor(rand() * 12))); // fewer digits (1970)
      for (const text of [String(micros), String(micros).padStart(16, "0")]) {
        if (hourBucketOf(text) !== reference(text)) throw new Error(`hourBucketOf(${text}) is ${hourBucketOf(text)}, not ${reference(text)}`);
      }
    }
  });

  test("hour buckets between two times include both ends", () => {
    expect(hourBucketsBetween(1786269599999000, 1786273200000000)).toEqual(["2026080909", "2026080910", "2026080911"]);
    expect(hourBucketsBetween(1786269600000000, 1786269600000001)).toEqual(["2026080910"]);
  });

  test("parses back into its parts and lists every shard of an hour", () => {
    expect(parsePartitionKey("btcusd-perp#trades#2026080910#3")).toEqual({ pair: "btcusd-perp", stream: "trades", hourBucket: "2026080910", shard: 3 });
    expect(parsePartitionKey(META_KEY.pk)).toBeUndefined();
    expect(parsePartitionKey("btcusd#books#2026080910#3")).toBeUndefined();
    expect(partitionKeysOfHour("btcusd", "orders", "2026080910", 3)).toEqual([
      "btcusd#orders#2026080910#0",
      "btcusd#orders#2026080910#1",
      "btcusd#orders#2026080910#2",
    ]);
  });

  test("DEFAULT_SHARDS is 4 and the metadata key is not an event partition", () => {
    expect(DEFAULT_SHARDS).toBe(4);
    expect(META_KEY).toEqual({ pk: "obcap#meta", sk: "table" });
  });
});

describe("sort key", () => {
  test("is the 16-digit microtimestamp and event_id when the frame has one", () => {
    expect(sortKey(eventOf(ORDER_2026))).toBe("1786269861947000#0006589a-5c98-2678-0000-000101000020");
  });

  test("falls back to microtimestamp, order id and event code for older order frames", () => {
    expect(sortKey(eventOf(ORDER_2022))).toBe("1654072104363000#1496011283275781#c");
    expect(sortKey(eventOf(ORDER_2022.replace("order_created", "order_deleted")))).toBe("1654072104363000#1496011283275781#d");
  });

  test("adds amount_str for order_changed, so two changes in one ms stay two items", () => {
    const first = sortKey(eventOf(ORDER_2022.replace("order_created", "order_changed")));
    const second = sortKey(eventOf(ORDER_2022.replace("order_created", "order_changed").replace('"7.92010000"', '"5.00000000"')));
    expect(first).toBe("1654072104363000#1496011283275781#u#7.92010000");
    expect(second).toBe("1654072104363000#1496011283275781#u#5.00000000");
  });

  test("uses t and the trade id for trades", () => {
    expect(sortKey(eventOf(TRADE_2026))).toBe("1788551770815000#t#629876235");
  });

  test("uses the order id from the exact text of id when id_str is absent", () => {
    const withoutIdStr = ORDER_2022.replace('"id":1496011283275781,"id_str":"1496011283275781"', '"id":12345678901234567891');
    expect(sortKey(eventOf(withoutIdStr))).toBe("1654072104363000#12345678901234567891#c");
  });

  test("pads short microtimestamps to 16 digits so they sort as numbers", () => {
    expect(sortKeyMicros("999000")).toBe("0000000000999000");
    expect(sortKeyMicros(1786269861947000)).toBe("1786269861947000");
    expect(sortKeyMicros(999000)).toBe("0000000000999000");
    expect(sortKeyMicros("1786269861947000")).toBe("1786269861947000");
  });

  test("the same frame gives the same keys twice, whatever the receive time", () => {
    for (const text of orderAndTradeFrames()) {
      expect(eventKeys(eventOf(text, 1), DEFAULT_SHARDS)).toEqual(eventKeys(eventOf(text, 2_000_000_000_000_000), DEFAULT_SHARDS));
    }
  });

  test("every real order and trade frame has its own key", () => {
    const keys = new Set(orderAndTradeFrames().map((text) => Object.values(eventKeys(eventOf(text), DEFAULT_SHARDS)).join("\u0000")));
    expect(keys.size).toBe(orderAndTradeFrames().length);
  });
});

describe("sort keys of events sharing one microtimestamp (the feed has ms resolution and bursts)", () => {
  const MICROS = "1786269861947000";
  /** `ORDER_2026` with another event, amounts and event ids, at the same microtimestamp. */
  const order2026 = (event: string, amount: string, eventId: string, preEventId: string) =>
    ORDER_2026.replace('"event":"order_deleted"', `"event":"${event}"`)
      .replace('"amount":0.00171371,"amount_str":"0.00171371"', `"amount":${Number(amount)},"amount_str":"${amount}"`)
      .replace('"event_id":"0006589a-5c98-2678-0000-000101000020"', `"event_id":"${eventId}"`)
      .replace('"pre_event_id":"0006589a-5c97-f798-0000-000100000020"', `"pre_event_id":"${preEventId}"`);
  /** `ORDER_2022` (no event_id) moved to MICROS, with another order id, event and amount. */
  const order2022 = (id: string, event: string, amount: string) =>
    ORDER_2022.replace('"id":1496011283275781,"id_str":"1496011283275781"', `"id":${id},"id_str":"${id}"`)
      .replace('"microtimestamp":"1654072104363000"', `"microtimestamp":"${MICROS}"`)
      .replace('"amount":7.9201,"amount_str":"7.92010000"', `"amount":${Number(amount)},"amount_str":"${amount}"`)
      .replace('"event":"order_created"', `"event":"${event}"`);
  /** `TRADE_2026` moved to MICROS, with another trade id. */
  const trade = (id: string) =>
    TRADE_2026.replace('"id":629876235', `"id":${id}`).replace('"microtimestamp":"1788551770815000"', `"microtimestamp":"${MICROS}"`);

  /** Burst of each key form: distinct events, one microtimestamp, as a sweep or a re-quote writes them. */
  const bursts: Array<[form: string, pattern: RegExp, frames: string[]]> = [
    ["<µs16>#<event_id>", /^1786269861947000#0006589a-5c98-2678-0000-0001\d{2}000020$/, [
      // One order changed twice, then deleted, then another order created: counter 01, 02, 03, 00.
      order2026("order_changed", "0.00100000", "0006589a-5c98-2678-0000-000101000020", "0006589a-5c97-f798-0000-000100000020"),
      order2026("order_changed", "0.00050000", "0006589a-5c98-2678-0000-000102000020", "0006589a-5c98-2678-0000-000101000020"),
      order2026("order_deleted", "0.00000000", "0006589a-5c98-2678-0000-000103000020", "0006589a-5c98-2678-0000-000102000020"),
      order2026("order_created", "0.00171371", "0006589a-5c98-2678-0000-000100000020", "0006589a-5c98-2678-0000-000103000020")
        .replace(/2037493297635328/g, "2037493297635584"),
    ]],
    ["<µs16>#<order id>#<c|u|d>[#amount_str]", /^1786269861947000#\d+#(c|d|u#\d+\.\d+)$/, [
      order2022("1496011283275781", "order_created", "7.92010000"),
      order2022("1496011283275781", "order_changed", "5.00000000"),
      order2022("1496011283275781", "order_changed", "2.50000000"),
      order2022("1496011283275781", "order_deleted", "0.00000000"),
      order2022("1496011283276032", "order_created", "7.92010000"),
      order2022("1496011283276032", "order_deleted", "7.92010000"),
    ]],
    ["<µs16>#t#<trade id>", /^1786269861947000#t#\d+$/, [trade("629876235"), trade("629876236"), trade("629876237")]],
  ];

  test.each(bursts)("%s: distinct events get distinct sort keys", (_form, pattern, frames) => {
    const sortKeys = frames.map((text) => sortKey(eventOf(text)));
    for (const sk of sortKeys) expect(sk).toMatch(pattern);
    expect(new Set(sortKeys).size).toBe(frames.length);
    // Distinct items too (pk + sk), whatever the shard count.
    for (const shards of [1, DEFAULT_SHARDS]) {
      expect(new Set(frames.map((text) => Object.values(eventKeys(eventOf(text), shards)).join("\u0000"))).size).toBe(frames.length);
    }
  });

  test.each(bursts)("%s: the same event twice gets the same key, whenever it is received", (_form, _pattern, frames) => {
    for (const text of frames) {
      expect(eventKeys(eventOf(text, 2_000_000_000_000_000), DEFAULT_SHARDS)).toEqual(eventKeys(eventOf(text, 1), DEFAULT_SHARDS));
    }
  });
});

describe("shardOf", () => {
  /** Ids shaped like Bitstamp's: a sequence shifted left 8 bits plus a small number (23/39 real ids end in byte 0). */
  function bitstampLikeIds(count: number): string[] {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push(String(7_995_468_667_312n * 256n + BigInt(i * 37) * 256n + BigInt([0, 0, 0, 1, 2, 4, 5][i % 7] ?? 0)));
    return ids;
  }

  test("is deterministic and in range", () => {
    for (const shards of [1, 2, 3, 4, 7, 16]) {
      for (const id of ["0", "1", "2037493297635328", "2001939623936278528"]) {
        const shard = shardOf(id, shards);
        expect(shard).toBe(shardOf(id, shards));
        expect(shard).toBeGreaterThanOrEqual(0);
        expect(shard).toBeLessThan(shards);
      }
    }
  });

  test("spreads Bitstamp-shaped order ids evenly over 4 and 8 shards", () => {
    const ids = bitstampLikeIds(20_000);
    for (const shards of [4, 8]) {
      const counts = new Array<number>(shards).fill(0);
      for (const id of ids) counts[shardOf(id, shards)] = (counts[shardOf(id, shards)] ?? 0) + 1;
      const expected = ids.length / shards;
      for (const c of counts) expect(Math.abs(c - expected) / expected).toBeLessThan(0.05);
    }
  });

  test("spreads sequential trade ids evenly", () => {
    const counts = [0, 0, 0, 0];
    for (let id = 629_876_235; id < 629_876_235 + 10_000; id++) counts[shardOf(String(id), 4)]! += 1;
    for (const c of counts) expect(Math.abs(c - 2_500) / 2_500).toBeLessThan(0.05);
  });

  test("a plain decimal modulo would not: most Bitstamp-shaped ids are multiples of 4", () => {
    const zeros = bitstampLikeIds(7_000).filter((id) => BigInt(id) % 4n === 0n).length;
    expect(zeros / 7_000).toBeGreaterThan(0.5);
  });

  test("rejects a shard count that is not a positive integer", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => shardOf("1", bad)).toThrow(RangeError);
  });
});
