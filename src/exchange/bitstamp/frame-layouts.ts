/**
 * A parser for the two frame layouts Bitstamp sends all day, the hot path of `decodeFrame`: a 2026
 * `live_orders` frame and a spot `live_trades` frame, compact, keys in their usual order:
 *
 *   {"data":{"id":…,"id_str":…,"order_type":…,…,"is_liquidation":…},"channel":…,"event":…,"event_id":…,"pre_event_id":…,"order_source":…}
 *   {"data":{"id":…,"timestamp":…,"amount":…,…,"sell_order_id":…},"channel":…,"event":…}
 *
 * {@link parseKnownLayout} returns exactly what `parseJsonExact` (exact-json.ts) returns (same keys
 * in the same order, same values), and only when every value also has the type its schema wants
 * (schemas.ts: JSON integers, integer codes, integer and decimal strings, ...): then `data` and the
 * event-chain fields pass `OrderDataSchema` / `TradeDataSchema` for the returned stream, and only
 * the event name and channel are left to check. Otherwise it returns undefined and the caller
 * parses and validates the text in full: whitespace, a string with an escape, a number
 * `parseJsonExact` would keep as a `JsonNumber` (the same rules as `hasRiskyNumberToken`), a value
 * of another type, any other layout. Property tests hold it to `parseJsonExact` and to valibot on
 * real, generated and mutated frames.
 *
 * Why: matching known keys with `startsWith`, computing numbers from their digits and checking each
 * string's grammar while reading it replaces `JSON.parse`, the scan for risky numbers and the shape
 * check (~0.6 µs instead of ~1.9 µs for an order frame), and builds objects with a fixed shape.
 *
 * Numbers: a plain integer of at most 16 digits below 9e15 is exact in a double when built digit by
 * digit; a decimal with at most 15 digits in all is m / 10^k with both exact, and one IEEE division
 * rounds correctly, as `JSON.parse` does.
 *
 * Strings are slices of the frame text (JSON.parse copies). In a replay the frame text is itself a
 * slice of a 1 MiB input chunk, so a string kept for long (the chain tracker's window of recent
 * event ids) keeps its chunk alive: bounded, measured +30-45 MiB peak RSS in a 2,000,000-line dry
 * run. Copying in JS costs more than the parse saves (a join per id: +0.5 µs per frame measured).
 */
import type { Stream } from "../../model/channels.ts";
import { beginNumberTexts, noteNumberText } from "../../base/exact-json.ts";

/** How a value is read and checked; each mirrors one schema of schemas.ts. */
const Kind = {
  /** `JsonIntegerSchema`: a non-negative integer (ids). */
  JsonInteger: 0,
  /** `CodeSchema`: any integer (`order_type`, `type`). */
  Code: 1,
  /** `JsonNumberSchema`. */
  Number: 2,
  /** `IntegerStringSchema`: digits only (`microtimestamp`, `id_str`). */
  IntegerString: 3,
  /** `DecimalStringSchema` (`price_str`). */
  DecimalString: 4,
  /** `v.string()`. */
  String: 5,
  /** `v.boolean()`. */
  Boolean: 6,
} as const;
type Kind = (typeof Kind)[keyof typeof Kind];

interface Layout {
  readonly stream: Stream;
  /** The text before each value: `{"data":{"id":`, `,"id_str":`, …, `},"channel":`, …. */
  readonly before: readonly string[];
  readonly kinds: readonly Kind[];
  /** The frame object from the values, in wire order. */
  readonly build: (v: readonly unknown[]) => Record<string, unknown>;
}

/** A layout from its data fields and top-level fields after `data`, each `[key, kind]`, in wire order. */
function layout(stream: Stream, data: readonly (readonly [string, Kind])[], top: readonly (readonly [string, Kind])[], build: Layout["build"]): Layout {
  return {
    stream,
    before: [
      ...data.map(([key], i) => `${i === 0 ? '{"data":{' : ","}${JSON.stringify(key)}:`),
      ...top.map(([key], i) => `${i === 0 ? "}," : ","}${JSON.stringify(key)}:`),
    ],
    kinds: [...data, ...top].map(([, kind]) => kind),
    build,
  };
}

const ORDER_2026 = layout(
  "orders",
  [
    ["id", Kind.JsonInteger], ["id_str", Kind.IntegerString], ["order_type", Kind.Code], ["order_subtype", Kind.Code],
    ["datetime", Kind.IntegerString], ["microtimestamp", Kind.IntegerString], ["amount", Kind.Number],
    ["amount_str", Kind.DecimalString], ["amount_traded", Kind.DecimalString], ["amount_at_create", Kind.DecimalString],
    ["price", Kind.Number], ["price_str", Kind.DecimalString], ["is_liquidation", Kind.Boolean],
  ],
  [["channel", Kind.String], ["event", Kind.String], ["event_id", Kind.String], ["pre_event_id", Kind.String], ["order_source", Kind.String]],
  (v) => ({
    data: {
      id: v[0], id_str: v[1], order_type: v[2], order_subtype: v[3], datetime: v[4], microtimestamp: v[5], amount: v[6],
      amount_str: v[7], amount_traded: v[8], amount_at_create: v[9], price: v[10], price_str: v[11], is_liquidation: v[12],
    },
    channel: v[13], event: v[14], event_id: v[15], pre_event_id: v[16], order_source: v[17],
  }),
);

const TRADE_SPOT = layout(
  "trades",
  [
    ["id", Kind.JsonInteger], ["timestamp", Kind.IntegerString], ["amount", Kind.Number], ["amount_str", Kind.DecimalString],
    ["price", Kind.Number], ["price_str", Kind.DecimalString], ["type", Kind.Code], ["microtimestamp", Kind.IntegerString],
    ["buy_order_id", Kind.JsonInteger], ["sell_order_id", Kind.JsonInteger],
  ],
  [["channel", Kind.String], ["event", Kind.String]],
  (v) => ({
    data: {
      id: v[0], timestamp: v[1], amount: v[2], amount_str: v[3], price: v[4], price_str: v[5], type: v[6],
      microtimestamp: v[7], buy_order_id: v[8], sell_order_id: v[9],
    },
    channel: v[10], event: v[11],
  }),
);

const LAYOUTS: readonly Layout[] = [ORDER_2026, TRADE_SPOT];

/** A frame in a known layout: `data` and the event-chain fields already have their schema's types for `stream`. */
export interface KnownFrame {
  stream: Stream;
  frame: Record<string, unknown>;
}

/** Values of the frame being parsed (reused: no array per frame). */
const values: unknown[] = [];
/** Read position in the text being parsed. */
let pos = 0;
/** A value this parser does not read the way `parseJsonExact` would, or not of the wanted type. */
const NOT_READ = Symbol("not read");

/** The frame of `text` when it has one of the layouts above with well-typed values (see the file header), else undefined. */
export function parseKnownLayout(text: string): KnownFrame | undefined {
  // The number texts read here spare the item encoder String(number) (exact-json.ts, numberText).
  beginNumberTexts(text);
  for (const known of LAYOUTS) {
    const frame = parseLayout(text, known);
    if (frame !== undefined) return { stream: known.stream, frame };
  }
  return undefined;
}

function parseLayout(text: string, known: Layout): Record<string, unknown> | undefined {
  const { before, kinds } = known;
  pos = 0;
  for (let i = 0; i < before.length; i++) {
    const prefix = before[i]!;
    if (!text.startsWith(prefix, pos)) return undefined;
    pos += prefix.length;
    const value = readValue(text, kinds[i]!);
    if (value === NOT_READ) return undefined;
    values[i] = value;
  }
  if (pos !== text.length - 1 || text.charCodeAt(pos) !== CLOSE_BRACE) return undefined;
  return known.build(values);
}

const QUOTE = 34;
const BACKSLASH = 92;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const LOWER_E = 101;
const UPPER_E = 69;
const CLOSE_BRACE = 125;
const SPACE = 32;

/** Exact powers of ten up to 1e15 (a non-risky decimal has at most 15 digits). */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

function readValue(text: string, kind: Kind): unknown {
  switch (kind) {
    case Kind.JsonInteger: {
      const x = readNumber(text);
      return typeof x === "number" && Number.isInteger(x) && x >= 0 ? x : NOT_READ;
    }
    case Kind.Code: {
      const x = readNumber(text);
      return typeof x === "number" && Number.isInteger(x) ? x : NOT_READ;
    }
    case Kind.Number:
      return readNumber(text);
    case Kind.IntegerString:
      return readIntegerString(text);
    case Kind.DecimalString:
      return readDecimalString(text);
    case Kind.String:
      return readString(text);
    case Kind.Boolean:
      if (text.startsWith("true", pos)) {
        pos += 4;
        return true;
      }
      if (text.startsWith("false", pos)) {
        pos += 5;
        return false;
      }
      return NOT_READ;
  }
}

/** Any string without escapes: its text is the slice between the quotes. */
function readString(text: string): unknown {
  if (text.charCodeAt(pos) !== QUOTE) return NOT_READ;
  const start = pos + 1;
  for (let i = start; ; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return endString(text, start, i);
    // An escape needs decoding; a control character makes JSON.parse throw; NaN is the end of the text.
    if (c === BACKSLASH || c < SPACE || c !== c) return NOT_READ;
  }
}

/** A string of one or more ASCII digits. */
function readIntegerString(text: string): unknown {
  if (text.charCodeAt(pos) !== QUOTE) return NOT_READ;
  const start = pos + 1;
  const end = digitsEnd(text, start);
  if (end === start || text.charCodeAt(end) !== QUOTE) return NOT_READ;
  return endString(text, start, end);
}

/** A string `-?\d+(\.\d+)?([eE][+-]?\d+)?` (`DECIMAL_STRING_RE`). */
function readDecimalString(text: string): unknown {
  if (text.charCodeAt(pos) !== QUOTE) return NOT_READ;
  const start = pos + 1;
  let i = text.charCodeAt(start) === MINUS ? start + 1 : start;
  let end = digitsEnd(text, i);
  if (end === i) return NOT_READ;
  i = end;
  let c = text.charCodeAt(i);
  if (c === DOT) {
    end = digitsEnd(text, i + 1);
    if (end === i + 1) return NOT_READ;
    i = end;
    c = text.charCodeAt(i);
  }
  if (c === LOWER_E || c === UPPER_E) {
    i++;
    c = text.charCodeAt(i);
    if (c === PLUS || c === MINUS) i++;
    end = digitsEnd(text, i);
    if (end === i) return NOT_READ;
    i = end;
    c = text.charCodeAt(i);
  }
  return c === QUOTE ? endString(text, start, i) : NOT_READ;
}

function endString(text: string, start: number, closingQuote: number): string {
  pos = closingQuote + 1;
  return text.slice(start, closingQuote);
}

function digitsEnd(text: string, i: number): number {
  let c = text.charCodeAt(i);
  while (c >= ZERO && c <= NINE) c = text.charCodeAt(++i);
  return i;
}

/** A number `parseJsonExact` keeps as a plain number (else NOT_READ), computed from its digits. */
function readNumber(text: string): unknown {
  let i = pos;
  const negative = text.charCodeAt(i) === MINUS;
  if (negative) i++;
  const intStart = i;
  let m = 0;
  let c = text.charCodeAt(i);
  while (c >= ZERO && c <= NINE) {
    m = m * 10 + (c - ZERO);
    c = text.charCodeAt(++i);
  }
  const intDigits = i - intStart;
  const first = text.charCodeAt(intStart);
  if (intDigits === 0 || (intDigits > 1 && first === ZERO)) return NOT_READ; // not JSON
  // 17+ digits, or 16 from 9e15 on: may be above 2^53 (hasRiskyNumberToken's rule).
  if (intDigits >= 17 || (intDigits === 16 && first === NINE)) return NOT_READ;
  let scale = 0;
  if (c === DOT) {
    const fracStart = ++i;
    c = text.charCodeAt(i);
    while (c >= ZERO && c <= NINE) {
      m = m * 10 + (c - ZERO);
      c = text.charCodeAt(++i);
    }
    scale = i - fracStart;
    // Not JSON; a trailing zero ("3.0"); 16+ digits; below 1e-6 (String() writes an exponent).
    if (scale === 0 || text.charCodeAt(i - 1) === ZERO || intDigits + scale >= 16) return NOT_READ;
    if (intDigits === 1 && first === ZERO && text.startsWith("000000", fracStart)) return NOT_READ;
  } else if (negative && m === 0) {
    return NOT_READ; // -0
  }
  if (c === LOWER_E || c === UPPER_E) return NOT_READ;
  const x = scale === 0 ? m : m / POW10[scale]!;
  const value = negative ? -x : x;
  noteNumberText(pos, i, value); // a token these rules pass is exactly String(value)
  pos = i;
  return value;
}
