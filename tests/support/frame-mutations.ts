/**
 * Frames to hold the decoder's fast paths (frame-layouts.ts, frame-shape.ts, item-templates.ts) to
 * their general counterparts (parseJsonExact, valibot, the table-driven item encoder): real fixture
 * frames, generated ones, hand-made edge cases, and many mutations of them (a field removed, a value
 * of the wrong type, a bad decimal, a risky number, an extra field, a broken character).
 */
import { JsonNumber, parseJsonExact } from "../../src/base/exact-json.ts";
import { EDGE_CASES } from "./edge-frames.ts";
import { orderAndTradeFrameEntries } from "./fixtures.ts";
import { generateFrames } from "./frame-generator.ts";


/** Order and trade frames: the 24 real ones, the edge cases, and generated ones (plain and with huge ids / exponent numbers). */
export function baseFrames(generatedPerKind = 150): string[] {
  const pairs = ["btcusd", "usdteur"];
  return [
    ...orderAndTradeFrameEntries().map((f) => f.text),
    ...Object.values(EDGE_CASES),
    ...generateFrames({ pairs, countPerPair: generatedPerKind, seed: 3 }),
    ...generateFrames({ pairs, countPerPair: generatedPerKind, seed: 5, hugeIds: true, exponentNumbers: true }),
  ];
}

/** Values of every wrong (and some right) kind for a frame field. */
export const ODD_VALUES: readonly unknown[] = [
  "", "abc", "12,5", "1e5", "1E-8", "-1", "-0", "007", "1.", ".5", "0.10000000", "1.5e", "1.5e+3", " 1", "1 ", "9".repeat(40),
  1.5, -1, 0, 7, -0.5, 2 ** 53, 1e-7,
  new JsonNumber("3.0"), new JsonNumber("12345678901234567890"), new JsonNumber("1e-08"), new JsonNumber("-1"), new JsonNumber("-0"),
  true, false, null, {}, [], [1],
];

/** Every object-level mutation of a parsed frame, with a label. The frame itself is not changed. */
export function* objectMutations(frame: Record<string, unknown>): Generator<{ what: string; frame: Record<string, unknown> }> {
  const data = frame.data as Record<string, unknown>;
  const dataKeys = [...new Set([...Object.keys(data), "id", "id_str", "order_type", "order_subtype", "timestamp", "type", "datetime", "microtimestamp", "amount", "amount_str", "amount_traded", "amount_at_create", "price", "price_str", "is_liquidation", "buy_order_id", "sell_order_id"])];
  for (const key of dataKeys) {
    const { [key]: _removed, ...rest } = data;
    yield { what: `data.${key} removed`, frame: { ...frame, data: rest } };
    for (const value of ODD_VALUES) yield { what: `data.${key} = ${String(value)}`, frame: { ...frame, data: { ...data, [key]: value } } };
  }
  for (const key of ["event_id", "pre_event_id", "order_source"]) {
    const { [key]: _removed, ...rest } = frame;
    yield { what: `${key} removed`, frame: rest };
    for (const value of [42, null, "", true, {}]) yield { what: `${key} = ${String(value)}`, frame: { ...frame, [key]: value } };
  }
  for (const value of [null, [], "x", {}, 5]) yield { what: `data = ${JSON.stringify(value)}`, frame: { ...frame, data: value } };
  yield { what: "extra data field", frame: { ...frame, data: { ...data, venue: "x", seq: 12 } } };
  yield { what: "extra top-level field", frame: { ...frame, seq: 1, note: { a: 1 } } };
}

/** JSON tokens to put in place of a value in a frame's text. */
export const ODD_TOKENS: readonly string[] = [
  '"x"', '""', '"1.50"', '"-1"', '"1e5"', '"12,5"', '"007"', '"a\\"b"', '"\\u0041"', '"tab\tin"', '"é"',
  "1.50", "3.0", "-0", "-0.0", "1e-08", "1E5", "0.0000001", "0.000001", "0.1234567890123456", "123456789012345.6",
  "12345678901234567890", "9007199254740993", "9007199254740991", "8999999999999999", "-5", "5.5", "01", "1.", "-",
  "true", "false", "null", "{}", "[]", "[1]", '{"a":1}',
  '"live_orders_btcusd"', '"live_trades_btcusd"', '"order_book_btcusd"', '"trade"', '"order_created"', '"bts:heartbeat"', '"obcap:gap"',
];

/** A value's token in a compact frame with scalar values: `"key":<token>`. */
function valueTokenRe(key: string): RegExp {
  return new RegExp(`("${key}":)("(?:[^"\\\\]|\\\\.)*"|[^,}]*)`);
}

/** Text mutations of a compact frame: each top-level or data value replaced by each odd token, and random character edits. */
export function* textMutations(text: string, rand: () => number, charEdits = 20): Generator<string> {
  const parsed = parseJsonExact(text) as Record<string, unknown>;
  const keys = [...Object.keys(parsed.data as object), ...Object.keys(parsed).filter((k) => k !== "data")];
  for (const key of keys) {
    const re = valueTokenRe(key);
    if (!re.test(text)) continue;
    for (const token of ODD_TOKENS) yield text.replace(re, (_m, prefix: string) => `${prefix}${token}`);
  }
  // The data of one stream under the other stream's channel and event name.
  const eventRe = valueTokenRe("event");
  if (text.includes('"live_orders_')) yield text.replace('"live_orders_', '"live_trades_').replace(eventRe, '$1"trade"');
  if (text.includes('"live_trades_')) yield text.replace('"live_trades_', '"live_orders_').replace(eventRe, '$1"order_created"');
  const alphabet = ['"', "\\", " ", ",", "}", "{", ":", ".", "-", "0", "5", "9", "e", "x", "\u0001", "é"];
  for (let n = 0; n < charEdits; n++) {
    const at = Math.floor(rand() * text.length);
    const c = alphabet[Math.floor(rand() * alphabet.length)]!;
    switch (Math.floor(rand() * 3)) {
      case 0:
        yield text.slice(0, at) + c + text.slice(at + 1);
        break;
      case 1:
        yield text.slice(0, at) + text.slice(at + 1);
        break;
      default:
        yield text.slice(0, at) + c + text.slice(at);
    }
  }
}
