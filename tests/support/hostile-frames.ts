/**
 * A deterministic corpus of hostile frames: real Bitstamp frames (an order of 2026-08-09, a trade of
 * 2021-04-17, see tests/fixtures/README.md) edited into what a broken or malicious peer could send
 * within the journal's line limit. Issue "Close the loss and hang windows", case 4: a frame that
 * passes `decodeFrame` but throws later, or becomes an item DynamoDB refuses, must be quarantined,
 * never stop the capture. tests/unit/exchange/bitstamp/hostile-frames.test.ts holds every frame to that
 * contract; tests/integration/hostile-items.dynamodb.test.ts sends their items to DynamoDB Local.
 *
 * Each frame has a short unique name (the tests list the expected outcome by name). No randomness:
 * the same corpus every run. Frames are strings (what a replay or a test passes), except those whose
 * point is their bytes (bad UTF-8, a BOM), which are `Uint8Array`s as the journal hands them over.
 */
import { editFrame } from "./edge-frames.ts";
import { fixtureLines } from "./fixtures.ts";

export interface HostileFrame {
  /** Short and unique, e.g. "nest array 50000 in data". */
  name: string;
  frame: string | Uint8Array;
}

/**
 * The journal quarantines lines over 350 KiB (`MAX_STORED_LINE_BYTES`, src/pipeline/journal-uploader.ts)
 * before decoding; a line is the frame plus `{"rx":<16 digits>,"m":` and `}`. Every corpus frame
 * stays under this, so each one is a frame the uploader really decodes.
 */
export const HOSTILE_FRAME_MAX_BYTES = 350 * 1024 - 64;

/** The real 2026 order_deleted (fixture live_orders_2026-08-09_te_recorder_test.ndjson, line 2): compact, every field. */
export function hostileOrderBase(): string {
  const line = fixtureLines("live_orders_2026-08-09_te_recorder_test.ndjson")[1];
  if (line === undefined || !line.includes('"event":"order_deleted"')) throw new Error("test setup: fixture line 2 is not the 2026 order_deleted");
  return line;
}

/** The first real btcusd trade of cryptofeed_2021-04-17_ws_server.ndjson: spaces after `:` and `,`, keys sorted, no event_id. */
export function hostileTradeBase(): string {
  const line = fixtureLines("cryptofeed_2021-04-17_ws_server.ndjson").find((l) => l.includes('"channel": "live_trades_btcusd"') && l.includes('"event": "trade"'));
  if (line === undefined) throw new Error("test setup: no btcusd trade in the 2021 fixture");
  return line;
}

/** `levels` nested arrays or objects around `leaf`: `[[[0]]]`, `{"a":{"a":{"a":0}}}`. */
export function nested(shape: "array" | "object", levels: number, leaf = "0"): string {
  return shape === "array" ? "[".repeat(levels) + leaf + "]".repeat(levels) : '{"a":'.repeat(levels) + leaf + "}".repeat(levels);
}

/** Replaces the value of the first `"key":` (a string, number, boolean or null token) with `valueJson`. */
export function setValue(frame: string, key: string, valueJson: string): string {
  const re = new RegExp(`"${key}": ?("(?:[^"\\\\]|\\\\.)*"|-?[0-9][0-9.eE+-]*|true|false|null)`);
  const m = re.exec(frame);
  if (m === null) throw new Error(`test setup: no scalar "${key}" in frame`);
  const colon = m[0].indexOf(":");
  return frame.slice(0, m.index) + m[0].slice(0, colon + 1) + (m[0][colon + 1] === " " ? " " : "") + valueJson + frame.slice(m.index + m[0].length);
}

/** Adds `"key":valueJson` as the last member of the order frame's `data`. */
function addOrderData(order: string, key: string, valueJson: string): string {
  return editFrame(order, '"is_liquidation":false}', `"is_liquidation":false,${JSON.stringify(key)}:${valueJson}}`);
}

/** Adds `"key":valueJson` as the last top-level member. */
function addTop(frame: string, key: string, valueJson: string): string {
  if (!frame.endsWith("}")) throw new Error("test setup: frame does not end with }");
  return `${frame.slice(0, -1)},${JSON.stringify(key)}:${valueJson}}`;
}

/** `"k0":0,"k1":0,...` (n members). */
function manyKeys(n: number, prefix = "k"): string {
  return Array.from({ length: n }, (_, i) => `"${prefix}${i}":0`).join(",");
}

/** The order without `event_id`, `pre_event_id`, `order_source` (the 2022-2025 form: sk from the order id). */
function withoutEventId(order: string): string {
  return order.replace(/,"event_id":"[^"]*","pre_event_id":"[^"]*","order_source":"[^"]*"/, "");
}

const utf8 = new TextEncoder();

/** `prefix` bytes + UTF-8 of `middle` + `suffix` bytes. */
function bytes(...parts: (string | number[])[]): Uint8Array {
  const chunks = parts.map((p) => (typeof p === "string" ? utf8.encode(p) : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Every hostile frame, in a fixed order. Throws if a name repeats or a frame exceeds {@link HOSTILE_FRAME_MAX_BYTES}. */
export function hostileFrames(): HostileFrame[] {
  const order = hostileOrderBase();
  const trade = hostileTradeBase();
  const oldOrder = withoutEventId(order);
  const frames: HostileFrame[] = [];
  const add = (name: string, frame: string | Uint8Array) => frames.push({ name, frame });

  // --- Deep nesting (Bitstamp's frames nest 2 levels, book frames 4). The reproduction is
  // "nest array 50000 in data": an order with an extra field of 50,000 nested arrays (~100 KB).
  for (const shape of ["array", "object"] as const) {
    for (const levels of [100, 1000, 50_000]) {
      const value = nested(shape, levels);
      add(`nest ${shape} ${levels} in data`, addOrderData(order, "x", value));
      add(`nest ${shape} ${levels} at top`, addTop(order, "x", value));
      add(`nest ${shape} ${levels} as price`, setValue(order, "price", value));
    }
  }
  // At the documented bound (decode.ts MAX_FRAME_NESTING = 32: the frame object, data, 30 arrays) and one over.
  add("nest array 30 in data (depth 32)", addOrderData(order, "x", nested("array", 30)));
  add("nest array 31 in data (depth 33)", addOrderData(order, "x", nested("array", 31)));
  add("nest array 50000 in a string", addOrderData(order, "x", JSON.stringify(nested("array", 50_000))));
  add("nest array 50000 in a control frame", `{"event":"bts:request_reconnect","channel":"","data":${nested("array", 50_000)}}`);
  add("nest array 50000 unclosed", `{"data":${"[".repeat(50_000)}`);

  // --- Many keys in one object.
  add("10000 keys in data", addOrderData(order, "k", "0").replace('"k":0', manyKeys(10_000)));
  add("10000 keys in data before known fields", editFrame(order, '{"data":{', `{"data":{${manyKeys(10_000)},`));
  add("10000 keys at top", addTop(order, "k", "0").replace(',"k":0}', `,${manyKeys(10_000)}}`));
  add("10000 keys at top before data", `{${manyKeys(10_000)},${order.slice(1)}`);
  add("10000 keys in a nested object", addOrderData(order, "x", `{${manyKeys(10_000)}}`));
  add("30000 keys at top", addTop(order, "k", "0").replace(',"k":0}', `,${manyKeys(30_000)}}`));
  // Unknown keys before the known ones are stored twice: in xd and again in the key order `ko`.
  add("30 long keys before known fields (item over 400 KB)", editFrame(order, '{"data":{', `{"data":{${Array.from({ length: 30 }, (_, i) => `"${String(i).padStart(2, "0")}${"k".repeat(9_998)}":0`).join(",")},`));
  add("one 300 KB unknown string", addOrderData(order, "x", JSON.stringify("x".repeat(300_000))));

  // --- Huge and tiny numbers.
  add("amount 1e400", setValue(order, "amount", "1e400"));
  add("amount -1e-400", setValue(order, "amount", "-1e-400"));
  add("amount 1e308", setValue(order, "amount", "1e308"));
  add("amount 1e+308 (String form)", setValue(order, "amount", "1e+308"));
  add("amount 5e-324", setValue(order, "amount", "5e-324"));
  add("amount 1e-7 (String form)", setValue(order, "amount", "1e-7"));
  add("price 0.(150 zeros)1", setValue(order, "price", `0.${"0".repeat(150)}1`));
  add("price 400-digit integer", setValue(order, "price", `9${"9".repeat(399)}`));
  add("id and id_str 400 digits", setValue(setValue(order, "id", `1${"2".repeat(399)}`), "id_str", JSON.stringify(`1${"2".repeat(399)}`)));
  add("price_str 39 digits", setValue(order, "price_str", '"123456789012345678901234567890123456789"'));
  add("amount_str 40-digit decimal", setValue(order, "amount_str", '"1234567890123456789012345678901234567.890"'));
  add("amount_traded 1E+126", setValue(order, "amount_traded", '"1E+126"'));
  add("amount_at_create 1E-131", setValue(order, "amount_at_create", '"1E-131"'));
  add("price_str 400 digits", setValue(order, "price_str", JSON.stringify("9".repeat(400))));
  add("price_str -0.00", setValue(order, "price_str", '"-0.00"'));
  add("order_type 1e+300", setValue(order, "order_type", "1e+300"));
  add("order_type 21 digits", setValue(order, "order_type", "123456789012345680000"));
  add("unknown number 1e400 in data", addOrderData(order, "x", "1e400"));
  add("unknown 400-digit number at top", addTop(order, "x", "1".repeat(400)));
  add("trade type -0", setValue(trade, "type", "-0"));
  add("trade amount 1e308", setValue(trade, "amount", "1e308"));
  add("microtimestamp 0", setValue(order, "microtimestamp", '"0"'));
  add("microtimestamp 16 nines", setValue(order, "microtimestamp", '"9999999999999999"'));
  add("microtimestamp 17 digits", setValue(order, "microtimestamp", '"17862698619470001"'));
  add("microtimestamp 20 digits", setValue(order, "microtimestamp", '"99999999999999999999"'));
  add("microtimestamp 400 digits", setValue(order, "microtimestamp", JSON.stringify(`1${"0".repeat(399)}`)));
  add("microtimestamp with leading zeros", setValue(order, "microtimestamp", '"0001786269861947000"'));
  add("datetime 400 digits", setValue(order, "datetime", JSON.stringify("1".repeat(400))));

  // --- Very long strings (keys: pk <= 2048 bytes, sk <= 1024 bytes; the sk is "<16 digits>#<event_id>").
  add("event_id 100 KB", setValue(order, "event_id", JSON.stringify("e".repeat(100_000))));
  add("event_id 3 KB", setValue(order, "event_id", JSON.stringify("e".repeat(3_000))));
  add("event_id 1007 chars (sk 1024 bytes)", setValue(order, "event_id", JSON.stringify("e".repeat(1_007))));
  add("event_id 1008 chars (sk 1025 bytes)", setValue(order, "event_id", JSON.stringify("e".repeat(1_008))));
  add("event_id 400 euro signs (1200 bytes)", setValue(order, "event_id", JSON.stringify("€".repeat(400))));
  add("event_id with #", setValue(order, "event_id", '"a#b#c"'));
  add("pre_event_id 100 KB", setValue(order, "pre_event_id", JSON.stringify("p".repeat(100_000))));
  add("order_source 300 KB", setValue(order, "order_source", JSON.stringify("o".repeat(300_000))));
  add("id_str 3 KB", setValue(setValue(order, "id", "1".repeat(3_000)), "id_str", JSON.stringify("1".repeat(3_000))));
  // pk = "<pair>#orders#2026080910#<shard>": 20 bytes besides the pair.
  add("pair 2028 chars (pk 2048 bytes)", editFrame(order, "live_orders_btcusd", `live_orders_${"b".repeat(2_028)}`));
  add("pair 2029 chars (pk 2049 bytes)", editFrame(order, "live_orders_btcusd", `live_orders_${"b".repeat(2_029)}`));
  add("pair 100 KB", editFrame(order, "live_orders_btcusd", `live_orders_${"b".repeat(100_000)}`));
  add("trade pair 2100 chars", editFrame(trade, "live_trades_btcusd", `live_trades_${"b".repeat(2_100)}`));
  add("channel 100 KB not stored", editFrame(order, "live_orders_btcusd", `order_book_${"b".repeat(100_000)}x_`));
  add("event name 100 KB", setValue(order, "event", JSON.stringify(`order_${"x".repeat(100_000)}`)));
  add("old order id 1100 digits (sk over 1024)", setValue(setValue(oldOrder, "id", "7".repeat(1_100)), "id_str", JSON.stringify("7".repeat(1_100))));
  add("old order_changed amount_str 1100 digits", setValue(editFrame(oldOrder, "order_deleted", "order_changed"), "amount_str", JSON.stringify(`1.${"1".repeat(1_098)}`)));
  add("trade id 1100 digits (sk over 1024)", setValue(trade, "id", "3".repeat(1_100)));
  add("datetime 100 KB", setValue(order, "datetime", JSON.stringify("2".repeat(100_000))));

  // --- Lone surrogates (a JS string can hold one; UTF-8 cannot).
  add("escaped lone high surrogate in event_id", setValue(order, "event_id", '"ab\\ud800cd"'));
  add("escaped lone low surrogate in order_source", setValue(order, "order_source", '"\\udc00"'));
  add("escaped lone surrogate in pre_event_id", setValue(order, "pre_event_id", '"\\udbff"'));
  add("escaped lone surrogate in an unknown field", addOrderData(order, "x", '"\\ud800"'));
  add("escaped lone surrogate in an unknown key", addOrderData(order, "\ud800", "1"));
  add("raw lone surrogate in event_id (string frame)", setValue(order, "event_id", '"ab\ud800cd"'));
  add("raw lone surrogate as UTF-8 bytes", bytes(order.slice(0, order.indexOf('"orderbook"') + 1), [0xed, 0xa0, 0x80], order.slice(order.indexOf('"orderbook"') + 1)));
  add("escaped surrogate pair in order_source", setValue(order, "order_source", '"\\ud83d\\ude00"'));
  add("escaped lone surrogate in the pair", editFrame(order, "live_orders_btcusd", "live_orders_btc\\ud800"));

  // --- NUL.
  add("escaped NUL in event_id", setValue(order, "event_id", '"a\\u0000b"'));
  add("escaped NUL in order_source", setValue(order, "order_source", '"\\u0000"'));
  add("escaped NUL in an unknown key", addOrderData(order, "\u0000", "1"));
  add("raw NUL inside a string", setValue(order, "order_source", '"a\u0000b"'));
  add("raw NUL between tokens", editFrame(order, ',"channel"', '\u0000,"channel"'));

  // --- Duplicate keys (JSON.parse keeps the last).
  add("data twice", editFrame(order, ',"channel"', `,"data":${order.slice(8, order.indexOf(',"channel"'))},"channel"`));
  add("data twice, the second invalid", editFrame(order, ',"channel"', ',"data":{"id":"x"},"channel"'));
  add("data twice, the first invalid", `{"data":{"id":"x"},${order.slice(1)}`);
  add("price_str twice", editFrame(order, '"is_liquidation"', '"price_str":"1.5","is_liquidation"'));
  add("event twice", editFrame(order, ',"event_id"', ',"event":"order_created","event_id"'));
  add("channel twice", editFrame(order, ',"event_id"', ',"channel":"live_orders_ethusd","event_id"'));
  add("event_id twice", editFrame(order, ',"order_source"', ',"event_id":"second","order_source"'));

  // --- Empty strings.
  add("empty event_id", setValue(order, "event_id", '""'));
  add("empty pre_event_id and order_source", setValue(setValue(order, "pre_event_id", '""'), "order_source", '""'));
  add("empty channel", setValue(order, "channel", '""'));
  add("empty event", setValue(order, "event", '""'));
  add("empty price_str", setValue(order, "price_str", '""'));
  add("empty key in data", addOrderData(order, "", "1"));
  add("empty data object", `{"data":{},"channel":"live_orders_btcusd","event":"order_deleted"}`);
  add("empty object", "{}");
  add("empty text", "");

  // --- __proto__ and other Object.prototype names.
  add("__proto__ in data", addOrderData(order, "__proto__", '{"id":1}'));
  add("__proto__ at top", addTop(order, "__proto__", '"y"'));
  add("__proto__ holding the data fields", `{"data":{"__proto__":${order.slice(8, order.indexOf(',"channel"'))}},"channel":"live_orders_btcusd","event":"order_deleted"}`);
  add("constructor and toString keys", addTop(addOrderData(order, "constructor", "1"), "toString", '"x"'));

  // --- Numbers where strings are expected, and the reverse.
  add("microtimestamp as a number", setValue(order, "microtimestamp", "1786269861947000"));
  add("event_id as a number", setValue(order, "event_id", "42"));
  add("order_source null", setValue(order, "order_source", "null"));
  add("price_str as a number", setValue(order, "price_str", "58356.1"));
  add("id as a string", setValue(order, "id", '"2037493297635328"'));
  add("price as a string", setValue(order, "price", '"58356.1"'));
  add("is_liquidation as a string", setValue(order, "is_liquidation", '"false"'));
  add("order_type 0.5", setValue(order, "order_type", "0.5"));
  add("amount true", setValue(order, "amount", "true"));
  add("order_subtype null", setValue(order, "order_subtype", "null"));
  add("channel as a number", setValue(order, "channel", "7"));
  add("event as a number", setValue(order, "event", "7"));
  add("data null", `{"data":null,"channel":"live_orders_btcusd","event":"order_deleted"}`);
  add("data array", `{"data":[1,2],"channel":"live_orders_btcusd","event":"order_deleted"}`);
  add("data string", `{"data":"x","channel":"live_orders_btcusd","event":"order_deleted"}`);
  add("trade timestamp as a number", setValue(trade, "timestamp", "1618677693"));

  // --- Other shapes.
  add("obcap:gap frame from the network", '{"event":"obcap:gap","channel":"live_orders_btcusd","data":{"start_us":"1788551766927713","end_us":"1788551769931042","reason":"stale"}}');
  add("bts:error with a 100 KB message", `{"event":"bts:error","channel":"","data":{"code":null,"message":${JSON.stringify("m".repeat(100_000))}}}`);
  add("frame is an array", `[${order}]`);
  add("frame is a number", "12345");
  add("BOM before the frame (string)", `\ufeff${order}`);
  add("BOM before the frame (bytes)", bytes([0xef, 0xbb, 0xbf], order));
  add("truncated UTF-8 at the end (bytes)", bytes(order, [0xe2, 0x82]));
  add("overlong UTF-8 (bytes)", bytes(order.slice(0, -1), [0xc0, 0xaf], "}"));
  add("300 KB of whitespace", order.replace('{"data":', `{${" ".repeat(300_000)}"data":`));
  add("trade with event_id", addTop(trade, "event_id", '"t1"'));
  add("keys reversed", JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(order) as Record<string, unknown>).reverse())));
  add("order_changed on a perpetual", editFrame(editFrame(order, "order_deleted", "order_changed"), "live_orders_btcusd", "live_orders_btcusd-perp"));
  add("upper-case pair", editFrame(order, "live_orders_btcusd", "live_orders_BTCUSD"));

  const seen = new Set<string>();
  for (const { name, frame } of frames) {
    if (seen.has(name)) throw new Error(`test setup: two hostile frames named ${JSON.stringify(name)}`);
    seen.add(name);
    const size = typeof frame === "string" ? utf8.encode(frame).length : frame.length;
    if (size > HOSTILE_FRAME_MAX_BYTES) throw new Error(`test setup: hostile frame ${JSON.stringify(name)} is ${size} bytes, over the journal's line limit`);
  }
  return frames;
}
