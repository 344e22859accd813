/**
 * Hand-written checks of the `live_orders` / `live_trades` frame shapes, for the decoder's hot path.
 *
 * valibot stays the source of truth (schemas.ts): these functions only answer "certainly valid?".
 * `true` means `OrderFrameSchema` / `TradeFrameSchema` accepts the frame; `false` means
 * "ask valibot", which then builds the precise error message (or accepts a shape these checks do not
 * know). A property test holds both to the same answer on every real fixture frame and on thousands
 * of mutated ones. The checks mirror the schemas field for field: JSON integers (plain or
 * {@link JsonNumber} digits), small integer codes, integer and decimal strings (same grammar as
 * `INTEGER_STRING_RE` and `DECIMAL_STRING_RE`, by a char scan: about 3x cheaper), optional
 * fields that may be absent. Unknown fields pass, as with `looseObject`.
 *
 * valibot's `safeParse` builds a whole output object per frame (~1.7 µs per frame); these checks
 * read each field once (~0.1 µs).
 */
import { JsonNumber } from "../../base/exact-json.ts";

const ZERO = 48;
const NINE = 57;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;
const LOWER_E = 101;
const UPPER_E = 69;

/** Index after the run of ASCII digits starting at `i`. */
function digitsEnd(text: string, i: number): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c < ZERO || c > NINE) break;
    i++;
  }
  return i;
}

/** Same answer as `INTEGER_STRING_RE.test(text)` (`/^\d+$/`) for a string. */
export function isIntegerText(text: string): boolean {
  return text.length > 0 && digitsEnd(text, 0) === text.length;
}

/** Same answer as `DECIMAL_STRING_RE.test(text)` (`/^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/`) for a string. */
export function isDecimalText(text: string): boolean {
  const n = text.length;
  let i = text.charCodeAt(0) === MINUS ? 1 : 0;
  let end = digitsEnd(text, i);
  if (end === i) return false;
  i = end;
  if (i === n) return true;
  let c = text.charCodeAt(i);
  if (c === DOT) {
    end = digitsEnd(text, i + 1);
    if (end === i + 1) return false;
    i = end;
    if (i === n) return true;
    c = text.charCodeAt(i);
  }
  if (c !== LOWER_E && c !== UPPER_E) return false;
  i++;
  c = text.charCodeAt(i);
  if (c === PLUS || c === MINUS) i++;
  end = digitsEnd(text, i);
  return end > i && end === n;
}

/** `JsonIntegerSchema`: a non-negative integer, or a {@link JsonNumber} of digits only. */
function isJsonInteger(x: unknown): boolean {
  return typeof x === "number" ? Number.isInteger(x) && x >= 0 : x instanceof JsonNumber && isIntegerText(x.text);
}

/** `JsonNumberSchema`. */
function isJsonNumber(x: unknown): boolean {
  return typeof x === "number" || x instanceof JsonNumber;
}

/** `CodeSchema` (`v.number()` + `v.integer()`; integers are never NaN). */
function isCode(x: unknown): boolean {
  return typeof x === "number" && Number.isInteger(x);
}

function isIntegerString(x: unknown): boolean {
  return typeof x === "string" && isIntegerText(x);
}

function isDecimalString(x: unknown): boolean {
  return typeof x === "string" && isDecimalText(x);
}

/** `looseObject` accepts any non-null object (arrays too: their missing keys then fail). */
function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null;
}

/** `event_id`, `pre_event_id`, `order_source`: optional strings. */
function hasChainFields(frame: Record<string, unknown>): boolean {
  const { event_id, pre_event_id, order_source } = frame;
  return (
    (event_id === undefined || typeof event_id === "string") &&
    (pre_event_id === undefined || typeof pre_event_id === "string") &&
    (order_source === undefined || typeof order_source === "string")
  );
}

/**
 * True if `OrderFrameSchema` certainly accepts `frame`, given that the caller already checked
 * `channel` is a string and `event` one of `ORDER_EVENTS`. False: ask valibot.
 */
export function isOrderFrame(frame: Record<string, unknown>): boolean {
  const d = frame.data;
  if (!isObject(d) || !hasChainFields(frame)) return false;
  return (
    isJsonInteger(d.id) &&
    (d.id_str === undefined || isIntegerString(d.id_str)) &&
    isCode(d.order_type) &&
    (d.order_subtype === undefined || isCode(d.order_subtype)) &&
    isIntegerString(d.datetime) &&
    isIntegerString(d.microtimestamp) &&
    isJsonNumber(d.amount) &&
    isDecimalString(d.amount_str) &&
    (d.amount_traded === undefined || isDecimalString(d.amount_traded)) &&
    (d.amount_at_create === undefined || isDecimalString(d.amount_at_create)) &&
    isJsonNumber(d.price) &&
    isDecimalString(d.price_str) &&
    (d.is_liquidation === undefined || typeof d.is_liquidation === "boolean")
  );
}

/**
 * True if `TradeFrameSchema` certainly accepts `frame`, given that the caller already checked
 * `channel` is a string and `event` is "trade". False: ask valibot.
 */
export function isTradeFrame(frame: Record<string, unknown>): boolean {
  const d = frame.data;
  if (!isObject(d) || !hasChainFields(frame)) return false;
  return (
    isJsonInteger(d.id) &&
    (d.id_str === undefined || isIntegerString(d.id_str)) &&
    isIntegerString(d.timestamp) &&
    isJsonNumber(d.amount) &&
    isDecimalString(d.amount_str) &&
    isJsonNumber(d.price) &&
    isDecimalString(d.price_str) &&
    isCode(d.type) &&
    isIntegerString(d.microtimestamp) &&
    isJsonInteger(d.buy_order_id) &&
    isJsonInteger(d.sell_order_id)
  );
}
