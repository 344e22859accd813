/**
 * The item codec loses nothing: every real order and trade frame, and generated edge cases, go
 * frame -> event -> item -> (DynamoDB's Number canonicalization) -> frame text and come back with
 * byte-identical strings and exactly the same numbers; compact frames come back byte for byte.
 */
import { describe, expect, test } from "bun:test";
import { decodeFrame } from "../../../../src/exchange/bitstamp/decode.ts";
import type { MarketEvent } from "../../../../src/model/events.ts";
import { JsonNumber } from "../../../../src/base/exact-json.ts";
import { encodeItem, encodeItemByTable } from "../../../../src/store/dynamodb/event-item.ts";
import { decodeItem, decodeItemRx } from "../../../../src/store/dynamodb/item-decoder.ts";
import { RESERVED_ATTRIBUTES, knownAttributeNames } from "../../../../src/store/dynamodb/item-fields.ts";
import type { Item } from "../../../../src/store/dynamodb/item.ts";
import { META_KEY, eventKeys } from "../../../../src/store/dynamodb/keys.ts";
import { ODD_VALUES, baseFrames } from "../../../support/frame-mutations.ts";
import { parseJsonExactForCompare } from "../../../support/exact-compare.ts";
import { EDGE_BASE_ORDER_2026, EDGE_BASE_TRADE_2026, EDGE_CASES, editFrame as edit } from "../../../support/edge-frames.ts";
import { orderAndTradeFrameEntries } from "../../../support/fixtures.ts";
import { generateFrames } from "../../../support/frame-generator.ts";

const RX = 1_788_551_766_927_713;

function eventOf(text: string, rxMicros = RX): MarketEvent {
  const result = decodeFrame(text, rxMicros);
  if (result.kind !== "event") throw new Error(`not an event: ${JSON.stringify(result)}`);
  return result.event;
}

/**
 * What DynamoDB does to a Number (measured on DynamoDB Local 1.25.1): drop leading zeros and
 * trailing fraction zeros, "-0" -> "0". With `exponent`, also spell it in exponent form
 * ("58356.1" -> "5.83561E+4"), which the decoder must accept too.
 */
function simulateDynamoCanonicalization(item: Item, exponent = false): Item {
  const out: Item = {};
  for (const [name, av] of Object.entries(item)) {
    if (av.N === undefined) {
      out[name] = av;
      continue;
    }
    const negative = av.N.startsWith("-");
    let [int = "", frac = ""] = (negative ? av.N.slice(1) : av.N).split(".");
    int = int.replace(/^0+/, "");
    frac = frac.replace(/0+$/, "");
    let text: string;
    if (int === "" && frac === "") text = "0";
    else if (!exponent) text = `${negative ? "-" : ""}${int === "" ? "0" : int}${frac === "" ? "" : `.${frac}`}`;
    else {
      const digits = (int + frac).replace(/^0+/, "");
      const power = int !== "" ? int.length - 1 : -(frac.length - frac.replace(/^0+/, "").length + 1);
      const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1).replace(/0+$/, "")}`.replace(/\.$/, "") : digits;
      text = `${negative ? "-" : ""}${mantissa}E${power >= 0 ? "+" : ""}${power}`;
    }
    out[name] = { N: text };
  }
  return out;
}

/** frame -> item -> canonicalized -> frame text, in both spellings DynamoDB might return. */
function roundTrips(text: string): string[] {
  const item = encodeItem(eventOf(text), 4);
  return [decodeItem(simulateDynamoCanonicalization(item)), decodeItem(simulateDynamoCanonicalization(item, true))];
}

/** Same strings byte for byte, same numbers by exact value; compact frames (what the exchange sends) byte for byte. */
function expectExactRoundTrip(text: string, where: string, compactBytes = true): void {
  for (const back of roundTrips(text)) {
    const same = JSON.stringify(parseJsonExactForCompare(back)) === JSON.stringify(parseJsonExactForCompare(text));
    if (!same) expect(parseJsonExactForCompare(back)).toEqual(parseJsonExactForCompare(text));
    if (compactBytes && !/": |", /.test(text) && back !== text) throw new Error(`${where}: not byte-exact\n${text}\n${back}`);
  }
}

const ORDER_2026 = EDGE_BASE_ORDER_2026;
const TRADE_2026 = EDGE_BASE_TRADE_2026;

describe("round trip through DynamoDB's Number canonicalization", () => {
  test("every real order and trade frame comes back exactly", () => {
    const frames = orderAndTradeFrameEntries();
    expect(frames.length).toBe(24);
    for (const { where, text } of frames) expectExactRoundTrip(text, where);
  });

  test.each(Object.entries(EDGE_CASES))("%s comes back byte for byte", (name, text) => {
    expectExactRoundTrip(text, name);
    for (const back of roundTrips(text)) expect(back).toBe(text);
  });

  test("2,000 generated frames with huge ids and exponent numbers come back byte for byte", () => {
    const frames = generateFrames({ pairs: ["btcusd", "usdteur", "btcusd-perp"], countPerPair: 700, hugeIds: true, exponentNumbers: true });
    expect(frames.length).toBe(2_100);
    for (const [i, text] of frames.entries()) expectExactRoundTrip(text, `generated #${i}`);
  });

  test("a string spelled with \\u escapes comes back with the same characters, spelled plainly", () => {
    const text = edit(ORDER_2026, '"order_source":"orderbook"', '"order_source":"order\\u00e9\\u2028book"');
    expectExactRoundTrip(text, "escapes", false);
    expect(roundTrips(text)[0]).toContain('"order_source":"order\u00e9\u2028book"');
  });

  test("the real frame re-serialized by Python comes back with the same values, compact", () => {
    const reserialized = orderAndTradeFrameEntries().find((f) => f.text.includes('"amount": 1e-08'));
    if (reserialized === undefined) throw new Error("fixture missing");
    const [back] = roundTrips(reserialized.text);
    expect(back).toBe(
      '{"channel":"live_trades_btcusd","data":{"amount":1e-08,"amount_str":"1E-8","buy_order_id":1341285759094784,"id":158457579,"microtimestamp":"1616297318187000","price":57748.8,"price_str":"57748.80","sell_order_id":1341285698236416,"timestamp":"1616297318","type":0},"event":"trade"}',
    );
  });
});

describe("attributes", () => {
  test("the real 2026-08-09 order_deleted becomes this item (docs/data-model.md example)", () => {
    expect(encodeItem(eventOf(ORDER_2026), 4)).toEqual({
      pk: { S: "btcusd#orders#2026080910#0" },
      sk: { S: "1786269861947000#0006589a-5c98-2678-0000-000101000020" },
      rx: { N: "1788551766927713" },
      ev: { S: "order_deleted" },
      id: { N: "2037493297635328" },
      is: { S: "2037493297635328" },
      ot: { N: "0" },
      os: { N: "5" },
      dt: { S: "1786269862" },
      mt: { S: "1786269861947000" },
      an: { N: "0.00171371" },
      a: { N: "0.00171371" },
      at: { N: "0" },
      ac: { N: "0.00171371" },
      pn: { N: "58356.1" },
      p: { N: "58356.10" },
      lq: { BOOL: false },
      ei: { S: "0006589a-5c98-2678-0000-000101000020" },
      pe: { S: "0006589a-5c97-f798-0000-000100000020" },
      src: { S: "orderbook" },
      sc: { S: "p2" },
    });
  });

  test("decimal strings become Numbers from their own text; the scale is recorded only when zeros would be lost", () => {
    const item = encodeItem(eventOf(TRADE_2026), 4);
    expect(item.p).toEqual({ N: "79715.39" });
    expect(item.a).toEqual({ N: "0.00062132" });
    expect(item.sc).toBeUndefined();
    const zeros = encodeItem(eventOf(EDGE_CASES["filled order with amount 0 and amount_str 0.00000000"] ?? ""), 4);
    expect(zeros.a).toEqual({ N: "0.00000000" });
    expect(zeros.sc).toEqual({ S: "a8,p2" });
  });

  test("ids above 2^53 are Numbers with their exact digits", () => {
    const item = encodeItem(eventOf(EDGE_CASES["19-digit trade and order ids above 2^53"] ?? ""), 4);
    expect(item.id).toEqual({ N: "2001939623936278528" });
    expect(item.bo).toEqual({ N: "12345678901234567891" });
    expect(item.so).toEqual({ N: "9007199254740993" });
  });

  test("text no Number can rebuild is stored verbatim as S", () => {
    const item = encodeItem(eventOf(EDGE_CASES["Python exponent numbers and an exponent decimal string"] ?? ""), 4);
    expect(item.an).toEqual({ S: "1e-08" });
    expect(item.a).toEqual({ S: "1E-8" });
    const huge = encodeItem(eventOf(EDGE_CASES["an order id without id_str, beyond 38 digits"] ?? ""), 4);
    expect(huge.id).toEqual({ S: "1234567890123456789012345678901234567890" });
  });

  test("unknown fields are kept as exact JSON in xd and xt, and an unusual key order in ko", () => {
    const item = encodeItem(eventOf(EDGE_CASES["unknown fields of every JSON type in data and at the top level"] ?? ""), 4);
    expect(item.xd?.S).toBe(
      '{"new_decimal":"0.10000000","new_obj":{"a":[1,2.50,"x"],"b":null},"new_bool":true,"new_null":null,"new_num":1e-05,"new_big":123456789012345678901234567890123456789012,"new_str":"é\\"\\\\"}',
    );
    expect(item.xt?.S).toBe('{"new_top":{"k":"v"},"seq":12345678901234567890}');
    expect(item.ko).toBeUndefined();
    const moved = encodeItem(eventOf(EDGE_CASES["an unknown field in the middle of data"] ?? ""), 4);
    expect(JSON.parse(moved.ko?.S ?? "[]")[0].slice(0, 6)).toEqual(["id", "id_str", "order_type", "order_subtype", "venue", "datetime"]);
  });

  test("rx holds the receive time and decodeItemRx reads it back", () => {
    const item = encodeItem(eventOf(ORDER_2026, 1_786_269_862_033_123), 4);
    expect(item.rx).toEqual({ N: "1786269862033123" });
    expect(decodeItemRx(simulateDynamoCanonicalization(item))).toBe(1_786_269_862_033_123);
  });

  test("the same frame received twice gives the same item apart from rx", () => {
    const { rx: _a, ...first } = encodeItem(eventOf(ORDER_2026, 1), 4);
    const { rx: _b, ...second } = encodeItem(eventOf(ORDER_2026, 2), 4);
    expect(first).toEqual(second);
  });

  test("keeps frames with 1,000 unknown top-level keys, after or before the known ones, exactly", () => {
    // Past 32 top-level keys the key-order check uses a Set (30,000 keys took 0.47 s with includes).
    const keys = Array.from({ length: 1_000 }, (_, i) => `"k${i}":${i}`).join(",");
    expectExactRoundTrip(`${ORDER_2026.slice(0, -1)},${keys}}`, "1,000 top-level keys after the known ones");
    expectExactRoundTrip(`{${keys},${ORDER_2026.slice(1)}`, "1,000 top-level keys before data");
  });

  test("no two wire fields share an attribute name, and none is reserved", () => {
    for (const names of Object.values(knownAttributeNames())) {
      const attrs = Object.values(names);
      expect(new Set(attrs).size).toBe(attrs.length);
      for (const reserved of RESERVED_ATTRIBUTES) expect(attrs).not.toContain(reserved);
    }
  });

  test("items of real 2026 frames stay under 1 KB (1 write unit each)", () => {
    for (const { text } of orderAndTradeFrameEntries()) {
      const item = encodeItem(eventOf(text), 4);
      // DynamoDB item size: attribute name bytes + value bytes (N counted as its text: an upper bound).
      const size = Object.entries(item).reduce((sum, [name, av]) => sum + name.length + (av.S ?? av.N ?? "x").length, 0);
      expect(size).toBeLessThan(1024);
    }
  });
});

describe("decodeItem on items it did not write", () => {
  test("refuses the table metadata item", () => {
    expect(() => decodeItem({ pk: { S: META_KEY.pk }, sk: { S: META_KEY.sk } })).toThrow("not an obcap event item");
  });

  test("names the item and attribute when an attribute has the wrong type", () => {
    const item = encodeItem(eventOf(ORDER_2026), 4);
    item.p = { BOOL: true };
    expect(() => decodeItem(item)).toThrow(/item "btcusd#orders#2026080910#0" .*attribute p \(price_str\) has an unexpected type BOOL/);
  });
});

describe("the layout fast path (item-templates.ts)", () => {
  /** encodeItem against the general table-driven path: the same attributes, values and attribute order. */
  function expectSameAsTable(ev: MarketEvent, where: string): void {
    let keys: { pk: string; sk: string };
    try {
      keys = eventKeys(ev, 4);
    } catch {
      expect(() => encodeItem(ev, 4)).toThrow(); // a mutated key field: no keys, no item, on either path
      return;
    }
    const { pk, sk } = keys;
    const fast = encodeItem(ev, 4);
    const general = encodeItemByTable(ev, pk, sk, String(Math.trunc(ev.rxMicros)));
    if (JSON.stringify(fast) !== JSON.stringify(general)) throw new Error(`${where}:\n${JSON.stringify(fast)}\n${JSON.stringify(general)}`);
  }

  /** Events whose data, extra fields or key order were changed after decoding (encodeItem takes any MarketEvent). */
  function* eventMutations(ev: MarketEvent): Generator<[string, MarketEvent]> {
    const data = ev.data as Record<string, unknown>;
    const withData = (changed: Record<string, unknown>) => ({ ...ev, data: changed }) as unknown as MarketEvent;
    for (const key of Object.keys(data)) {
      const { [key]: _removed, ...rest } = data;
      yield [`data.${key} removed`, withData(rest)];
      for (const value of ODD_VALUES) yield [`data.${key} = ${String(value)}`, withData({ ...data, [key]: value })];
    }
    const extra = ev.extra;
    for (const key of Object.keys(extra)) {
      for (const value of [42, null, "", new JsonNumber("1.50")]) yield [`${key} = ${String(value)}`, { ...ev, extra: { ...extra, [key]: value } }];
    }
    yield ["an unknown data field", withData({ ...data, venue: "x" })];
    yield ["an unknown top-level field", { ...ev, extra: { ...extra, seq: 1 }, topLevelKeys: [...(ev.topLevelKeys ?? []), "seq"] }];
    yield ["data keys reversed", withData(Object.fromEntries(Object.entries(data).reverse()))];
    yield ["no topLevelKeys", { ...ev, topLevelKeys: undefined }];
    yield ["top-level keys in another order", { ...ev, topLevelKeys: [...(ev.topLevelKeys ?? [])].reverse() }];
  }

  test("builds the same item as the general path for real, edge-case and generated frames", () => {
    for (const [i, text] of baseFrames(300).entries()) expectSameAsTable(eventOf(text), `frame #${i}`);
  });

  test("builds the same item as the general path for events changed after decoding", () => {
    let events = 0;
    for (const text of [ORDER_2026, TRADE_2026, ...generateFrames({ pairs: ["btcusd"], countPerPair: 20, seed: 4 })]) {
      for (const [what, ev] of eventMutations(eventOf(text))) {
        expectSameAsTable(ev, what);
        events++;
      }
    }
    expect(events).toBeGreaterThan(5_000);
  });
});
