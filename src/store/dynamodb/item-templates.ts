/**
 * The item of an event in one of the layouts Bitstamp sends today, built as one object literal: the
 * hot path of `encodeItem` (event-item.ts) for replay and capture.
 *
 * Layouts: a 2026 `live_orders` frame (13 data fields, then `event_id`, `pre_event_id`,
 * `order_source`) and a spot `live_trades` frame (10 data fields), keys in wire order exactly as
 * below. Anything else (older formats, perpetual trades with `id_str`, unknown fields, another key
 * order, a value of an unexpected type) returns undefined and takes the general table-driven path.
 * The result is the general path's item attribute for attribute and in the same attribute order
 * (unit-tested on real, generated and mutated frames); a literal with fixed property names costs
 * about half as much as adding ~20 computed properties one by one.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { JsonNumber, numberText } from "../../base/exact-json.ts";
import type { MarketEvent } from "../../model/events.ts";
import { NOT_A_NUMBER_ATTRIBUTE, numberAttributeScale } from "./decimal.ts";
import type { Item } from "./item.ts";

const ORDER_DATA_KEYS = [
  "id", "id_str", "order_type", "order_subtype", "datetime", "microtimestamp", "amount", "amount_str",
  "amount_traded", "amount_at_create", "price", "price_str", "is_liquidation",
] as const;
const ORDER_TOP_KEYS = ["data", "channel", "event", "event_id", "pre_event_id", "order_source"] as const;
const ORDER_EXTRA_KEYS = ["event_id", "pre_event_id", "order_source"] as const;

const TRADE_DATA_KEYS = ["id", "timestamp", "amount", "amount_str", "price", "price_str", "type", "microtimestamp", "buy_order_id", "sell_order_id"] as const;
const TRADE_TOP_KEYS = ["data", "channel", "event"] as const;

/** `sc` entries (`<attr><scale>,`) collected while one item's attributes are built, in attribute order. */
let scales = "";
/** Set when a value does not have its field's type: the item is then left to the general path. */
let mismatch = false;

/**
 * The item of `ev` when it has one of the layouts above, else undefined. `pk`, `sk`, `rx` are the
 * first attributes, as the general path computes them.
 */
export function templateItem(ev: MarketEvent, pk: string, sk: string, rx: string): Item | undefined {
  const data = ev.data as Record<string, unknown>;
  scales = "";
  mismatch = false;
  let item: Item;
  if (ev.stream === "orders") {
    if (!sameKeys(Object.keys(data), ORDER_DATA_KEYS) || ev.topLevelKeys === undefined || !sameKeys(ev.topLevelKeys, ORDER_TOP_KEYS)) return undefined;
    const extra = ev.extra;
    if (!sameKeys(Object.keys(extra), ORDER_EXTRA_KEYS)) return undefined;
    // One statement per attribute, in attribute order: `sc` lists scales in that order.
    const id = numberAttr("id", data.id);
    const is = stringAttr(data.id_str);
    const ot = numberAttr("ot", data.order_type);
    const os = numberAttr("os", data.order_subtype);
    const dt = stringAttr(data.datetime);
    const mt = stringAttr(data.microtimestamp);
    const an = numberAttr("an", data.amount);
    const a = decimalAttr("a", data.amount_str);
    const at = decimalAttr("at", data.amount_traded);
    const ac = decimalAttr("ac", data.amount_at_create);
    const pn = numberAttr("pn", data.price);
    const p = decimalAttr("p", data.price_str);
    const lq = booleanAttr(data.is_liquidation);
    const ei = stringAttr(extra.event_id);
    const pe = stringAttr(extra.pre_event_id);
    const src = stringAttr(extra.order_source);
    if (mismatch) return undefined;
    item = { pk: { S: pk }, sk: { S: sk }, rx: { N: rx }, ev: { S: ev.event }, id, is, ot, os, dt, mt, an, a, at, ac, pn, p, lq, ei, pe, src };
  } else {
    if (!sameKeys(Object.keys(data), TRADE_DATA_KEYS) || ev.topLevelKeys === undefined || !sameKeys(ev.topLevelKeys, TRADE_TOP_KEYS)) return undefined;
    if (Object.keys(ev.extra).length > 0) return undefined;
    const id = numberAttr("id", data.id);
    const ts = stringAttr(data.timestamp);
    const an = numberAttr("an", data.amount);
    const a = decimalAttr("a", data.amount_str);
    const pn = numberAttr("pn", data.price);
    const p = decimalAttr("p", data.price_str);
    const ty = numberAttr("ty", data.type);
    const mt = stringAttr(data.microtimestamp);
    const bo = numberAttr("bo", data.buy_order_id);
    const so = numberAttr("so", data.sell_order_id);
    if (mismatch) return undefined;
    item = { pk: { S: pk }, sk: { S: sk }, rx: { N: rx }, ev: { S: ev.event }, id, ts, an, a, pn, p, ty, mt, bo, so };
  }
  if (scales !== "") item.sc = { S: scales.slice(0, -1) };
  return item;
}

function sameKeys(keys: readonly string[], layout: readonly string[]): boolean {
  if (keys.length !== layout.length) return false;
  for (let i = 0; i < layout.length; i++) if (keys[i] !== layout[i]) return false;
  return true;
}

const NONE: AttributeValue = { NULL: true };

/** A JSON number: N from its exact text (String() of a plain double is that text), or S when no N can rebuild it. */
function numberAttr(attr: string, x: unknown): AttributeValue {
  if (typeof x === "number") {
    const text = numberText(x);
    return Number.isFinite(x) && !text.includes("e") ? { N: text } : { S: text };
  }
  if (x instanceof JsonNumber) return decimalText(attr, x.text);
  mismatch = true;
  return NONE;
}

function decimalAttr(attr: string, x: unknown): AttributeValue {
  if (typeof x === "string") return decimalText(attr, x);
  mismatch = true;
  return NONE;
}

function decimalText(attr: string, text: string): AttributeValue {
  const scale = numberAttributeScale(text);
  if (scale === NOT_A_NUMBER_ATTRIBUTE) return { S: text };
  if (scale > 0) scales += `${attr}${scale},`;
  return { N: text };
}

function stringAttr(x: unknown): AttributeValue {
  if (typeof x === "string") return { S: x };
  mismatch = true;
  return NONE;
}

function booleanAttr(x: unknown): AttributeValue {
  if (typeof x === "boolean") return { BOOL: x };
  mismatch = true;
  return NONE;
}
