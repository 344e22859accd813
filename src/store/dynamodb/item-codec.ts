/**
 * MarketEvent <-> DynamoDB item, losslessly (docs/data-model.md has the attribute table).
 *
 * Every field of the frame is kept, under a short attribute name for the known ones. Decimals are
 * DynamoDB Numbers built from the exchange's own text (never through a float); since DynamoDB
 * normalizes Numbers ("58356.10" reads back "58356.1"), the fraction digits are recorded in `sc`
 * when that drops zeros. Text that no (canonical N + scale) can rebuild ("1E-8", "-0", > 38 digits)
 * is stored as S verbatim. Unknown fields go, as exact JSON, to `xd` (in data) and `xt` (top level);
 * a key order other than the usual one goes to `ko`. {@link decodeItem} therefore rebuilds the frame
 * byte for byte for every compact frame Bitstamp sends, and value for value for anything else.
 *
 * Encoding has two paths with one result: today's two frame layouts are built as one object literal
 * (item-templates.ts, the hot path of capture and replay), anything else field by field from the
 * tables below ({@link encodeItemByTable}).
 *
 * Reads use the low-level client, where N is a string: no float ever appears.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { channelName, type Stream } from "../../model/channels.ts";
import { JsonNumber, numberText, parseJsonExact, stringifyExact } from "../../base/exact-json.ts";
import { GAP_EVENT, gapFrame, type GapReason } from "../../model/gap-record.ts";
import type { GapEvent, MarketEvent } from "../../model/events.ts";
import { NOT_A_NUMBER_ATTRIBUTE, numberAttributeScale, padToScale, toPlainDecimal } from "./decimal.ts";
import { templateItem } from "./item-templates.ts";
import { eventKeys, gapKeys, parseGapPartitionKey, parsePartitionKey } from "./keys.ts";

/** Version of the attribute layout below; the table metadata item records it. */
export const ITEM_FORMAT_VERSION = 1;

/** An item as the low-level DynamoDB client sends and returns it. */
export type Item = Record<string, AttributeValue>;

/**
 * How a known wire field is stored: `number` = JSON number (N, or S holding its exact JSON text);
 * `decimal` = decimal string (N + scale, or S verbatim); `string` = S; `boolean` = BOOL.
 */
type FieldKind = "number" | "decimal" | "string" | "boolean";

interface FieldSpec {
  readonly wire: string;
  readonly attr: string;
  readonly kind: FieldKind;
}

/** Known `data` fields of `live_orders`, in the order of the 2026 frames (the template order). */
const ORDER_FIELDS: readonly FieldSpec[] = [
  { wire: "id", attr: "id", kind: "number" },
  { wire: "id_str", attr: "is", kind: "string" },
  { wire: "order_type", attr: "ot", kind: "number" },
  { wire: "order_subtype", attr: "os", kind: "number" },
  { wire: "datetime", attr: "dt", kind: "string" },
  { wire: "microtimestamp", attr: "mt", kind: "string" },
  { wire: "amount", attr: "an", kind: "number" },
  { wire: "amount_str", attr: "a", kind: "decimal" },
  { wire: "amount_traded", attr: "at", kind: "decimal" },
  { wire: "amount_at_create", attr: "ac", kind: "decimal" },
  { wire: "price", attr: "pn", kind: "number" },
  { wire: "price_str", attr: "p", kind: "decimal" },
  { wire: "is_liquidation", attr: "lq", kind: "boolean" },
];

/** Known `data` fields of `live_trades`, in the order of the 2026 spot frames. */
const TRADE_FIELDS: readonly FieldSpec[] = [
  { wire: "id", attr: "id", kind: "number" },
  { wire: "id_str", attr: "is", kind: "string" },
  { wire: "timestamp", attr: "ts", kind: "string" },
  { wire: "amount", attr: "an", kind: "number" },
  { wire: "amount_str", attr: "a", kind: "decimal" },
  { wire: "price", attr: "pn", kind: "number" },
  { wire: "price_str", attr: "p", kind: "decimal" },
  { wire: "type", attr: "ty", kind: "number" },
  { wire: "microtimestamp", attr: "mt", kind: "string" },
  { wire: "buy_order_id", attr: "bo", kind: "number" },
  { wire: "sell_order_id", attr: "so", kind: "number" },
];

/** Known top-level fields after `data`, `channel`, `event` (2026 `live_orders`). */
const TOP_FIELDS: readonly FieldSpec[] = [
  { wire: "event_id", attr: "ei", kind: "string" },
  { wire: "pre_event_id", attr: "pe", kind: "string" },
  { wire: "order_source", attr: "src", kind: "string" },
];

/** Top-level keys every frame has, in wire order; `channel` is not stored (pk gives it back). */
const ENVELOPE_KEYS = ["data", "channel", "event"] as const;

/** Attributes that are not wire fields. */
export const RESERVED_ATTRIBUTES = ["pk", "sk", "rx", "ev", "sc", "ko", "xd", "xt"] as const;

/** Attributes of a gap item besides pk, sk, rx, ev: start µs, end µs, reason. */
export const GAP_ATTRIBUTES = { start: "gs", end: "ge", reason: "gr" } as const;

interface FieldTable {
  readonly fields: readonly FieldSpec[];
  readonly byWire: ReadonlyMap<string, { spec: FieldSpec; index: number }>;
  /** The same entries in a null-prototype object: a property lookup is cheaper than `Map.get` on the hot path. */
  readonly byWireKey: Readonly<Record<string, { spec: FieldSpec; index: number } | undefined>>;
}

function fieldTable(fields: readonly FieldSpec[], firstIndex = 0): FieldTable {
  const entries = fields.map((spec, i) => [spec.wire, { spec, index: firstIndex + i }] as const);
  const byWireKey = Object.assign(Object.create(null) as Record<string, { spec: FieldSpec; index: number }>, Object.fromEntries(entries));
  return { fields, byWire: new Map(entries), byWireKey };
}

const DATA_TABLES: Record<Stream, FieldTable> = { orders: fieldTable(ORDER_FIELDS), trades: fieldTable(TRADE_FIELDS) };
const TOP_TABLE = fieldTable(TOP_FIELDS, ENVELOPE_KEYS.length);

/** Every attribute name an item can carry, for the docs test (no two wire fields share one). */
export function knownAttributeNames(): Record<Stream, Record<string, string>> {
  const names = (fields: readonly FieldSpec[]) => Object.fromEntries(fields.map((f) => [f.wire, f.attr]));
  return { orders: names([...ORDER_FIELDS, ...TOP_FIELDS]), trades: names([...TRADE_FIELDS, ...TOP_FIELDS]) };
}

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

/**
 * Builds the item of a gap record (docs/data-model.md, "Gap items"): pk `<pair>#<stream>#gaps`,
 * sk `<start µs16>#<end µs16>#<reason>`, and `rx`, `ev` ("obcap:gap"), `gs`, `ge` (N, µs), `gr` (S).
 * The writer calls this for `decodeFrame` results of kind "gap" (no shard: gaps have one partition).
 */
export function encodeGapItem(gap: GapEvent): Item {
  const { pk, sk } = gapKeys(gap);
  return {
    pk: { S: pk },
    sk: { S: sk },
    rx: { N: String(Math.trunc(gap.rxMicros)) },
    ev: { S: GAP_EVENT },
    [GAP_ATTRIBUTES.start]: { N: String(Math.trunc(gap.startMicros)) },
    [GAP_ATTRIBUTES.end]: { N: String(Math.trunc(gap.endMicros)) },
    [GAP_ATTRIBUTES.reason]: { S: gap.reason },
  };
}

/** True for an item written by {@link encodeGapItem}. */
export function isGapItem(item: Item): boolean {
  return parseGapPartitionKey(item.pk?.S ?? "") !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Item -> frame text

/**
 * Rebuilds the original frame as compact JSON (`{"data":{...},"channel":...,"event":...,...}`) from
 * an item as DynamoDB returns it (Numbers canonicalized, maybe in exponent form). Throws `Error`
 * naming the item's keys if the item was not written by {@link encodeItem}. Gap items (written by
 * {@link encodeGapItem}) give their `obcap:gap` frame back.
 */
export function decodeItem(item: Item): string {
  const pk = item.pk?.S ?? "";
  const where = () => `item ${JSON.stringify(pk)} / ${JSON.stringify(item.sk?.S ?? "")}`;
  const gapParts = parseGapPartitionKey(pk);
  if (gapParts !== undefined) return decodeGapItem(item, gapParts.pair, gapParts.stream, where);
  const parts = parsePartitionKey(pk);
  const event = item.ev?.S;
  if (parts === undefined || event === undefined) throw new Error(`${where()} is not an obcap event item (bad pk or no ev)`);
  const scales = parseScales(item.sc?.S);
  const unknownData = parseUnknown(item.xd?.S, where);
  const unknownTop = parseUnknown(item.xt?.S, where);
  const order = parseKeyOrder(item.ko?.S, where);
  const dataTable = DATA_TABLES[parts.stream];

  const data = emitObject(item, dataTable, unknownData, order?.[0], scales, where);
  const envelope: Record<(typeof ENVELOPE_KEYS)[number], string> = {
    data,
    channel: JSON.stringify(channelName(parts.stream, parts.pair)),
    event: JSON.stringify(event),
  };
  return emitObject(item, TOP_TABLE, unknownTop, order?.[1], scales, where, envelope);
}

/** The `obcap:gap` frame of a gap item, byte for byte as `gapFrame` wrote it. */
function decodeGapItem(item: Item, pair: string, stream: Stream, where: () => string): string {
  const micros = (attr: string): number => {
    const n = item[attr]?.N;
    if (n === undefined) throw new Error(`${where()} is a gap item without a Number ${attr}`);
    return Number(restoreDecimal(n, undefined, where));
  };
  const reason = item[GAP_ATTRIBUTES.reason]?.S;
  if (reason === undefined) throw new Error(`${where()} is a gap item without ${GAP_ATTRIBUTES.reason}`);
  return gapFrame({
    channel: channelName(stream, pair),
    startMicros: micros(GAP_ATTRIBUTES.start),
    endMicros: micros(GAP_ATTRIBUTES.end),
    reason: reason as GapReason,
  });
}

/** Receive time (µs) stored with the item. */
export function decodeItemRx(item: Item): number {
  return Number(item.rx?.N);
}

/**
 * Writes one JSON object: known fields from attributes, unknown ones from `unknown`, in `order` if
 * recorded, else in template order (known in table order, then unknown). `envelope` holds the
 * already-encoded data/channel/event members of the top level.
 */
function emitObject(
  item: Item,
  table: FieldTable,
  unknown: Record<string, unknown> | undefined,
  order: readonly string[] | undefined,
  scales: ReadonlyMap<string, number> | undefined,
  where: () => string,
  envelope?: Record<string, string>,
): string {
  const members: string[] = [];
  const emit = (key: string): boolean => {
    if (envelope !== undefined && Object.hasOwn(envelope, key)) {
      members.push(`${JSON.stringify(key)}:${envelope[key]}`);
      return true;
    }
    const known = table.byWire.get(key);
    const av = known === undefined ? undefined : item[known.spec.attr];
    if (known !== undefined && av !== undefined) {
      members.push(`${JSON.stringify(key)}:${emitField(known.spec, av, scales?.get(known.spec.attr), where)}`);
      return true;
    }
    if (unknown !== undefined && Object.hasOwn(unknown, key)) {
      members.push(`${JSON.stringify(key)}:${stringifyExact(unknown[key])}`);
      return true;
    }
    return false;
  };
  if (order === undefined) {
    if (envelope !== undefined) for (const key of ENVELOPE_KEYS) emit(key);
    for (const spec of table.fields) emit(spec.wire);
    if (unknown !== undefined) for (const key of Object.keys(unknown)) emit(key);
  } else {
    const done = new Set<string>();
    for (const key of order) if (!done.has(key) && emit(key)) done.add(key);
    // Anything the recorded order missed still comes out (never drop a field).
    const rest = [...(envelope ? ENVELOPE_KEYS : []), ...table.fields.map((f) => f.wire), ...Object.keys(unknown ?? {})];
    for (const key of rest) if (!done.has(key) && emit(key)) done.add(key);
  }
  return `{${members.join(",")}}`;
}

/** JSON text of one known field from its attribute. */
function emitField(spec: FieldSpec, av: AttributeValue, scale: number | undefined, where: () => string): string {
  switch (spec.kind) {
    case "number":
      if (av.N !== undefined) return restoreDecimal(av.N, scale, where);
      if (av.S !== undefined) return av.S; // the exact JSON number text, e.g. 1e-08
      break;
    case "decimal":
      if (av.N !== undefined) return `"${restoreDecimal(av.N, scale, where)}"`;
      if (av.S !== undefined) return JSON.stringify(av.S);
      break;
    case "string":
      if (av.S !== undefined) return JSON.stringify(av.S);
      break;
    case "boolean":
      if (av.BOOL !== undefined) return av.BOOL ? "true" : "false";
      break;
  }
  throw new Error(`${where()}: attribute ${spec.attr} (${spec.wire}) has an unexpected type ${Object.keys(av).join("/")}`);
}

/** Canonical N text (maybe "1E-8") back to the exact wire decimal: plain form, zeros re-padded to the recorded scale. */
function restoreDecimal(n: string, scale: number | undefined, where: () => string): string {
  let plain: string;
  try {
    plain = toPlainDecimal(n);
  } catch {
    throw new Error(`${where()}: Number attribute ${JSON.stringify(n)} is not a decimal`);
  }
  return scale === undefined ? plain : padToScale(plain, scale);
}

/** `sc` = "p2,a8" (attribute name, fraction digits). */
function parseScales(sc: string | undefined): ReadonlyMap<string, number> | undefined {
  if (sc === undefined || sc === "") return undefined;
  const scales = new Map<string, number>();
  for (const part of sc.split(",")) {
    const m = /^([a-z]+)(\d+)$/.exec(part);
    if (m !== null) scales.set(m[1] as string, Number(m[2]));
  }
  return scales;
}

function parseUnknown(text: string | undefined, where: () => string): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  const value = parseJsonExact(text);
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error(`${where()}: xd/xt is not a JSON object`);
  return value as Record<string, unknown>;
}

function parseKeyOrder(text: string | undefined, where: () => string): [string[], string[]] | undefined {
  if (text === undefined) return undefined;
  const value: unknown = JSON.parse(text);
  const isKeys = (x: unknown): x is string[] => Array.isArray(x) && x.every((k) => typeof k === "string");
  if (!Array.isArray(value) || value.length !== 2 || !isKeys(value[0]) || !isKeys(value[1])) {
    throw new Error(`${where()}: ko is not [dataKeys, topLevelKeys]`);
  }
  return [value[0], value[1]];
}
