/**
 * Byte layout of the older `live_orders` frames (2020-11 to 2023-03): no `order_subtype`,
 * `amount_traded`, `amount_at_create`, `is_liquidation`, and no top-level `event_id`, `pre_event_id`,
 * `order_source`. Copied from the real 2022-06-01 `order_created` of crypto-msg-parser
 * (tests/fixtures/crypto-msg-parser_ws_raw.ndjson, line 3):
 *
 *   {"data":{"id":1496011283275781,"id_str":"1496011283275781","order_type":0,"datetime":"1654072104","microtimestamp":"1654072104363000","amount":7.9201,"amount_str":"7.92010000","price":31483.1,"price_str":"31483.10"},"channel":"live_orders_btcusd","event":"order_created"}
 *
 * Without event_id, obcap's sort key falls back to `<µs>#<order id>#<c|u|d>[#amount_str]`.
 */
import { jsonNumberText, orderDatetime, type OrderFrameFields } from "./frame-text.ts";

/** One 2022-layout `live_orders_<pair>` frame; the 2026-only fields of `f` are ignored. */
export function orderFrame2022(f: OrderFrameFields): string {
  const id = String(f.id);
  return (
    `{"data":{"id":${id},"id_str":"${id}","order_type":${f.orderType},` +
    `"datetime":"${orderDatetime(f.micros)}","microtimestamp":"${f.micros}",` +
    `"amount":${jsonNumberText(f.amountStr, f.exponentNumbers)},"amount_str":"${f.amountStr}",` +
    `"price":${jsonNumberText(f.priceStr, f.exponentNumbers)},"price_str":"${f.priceStr}"},` +
    `"channel":"live_orders_${f.pair}","event":"${f.event}"}`
  );
}
