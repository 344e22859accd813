/**
 * Which attribute of an item holds which field of a frame: the attribute layout shared by the
 * encoders (event-item.ts, gap-item.ts; item-templates.ts spells today's two layouts out) and the
 * decoder (item-decoder.ts). MarketEvent <-> DynamoDB item, losslessly (docs/data-model.md has the
 * attribute table).
 *
 * Every field of the frame is kept, under a short attribute name for the known ones. Decimals are
 * DynamoDB Numbers built from the exchange's own text (never through a float); since DynamoDB
 * normalizes Numbers ("58356.10" reads back "58356.1"), the fraction digits are recorded in `sc`
 * when that drops zeros. Text that no (canonical N + scale) can rebuild ("1E-8", "-0", > 38 digits)
 * is stored as S verbatim. Unknown fields go, as exact JSON, to `xd` (in data) and `xt` (top level);
 * a key order other than the usual one goes to `ko`.
 */
import type { Stream } from "../../model/channels.ts";

/**
 * How a known wire field is stored: `number` = JSON number (N, or S holding its exact JSON text);
 * `decimal` = decimal string (N + scale, or S verbatim); `string` = S; `boolean` = BOOL.
 */
type FieldKind = "number" | "decimal" | "string" | "boolean";

export interface FieldSpec {
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
export const ENVELOPE_KEYS = ["data", "channel", "event"] as const;

/** Attributes that are not wire fields. */
export const RESERVED_ATTRIBUTES = ["pk", "sk", "rx", "ev", "sc", "ko", "xd", "xt"] as const;

/** Attributes of a gap item besides pk, sk, rx, ev: start µs, end µs, reason. */
export const GAP_ATTRIBUTES = { start: "gs", end: "ge", reason: "gr" } as const;

export interface FieldTable {
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

/** The known `data` fields of each stream. */
export const DATA_TABLES: Record<Stream, FieldTable> = { orders: fieldTable(ORDER_FIELDS), trades: fieldTable(TRADE_FIELDS) };
/** The known top-level fields; their indexes come after the envelope keys'. */
export const TOP_TABLE = fieldTable(TOP_FIELDS, ENVELOPE_KEYS.length);

/** Every attribute name an item can carry, for the docs test (no two wire fields share one). */
export function knownAttributeNames(): Record<Stream, Record<string, string>> {
  const names = (fields: readonly FieldSpec[]) => Object.fromEntries(fields.map((f) => [f.wire, f.attr]));
  return { orders: names([...ORDER_FIELDS, ...TOP_FIELDS]), trades: names([...TRADE_FIELDS, ...TOP_FIELDS]) };
}
