/**
 * `obcap export --format csv`: order events and trades as CSV rows, the shape researchers load into
 * pandas. One header for both streams (an export merges them in exchange-time order); a cell a stream
 * does not have is empty. RFC 4180: comma-separated, CRLF line ends, the same as `obcap book`'s series.
 *
 * Exact: prices and amounts are the exchange's decimal strings (`price_str`, `amount_str`, ...), in
 * plain form (`1E-8` becomes `0.00000001`), never through a float; ids are their exact digits.
 */
import { numberText, type ExactNumber } from "../base/exact-json.ts";
import type { MarketEvent } from "../model/events.ts";
import { toPlainDecimal } from "../store/dynamodb/decimal.ts";

/** The columns, in order. `side`: bid/ask for orders (order_type), buy/sell for trades (the taker's side, `type`). */
export const CSV_COLUMNS = [
  "exchange_time_us",
  "receive_time_us",
  "pair",
  "stream",
  "event",
  "id",
  "side",
  "price",
  "amount",
  "amount_traded",
  "amount_at_create",
  "order_subtype",
  "buy_order_id",
  "sell_order_id",
  "event_id",
] as const;

const CRLF = "\r\n";

/** The header line, with its line end. */
export function csvHeader(): string {
  return CSV_COLUMNS.join(",") + CRLF;
}

/** One event as a CSV line, with its line end. */
export function csvRow(event: MarketEvent): string {
  const cells: Record<(typeof CSV_COLUMNS)[number], string> = {
    exchange_time_us: event.data.microtimestamp,
    receive_time_us: event.rxMicros > 0 ? String(event.rxMicros) : "",
    pair: event.pair,
    stream: event.stream,
    event: event.event,
    id: event.data.id_str ?? numberText(event.data.id),
    side: "",
    price: plainDecimal(event.data.price_str),
    amount: plainDecimal(event.data.amount_str),
    amount_traded: "",
    amount_at_create: "",
    order_subtype: "",
    buy_order_id: "",
    sell_order_id: "",
    event_id: event.eventId ?? "",
  };
  if (event.stream === "orders") {
    const d = event.data;
    cells.side = d.order_type === 0 ? "bid" : d.order_type === 1 ? "ask" : String(d.order_type);
    if (d.amount_traded !== undefined) cells.amount_traded = plainDecimal(d.amount_traded);
    if (d.amount_at_create !== undefined) cells.amount_at_create = plainDecimal(d.amount_at_create);
    if (d.order_subtype !== undefined) cells.order_subtype = String(d.order_subtype);
  } else {
    const d = event.data;
    cells.side = d.type === 0 ? "buy" : d.type === 1 ? "sell" : String(d.type);
    cells.buy_order_id = idText(d.buy_order_id);
    cells.sell_order_id = idText(d.sell_order_id);
  }
  return CSV_COLUMNS.map((c) => csvCell(cells[c])).join(",") + CRLF;
}

/** The exchange's text as sent (trailing zeros are information), written out only when in exponent form. */
function plainDecimal(text: string): string {
  return text.includes("e") || text.includes("E") ? toPlainDecimal(text) : text;
}

function idText(id: ExactNumber): string {
  return numberText(id);
}

/** A cell, quoted when it holds a comma, a quote or a line break (a pair or an event id never should, but a cell must not break the row). */
export function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
