/**
 * Generated edge-case frames for the item codec tests (unit and DynamoDB Local): ids above 2^53,
 * zeros at market precision, exponent numbers, unknown fields, unusual key order, older formats.
 */

/** The real 2026-08-09 order_deleted (live_orders_2026-08-09_te_recorder_test.ndjson line 2). */
export const EDGE_BASE_ORDER_2026 =
  '{"data":{"id":2037493297635328,"id_str":"2037493297635328","order_type":0,"order_subtype":5,"datetime":"1786269862","microtimestamp":"1786269861947000","amount":0.00171371,"amount_str":"0.00171371","amount_traded":"0","amount_at_create":"0.00171371","price":58356.1,"price_str":"58356.10","is_liquidation":false},"channel":"live_orders_btcusd","event":"order_deleted","event_id":"0006589a-5c98-2678-0000-000101000020","pre_event_id":"0006589a-5c97-f798-0000-000100000020","order_source":"orderbook"}';

/** The real 2026-09-04 trade (live_orders_2026-09-04_lob_decoder_test_with_recv_ns.ndjson line 4, `_recv_ns` stripped). */
export const EDGE_BASE_TRADE_2026 =
  '{"data":{"id":629876235,"timestamp":"1788551770","amount":0.00062132,"amount_str":"0.00062132","price":79715.39,"price_str":"79715.39","type":0,"microtimestamp":"1788551770815000","buy_order_id":2046839997059073,"sell_order_id":2046839970762754},"channel":"live_trades_btcusd","event":"trade"}';

/** Replaces `from` (which must occur) in a frame: a typo in a test fails loudly instead of testing nothing. */
export function editFrame(base: string, from: string, to: string): string {
  if (!base.includes(from)) throw new Error(`test setup: ${from} not in frame`);
  return base.replace(from, to);
}

/**
 * Hand-made edge cases, each a frame Bitstamp could plausibly send, edited from the real frames
 * above. Several share a key (same event_id or trade id): write them one at a time.
 */
export const EDGE_CASES: Record<string, string> = {
  "19-digit trade and order ids above 2^53": editFrame(
    editFrame(EDGE_BASE_TRADE_2026, '"id":629876235', '"id":2001939623936278528,"id_str":"2001939623936278528"'),
    '"buy_order_id":2046839997059073,"sell_order_id":2046839970762754',
    '"buy_order_id":12345678901234567891,"sell_order_id":9007199254740993',
  ),
  "18-digit order id": editFrame(EDGE_BASE_ORDER_2026, '"id":2037493297635328,"id_str":"2037493297635328"', '"id":123456789012345678,"id_str":"123456789012345678"'),
  "filled order with amount 0 and amount_str 0.00000000": editFrame(EDGE_BASE_ORDER_2026, '"amount":0.00171371,"amount_str":"0.00171371","amount_traded":"0"', '"amount":0,"amount_str":"0.00000000","amount_traded":"0.00171371"'),
  "amount_str 32 with price 32": editFrame(editFrame(EDGE_BASE_ORDER_2026, '"amount":0.00171371,"amount_str":"0.00171371"', '"amount":32,"amount_str":"32"'), '"price":58356.1,"price_str":"58356.10"', '"price":32,"price_str":"32"'),
  "amount_str 27000.50": editFrame(EDGE_BASE_ORDER_2026, '"amount":0.00171371,"amount_str":"0.00171371"', '"amount":27000.5,"amount_str":"27000.50"'),
  "Python exponent numbers and an exponent decimal string": editFrame(EDGE_BASE_TRADE_2026, '"amount":0.00062132,"amount_str":"0.00062132"', '"amount":1e-08,"amount_str":"1E-8"'),
  "float written as 3.0 and a negative zero": editFrame(EDGE_BASE_TRADE_2026, '"amount":0.00062132', '"amount":3.0,"zero":-0'),
  "unknown fields of every JSON type in data and at the top level": editFrame(
    editFrame(EDGE_BASE_ORDER_2026, '"is_liquidation":false', '"is_liquidation":false,"new_decimal":"0.10000000","new_obj":{"a":[1,2.50,"x"],"b":null},"new_bool":true,"new_null":null,"new_num":1e-05,"new_big":123456789012345678901234567890123456789012,"new_str":"é\\"\\\\"'),
    '"order_source":"orderbook"',
    '"order_source":"orderbook","new_top":{"k":"v"},"seq":12345678901234567890',
  ),
  "a field named __proto__ in data and at the top level": editFrame(
    editFrame(EDGE_BASE_ORDER_2026, '"is_liquidation":false', '"is_liquidation":false,"__proto__":{"x":1}'),
    '"order_source":"orderbook"',
    '"order_source":"orderbook","__proto__":"y"',
  ),
  "an unknown field in the middle of data": editFrame(EDGE_BASE_ORDER_2026, '"datetime"', '"venue":"x","datetime"'),
  "top-level keys in another order": '{"event":"trade","channel":"live_trades_btcusd","data":{"microtimestamp":"1788551770815000","id":629876235,"timestamp":"1788551770","amount":0.00062132,"amount_str":"0.00062132","price":79715.39,"price_str":"79715.39","type":0,"buy_order_id":2046839997059073,"sell_order_id":2046839970762754}}',
  "missing optional fields (2022 format)": '{"data":{"id":1496011283275781,"id_str":"1496011283275781","order_type":0,"datetime":"1654072104","microtimestamp":"1654072104363000","amount":7.9201,"amount_str":"7.92010000","price":31483.1,"price_str":"31483.10"},"channel":"live_orders_btcusd","event":"order_created"}',
  "an order id without id_str, beyond 38 digits": editFrame(EDGE_BASE_ORDER_2026, '"id":2037493297635328,"id_str":"2037493297635328"', '"id":1234567890123456789012345678901234567890'),
  "a negative price and an empty order_source": editFrame(editFrame(EDGE_BASE_ORDER_2026, '"price":58356.1,"price_str":"58356.10"', '"price":-1.5,"price_str":"-1.50"'), '"order_source":"orderbook"', '"order_source":""'),
  "an order_changed on a perpetual": editFrame(editFrame(EDGE_BASE_ORDER_2026, "order_deleted", "order_changed"), "live_orders_btcusd", "live_orders_btcusd-perp"),
};
