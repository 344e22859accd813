/**
 * MarketEvent -> DynamoDB item, in the attribute layout of item-fields.ts (item-decoder.ts reads it
 * back).
 *
 * Encoding has two paths with one result: today's two frame layouts are built as one object literal
 * (item-templates.ts, the hot path of capture and replay), anything else field by field from the
 * field tables ({@link encodeItemByTable}).
 */
import { JsonNumber, numberText, stringifyExact } from "../../base/exact-json.ts";
import type { MarketEvent } from "../../model/events.ts";
import { NOT_A_NUMBER_ATTRIBUTE, numberAttributeScale } from "./decimal.ts";
import type { Item } from "./item.ts";
import { DATA_TABLES, ENVELOPE_KEYS, TOP_TABLE, type FieldSpec, type FieldTable } from "./item-fields.ts";
import { templateItem } from "./item-templates.ts";
import { eventKeys } from "./keys.ts";

/** Collects what one pass over an object's keys learned. */
interface Pass {
  item: Item;
  scales: string;
  inTemplateOrder: boolean;
}

/**
 * Builds the item for an event. `shards` is the table's shard count (from its metadata item).
 * Attributes: pk, sk, rx (receive µs), ev (event name), one per known field, and sc/ko/xd/xt when needed.
 */
export function encodeItem(ev: MarketEvent, shards: number): Item {
  const { pk, sk } = eventKeys(ev, shards);
  const rx = String(Math.trunc(ev.rxMicros));
  // Today's two layouts as one object literal (item-templates.ts); the same item as below.
  const fast = templateItem(ev, pk, sk, rx);
  if (fast !== undefined) return fast;
  return encodeItemByTable(ev, pk, sk, rx);
}

/** The general path of {@link encodeItem}: any layout, unknown fields, any key order. Exported for the tests that hold both paths to one item. */
export function encodeItemByTable(ev: MarketEvent, pk: string, sk: string, rx: string): Item {
  const item: Item = { pk: { S: pk }, sk: { S: sk }, rx: { N: rx }, ev: { S: ev.event } };
  const pass: Pass = { item, scales: "", inTemplateOrder: true };

  const data = ev.data as Record<string, unknown>;
  const dataKeys = Object.keys(data);
  const unknownData = encodeData(pass, DATA_TABLES[ev.stream], data, dataKeys);
  if (unknownData !== undefined) item.xd = { S: stringifyExact(unknownData) };

  const topKeys = wireTopLevelKeys(ev);
  const unknownTop = encodeTop(pass, ev.extra, topKeys);
  if (unknownTop !== undefined) item.xt = { S: stringifyExact(unknownTop) };

  if (pass.scales !== "") item.sc = { S: pass.scales.slice(0, -1) };
  if (!pass.inTemplateOrder) item.ko = { S: JSON.stringify([dataKeys, topKeys]) };
  return item;
}

/** The frame's top-level keys in wire order, or the template order when the event does not say (or says inconsistently). */
function wireTopLevelKeys(ev: MarketEvent): readonly string[] {
  const given = ev.topLevelKeys;
  if (given !== undefined && everyKeyListed(ev.extra, given)) return given;
  return [...ENVELOPE_KEYS, ...Object.keys(ev.extra)];
}

/**
 * Beyond this many keys a Set replaces `includes`: a frame with 30,000 top-level keys (it fits in a
 * journal line) took 0.47 s per frame with `includes` (quadratic), a few ms with the Set.
 */
const KEYS_SCANNED_LINEARLY = 32;

function everyKeyListed(obj: Record<string, unknown>, keys: readonly string[]): boolean {
  if (keys.length <= KEYS_SCANNED_LINEARLY) {
    for (const key of Object.keys(obj)) if (!keys.includes(key)) return false;
    return true;
  }
  const listed = new Set(keys);
  for (const key of Object.keys(obj)) if (!listed.has(key)) return false;
  return true;
}

/**
 * Stores the known fields of `data` as attributes and returns the others (or undefined). `keys` is
 * its wire order (its own keys): known keys in table order, unknown keys after all of them is the
 * template order, which needs no `ko`.
 */
function encodeData(pass: Pass, table: FieldTable, data: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> | undefined {
  let unknown: Record<string, unknown> | undefined;
  let lastIndex = -1;
  for (const key of keys) {
    const value = data[key];
    const known = table.byWireKey[key];
    if (known === undefined || !encodeField(pass, known.spec, value)) {
      // Null prototype: a wire key "__proto__" must stay a plain field.
      (unknown ??= Object.create(null) as Record<string, unknown>)[key] = value;
      continue;
    }
    if (unknown !== undefined || known.index < lastIndex) pass.inTemplateOrder = false;
    lastIndex = known.index;
  }
  return unknown;
}

/**
 * The top level: `keys` is the wire order, where data/channel/event only take part in the order
 * check (they are stored elsewhere: the data attributes, pk, ev); the other fields are in `extra`.
 */
function encodeTop(pass: Pass, extra: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> | undefined {
  let unknown: Record<string, unknown> | undefined;
  let lastIndex = -1;
  for (const key of keys) {
    let index = key === "data" ? 0 : key === "channel" ? 1 : key === "event" ? 2 : -1;
    if (index < 0) {
      if (!Object.hasOwn(extra, key)) continue;
      const value = extra[key];
      const known = TOP_TABLE.byWireKey[key];
      if (known === undefined || !encodeField(pass, known.spec, value)) {
        (unknown ??= Object.create(null) as Record<string, unknown>)[key] = value;
        continue;
      }
      index = known.index;
    }
    if (unknown !== undefined || index < lastIndex) pass.inTemplateOrder = false;
    lastIndex = index;
  }
  return unknown;
}

/** Writes one known field; false if the value does not have the field's wire type (it is then kept as unknown). */
function encodeField(pass: Pass, spec: FieldSpec, value: unknown): boolean {
  switch (spec.kind) {
    case "number":
      if (typeof value === "number") {
        // A plain double prints as its exact wire text (parseJsonExact kept any other spelling as a
        // JsonNumber): a plain decimal without trailing fraction zeros, or in exponent form.
        const text = numberText(value);
        pass.item[spec.attr] = Number.isFinite(value) && !text.includes("e") ? { N: text } : { S: text };
        return true;
      }
      if (!(value instanceof JsonNumber)) return false;
      encodeDecimalText(pass, spec.attr, value.text);
      return true;
    case "decimal":
      if (typeof value !== "string") return false;
      encodeDecimalText(pass, spec.attr, value);
      return true;
    case "string":
      if (typeof value !== "string") return false;
      pass.item[spec.attr] = { S: value };
      return true;
    case "boolean":
      if (typeof value !== "boolean") return false;
      pass.item[spec.attr] = { BOOL: value };
      return true;
  }
}

/** N when canonical form + recorded scale gives the text back (one scan), else S verbatim. */
function encodeDecimalText(pass: Pass, attr: string, text: string): void {
  const scale = numberAttributeScale(text);
  if (scale === NOT_A_NUMBER_ATTRIBUTE) {
    pass.item[attr] = { S: text };
    return;
  }
  pass.item[attr] = { N: text };
  if (scale > 0) pass.scales += `${attr}${scale},`;
}
