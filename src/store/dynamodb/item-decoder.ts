/**
 * DynamoDB item -> frame text: the inverse of event-item.ts and gap-item.ts, in the attribute layout
 * of item-fields.ts. {@link decodeItem} rebuilds the frame byte for byte for every compact frame
 * Bitstamp sends, and value for value for anything else.
 *
 * Reads use the low-level client, where N is a string: no float ever appears.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { channelName, type Stream } from "../../model/channels.ts";
import { parseJsonExact, stringifyExact } from "../../base/exact-json.ts";
import { gapFrame, type GapReason } from "../../model/gap-record.ts";
import { padToScale, toPlainDecimal } from "./decimal.ts";
import type { Item } from "./item.ts";
import { DATA_TABLES, ENVELOPE_KEYS, GAP_ATTRIBUTES, TOP_TABLE, type FieldSpec, type FieldTable } from "./item-fields.ts";
import { parseGapPartitionKey, parsePartitionKey } from "./keys.ts";
import { parseSnapshotPartitionKey } from "./snapshot-item.ts";

/**
 * Rebuilds the original frame as compact JSON (`{"data":{...},"channel":...,"event":...,...}`) from
 * an item as DynamoDB returns it (Numbers canonicalized, maybe in exponent form). Throws `Error`
 * naming the item's keys if the item was not written by `encodeItem`. Gap items (written by
 * `encodeGapItem`) give their `obcap:gap` frame back. A snapshot chunk is refused with a pointer to
 * `decodeSnapshotItems` (one chunk is not a record).
 */
export function decodeItem(item: Item): string {
  const pk = item.pk?.S ?? "";
  const where = () => `item ${JSON.stringify(pk)} / ${JSON.stringify(item.sk?.S ?? "")}`;
  const gapParts = parseGapPartitionKey(pk);
  if (gapParts !== undefined) return decodeGapItem(item, gapParts.pair, gapParts.stream, where);
  if (parseSnapshotPartitionKey(pk) !== undefined) {
    throw new Error(`${where()} is one chunk of an order book snapshot: decodeSnapshotItems (snapshot-item.ts) rebuilds the record from all its chunks`);
  }
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
      members.push(quotedKey(key) + envelope[key]);
      return true;
    }
    const known = table.byWire.get(key);
    const av = known === undefined ? undefined : item[known.spec.attr];
    if (known !== undefined && av !== undefined) {
      members.push(quotedKey(key) + emitField(known.spec, av, scales?.get(known.spec.attr), where));
      return true;
    }
    if (unknown !== undefined && Object.hasOwn(unknown, key)) {
      members.push(quotedKey(key) + stringifyExact(unknown[key]));
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

/** `"key":` of the keys met so far (the known fields and envelope keys: a few dozen). */
const QUOTED_KEYS = new Map<string, string>();

function quotedKey(key: string): string {
  let quoted = QUOTED_KEYS.get(key);
  if (quoted === undefined) {
    quoted = `${JSON.stringify(key)}:`;
    // Unknown keys come from the network: only a bounded number are kept.
    if (QUOTED_KEYS.size < 1024) QUOTED_KEYS.set(key, quoted);
  }
  return quoted;
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
export function restoreDecimal(n: string, scale: number | undefined, where: () => string): string {
  let plain: string;
  try {
    plain = toPlainDecimal(n);
  } catch {
    throw new Error(`${where()}: Number attribute ${JSON.stringify(n)} is not a decimal`);
  }
  return scale === undefined ? plain : padToScale(plain, scale);
}

/** `sc` = "p2,a8" (attribute name, fraction digits). */
export function parseScales(sc: string | undefined): ReadonlyMap<string, number> | undefined {
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
