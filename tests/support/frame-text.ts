/**
 * Byte layout of Bitstamp's 2026 `live_orders` / `live_trades` frames and of the REST `order_book?group=2`
 * body, built by string concatenation so the generator writes exactly what the exchange writes (key order,
 * no spaces on the WebSocket, Python-style `", "` / `": "` in REST bodies). Decimal text comes from integer
 * units (price ticks, amount units): no float ever touches a price or an amount.
 *
 * Layouts copied from tests/fixtures/live_orders_2026-08-09_te_recorder_test.ndjson (orders) and
 * live_orders_2026-09-04_lob_decoder_test_with_recv_ns.ndjson (trade, `_recv_ns` stripped).
 */

/** Formats integer `units` of 10^-decimals as the exchange does: fixed decimals (`"58356.10"`, `"32"`). */
export function formatUnits(units: number, decimals: number): string {
  const digits = String(units);
  if (decimals === 0) return digits;
  const padded = digits.padStart(decimals + 1, "0");
  return `${padded.slice(0, -decimals)}.${padded.slice(-decimals)}`;
}

/**
 * The JSON number text the exchange writes next to a `_str` decimal: its shortest float text
 * (`"64839.00"` -> `64839`, `"58356.10"` -> `58356.1`, `"0.00000000"` -> `0`), made by trimming the
 * string, not by float formatting. With `exponent`, values below 1e-4 use Python's repr form
 * (`"0.00001234"` -> `1.234e-05`), as `json.dumps` of a float would.
 */
export function jsonNumberText(decimal: string, exponent = false): string {
  let text = decimal;
  if (text.includes(".")) text = text.replace(/0+$/, "").replace(/\.$/, "");
  if (text === "" || text === "-0") return "0";
  if (exponent && text.startsWith("0.0000")) {
    const fraction = text.slice(2);
    const leadingZeros = fraction.length - fraction.replace(/^0+/, "").length;
    const significant = fraction.slice(leadingZeros);
    const mantissa = significant.length > 1 ? `${significant[0]}.${significant.slice(1)}` : significant;
    return `${mantissa}e-${String(leadingZeros + 1).padStart(2, "0")}`;
  }
  return text;
}

/**
 * `event_id` in the 2026 format `0006589a-5c98-2678-0000-000101000020`: the first 16 hex digits are the
 * event's microtimestamp (0x0006589a5c982678 = 1786269861947000 in the fixture), then a per-channel
 * counter that runs 00, 01, 02, 03, 00 in both real chains seen.
 */
export function formatEventId(micros: number, counter: number): string {
  const hex = micros.toString(16).padStart(16, "0");
  const seq = (counter & 3).toString(16).padStart(2, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-0000-0001${seq}000020`;
}

/** `datetime` of an order: Unix seconds, rounded half up from the microtimestamp (fixtures show rounding). */
export function orderDatetime(micros: number): string {
  return String(Math.floor((micros + 500_000) / 1_000_000));
}

/** `timestamp` of a trade: Unix seconds, truncated. */
export function tradeTimestamp(micros: number): string {
  return String(Math.floor(micros / 1_000_000));
}

export type OrderEvent = "order_created" | "order_changed" | "order_deleted";

/** Fields of one `live_orders` frame, already as exchange text. */
export interface OrderFrameFields {
  pair: string;
  event: OrderEvent;
  id: bigint;
  orderType: 0 | 1;
  micros: number;
  amountStr: string;
  amountTradedStr: string;
  amountAtCreateStr: string;
  priceStr: string;
  eventId: string;
  preEventId: string;
  exponentNumbers: boolean;
}

/** One `live_orders_<pair>` frame, byte layout of the 2026 fixtures. */
export function orderFrame(f: OrderFrameFields): string {
  const id = String(f.id);
  return (
    `{"data":{"id":${id},"id_str":"${id}","order_type":${f.orderType},"order_subtype":5,` +
    `"datetime":"${orderDatetime(f.micros)}","microtimestamp":"${f.micros}",` +
    `"amount":${jsonNumberText(f.amountStr, f.exponentNumbers)},"amount_str":"${f.amountStr}",` +
    `"amount_traded":"${f.amountTradedStr}","amount_at_create":"${f.amountAtCreateStr}",` +
    `"price":${jsonNumberText(f.priceStr, f.exponentNumbers)},"price_str":"${f.priceStr}","is_liquidation":false},` +
    `"channel":"live_orders_${f.pair}","event":"${f.event}","event_id":"${f.eventId}",` +
    `"pre_event_id":"${f.preEventId}","order_source":"orderbook"}`
  );
}

/** Fields of one `live_trades` frame, already as exchange text. */
export interface TradeFrameFields {
  pair: string;
  id: bigint;
  micros: number;
  amountStr: string;
  priceStr: string;
  /** 0 = the taker bought, 1 = the taker sold. */
  type: 0 | 1;
  buyOrderId: bigint;
  sellOrderId: bigint;
  exponentNumbers: boolean;
}

/** One `live_trades_<pair>` frame, byte layout of the 2026 fixture. */
export function tradeFrame(f: TradeFrameFields): string {
  return (
    `{"data":{"id":${f.id},"timestamp":"${tradeTimestamp(f.micros)}",` +
    `"amount":${jsonNumberText(f.amountStr, f.exponentNumbers)},"amount_str":"${f.amountStr}",` +
    `"price":${jsonNumberText(f.priceStr, f.exponentNumbers)},"price_str":"${f.priceStr}","type":${f.type},` +
    `"microtimestamp":"${f.micros}","buy_order_id":${f.buyOrderId},"sell_order_id":${f.sellOrderId}},` +
    `"channel":"live_trades_${f.pair}","event":"trade"}`
  );
}

/** One `[price, amount, order_id]` row of a REST group=2 book, as strings. */
export type BookRow = readonly [priceStr: string, amountStr: string, orderId: string];

/** REST `order_book/<pair>/?group=2` body: Python-style separators, like every REST body in the fixtures. */
export function orderBookBody(micros: number, bids: readonly BookRow[], asks: readonly BookRow[]): string {
  const rows = (side: readonly BookRow[]) => side.map((r) => `["${r[0]}", "${r[1]}", "${r[2]}"]`).join(", ");
  return (
    `{"timestamp": "${tradeTimestamp(micros)}", "microtimestamp": "${micros}", ` +
    `"bids": [${rows(bids)}], "asks": [${rows(asks)}]}`
  );
}
