/**
 * Bitstamp wire formats as valibot schemas, built from the real recorded frames in tests/fixtures
 * (see bitstamp-protocol.md §1.2, §2, §3, §5). Field names are Bitstamp's own.
 *
 * - Objects are `looseObject`: a field Bitstamp adds tomorrow passes through and is stored.
 * - JSON numbers are validated as {@link ExactNumber} (a plain number, or a {@link JsonNumber} holding
 *   the exact text when a double cannot), because frames are parsed with `parseJsonExact`.
 * - Decimal strings (`price_str`, book levels) and integer strings (`microtimestamp`, `id_str`) are
 *   checked by regex and never converted.
 *
 * Field history (which fields each era has) is in bitstamp-protocol.md §2.1; optional here means
 * "absent in an older era", not "sometimes missing".
 */
import * as v from "valibot";
import { JsonNumber, type ExactNumber } from "../base/exact-json.ts";

/** A decimal in plain (`"0.10000000"`, `"27000.50"`, `"32"`) or exponent (`"1E-8"`, seen in a real re-serialized frame) form. */
export const DECIMAL_STRING_RE = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A non-negative integer written as a string (`microtimestamp`, `datetime`, `id_str`, REST order ids). */
export const INTEGER_STRING_RE = /^\d+$/;

const INTEGER_TEXT_RE = /^\d+$/;

/** A decimal string such as `price_str`. */
export const DecimalStringSchema = v.pipe(
  v.string(),
  v.regex(DECIMAL_STRING_RE, (issue) => `Invalid decimal string: Expected digits like "27000.50" but received ${issue.received}`),
);

/** An integer string such as `microtimestamp`. */
export const IntegerStringSchema = v.pipe(
  v.string(),
  v.regex(INTEGER_STRING_RE, (issue) => `Invalid integer string: Expected only digits but received ${issue.received}`),
);

/** Any JSON number (plain or exact text). */
export const JsonNumberSchema = v.custom<ExactNumber>(
  (x) => typeof x === "number" || x instanceof JsonNumber,
  (issue) => `Invalid type: Expected JSON number but received ${issue.received}`,
);

/** A non-negative JSON integer (ids), possibly above 2^53 and then kept as {@link JsonNumber}. */
export const JsonIntegerSchema = v.custom<ExactNumber>(
  (x) => (typeof x === "number" ? Number.isInteger(x) && x >= 0 : x instanceof JsonNumber && INTEGER_TEXT_RE.test(x.text)),
  (issue) => `Invalid type: Expected non-negative JSON integer but received ${issue.received}`,
);

/** A small JSON integer code (`order_type`, `type`, `order_subtype`). */
const CodeSchema = v.pipe(v.number(), v.integer());

// ---------------------------------------------------------------------------------------------
// live_orders_<pair>: order_created / order_changed / order_deleted

/** The three order events of `live_orders_<pair>` (bitstamp-protocol.md §2.1). */
export const ORDER_EVENTS = ["order_created", "order_changed", "order_deleted"] as const;
export type OrderEventName = (typeof ORDER_EVENTS)[number];

/**
 * `data` of a `live_orders` frame. 2026 format: all fields. 2022/2023 frames lack `amount_traded`,
 * `amount_at_create` (added 2023-08), `order_subtype` and `is_liquidation` (2026).
 */
export const OrderDataSchema = v.looseObject({
  id: JsonIntegerSchema,
  id_str: v.optional(IntegerStringSchema),
  order_type: CodeSchema,
  order_subtype: v.optional(CodeSchema),
  datetime: IntegerStringSchema,
  microtimestamp: IntegerStringSchema,
  amount: JsonNumberSchema,
  amount_str: DecimalStringSchema,
  amount_traded: v.optional(DecimalStringSchema),
  amount_at_create: v.optional(DecimalStringSchema),
  price: JsonNumberSchema,
  price_str: DecimalStringSchema,
  is_liquidation: v.optional(v.boolean()),
});
export type OrderData = v.InferOutput<typeof OrderDataSchema>;

// ---------------------------------------------------------------------------------------------
// live_trades_<pair>: trade

/**
 * `data` of a `live_trades` frame. `id_str` appeared with perpetuals (ids above 2^53); on
 * `btcusd-perp` `timestamp` was in milliseconds (so it is only checked to be an integer string).
 */
export const TradeDataSchema = v.looseObject({
  id: JsonIntegerSchema,
  id_str: v.optional(IntegerStringSchema),
  timestamp: IntegerStringSchema,
  amount: JsonNumberSchema,
  amount_str: DecimalStringSchema,
  price: JsonNumberSchema,
  price_str: DecimalStringSchema,
  type: CodeSchema,
  microtimestamp: IntegerStringSchema,
  buy_order_id: JsonIntegerSchema,
  sell_order_id: JsonIntegerSchema,
});
export type TradeData = v.InferOutput<typeof TradeDataSchema>;

// ---------------------------------------------------------------------------------------------
// Envelopes

/** Top-level fields added to `live_orders` frames in 2026 (gap detection chain). */
const EVENT_CHAIN_ENTRIES = {
  event_id: v.optional(v.string()),
  pre_event_id: v.optional(v.string()),
  order_source: v.optional(v.string()),
};

/** Any server frame: `{event, channel, data}` (+ `event_id`, `pre_event_id`, `order_source`). */
export const EnvelopeSchema = v.looseObject({
  event: v.string(),
  channel: v.string(),
  data: v.unknown(),
  ...EVENT_CHAIN_ENTRIES,
});

/** A whole `live_orders_<pair>` frame. */
export const OrderFrameSchema = v.looseObject({
  data: OrderDataSchema,
  channel: v.string(),
  event: v.picklist(ORDER_EVENTS),
  ...EVENT_CHAIN_ENTRIES,
});

/** A whole `live_trades_<pair>` frame. */
export const TradeFrameSchema = v.looseObject({
  data: TradeDataSchema,
  channel: v.string(),
  event: v.literal("trade"),
  ...EVENT_CHAIN_ENTRIES,
});
