/**
 * The packed layout (docs/data-model.md "Packed layout"): the event items of one pair, stream and
 * window of exchange time (`--pack-ms`, a divisor of an hour) stored as a few items instead of one
 * item per event.
 *
 *   pk = <pair>#<stream>#<UTC hour YYYYMMDDHH>#p                   btcusd#orders#2026090419#p
 *   head:     sk = <window start µs16>                            v, n, ck, dg, b (the first chunk)
 *   overflow: sk = <window start µs16>#<dg>#<k>, k = 1..ck-1      n, b
 *
 * The window's content is a function of its set of event items only:
 * - one item per (pk, sk) of the event layout: the same event received twice (a retry, a reconnect's
 *   overlap, a second capture box) keeps the earliest receive time, ties by the smaller encoding;
 * - in (sk, pk) order, the order export's merge takes them in (merge.ts), so both layouts export
 *   the same lines;
 * - cut into chunks of at most CHUNK_ITEM_BYTES of event items (DynamoDB's item sizes);
 * - each chunk's items as columns (item-columns.ts), deflated (zlib format: its Adler-32 catches a
 *   damaged chunk on read);
 * - `dg`: 16 hex digits of the SHA-256 of the chunks' bodies (before deflate: compressors of two
 *   runtimes may give other bytes for one body; the digest and the items are the same).
 * Overflow chunks carry the digest in their keys, so the chunks of two versions of a window never mix:
 * a reader takes the head and the chunks of its digest, and ignores any other (left by a writer that
 * lost a race, or not yet deleted after a merge; packed-writer.ts).
 */
import { deflateSync, inflateSync } from "node:zlib";
import type { Stream } from "../../model/channels.ts";
import { sha256 } from "../../base/sha256.ts";
import type { Item } from "../dynamodb/item.ts";
import { itemSizeBytes } from "../dynamodb/item-limits.ts";
import { MICROS_DIGITS, hourBucketOfMicros, sortKeyMicros } from "../dynamodb/keys.ts";
import { decodeItemColumns, encodeItemColumns } from "./item-columns.ts";
export { DEFAULT_PACK_MS, PACK_MS_MAX, PACK_MS_MIN, packMsProblem } from "./pack-ms.ts";

/** Packed item format version (attribute `v`). */
export const PACKED_VERSION = 1;
/** The packed partition's last key part: no shard is a letter. */
export const PACKED_KEY_PART = "p";
/** A chunk holds at most this many bytes of event items (DynamoDB sizes): about 950 events of ~274 B, which at the measured ~23 B an event deflate to ~22 KiB (arithmetic, not measured); never over the 400 KB item limit. */
export const CHUNK_ITEM_BYTES = 256 * 1024;
/** An event item larger than this cannot be packed (a chunk of it alone could pass 400 KB); the capture quarantines it. */
export const PACKED_EVENT_MAX_BYTES = 300 * 1024;
const DIGEST_HEX = 16;
const DEFLATE_LEVEL = 6;

/** Identifies one window: the events of a pair and stream whose microtimestamp falls in [start, start + packMs). */
export interface WindowKey {
  pair: string;
  stream: Stream;
  startMicros: number;
}

/** The items that store one window: the head, then its overflow chunks. */
export interface PackedWindowItems {
  head: Item;
  overflow: Item[];
  /** The window's digest (`dg`). */
  digest: string;
  /** Event items in the window (after removing repeats). */
  events: number;
}

/** `<pair>#<stream>#<hour>#p`. */
export function packedPartitionKey(pair: string, stream: Stream, hourBucket: string): string {
  return `${pair}#${stream}#${hourBucket}#${PACKED_KEY_PART}`;
}

/** Start of the window holding `micros`. */
export function windowStartOf(micros: number, packMs: number): number {
  const width = packMs * 1000;
  return Math.floor(micros / width) * width;
}

/** The window of an event item of the event layout (its pk gives pair and stream, its sk the microtimestamp). */
export function windowKeyOfItem(item: Item, packMs: number): WindowKey {
  const pk = item.pk?.S ?? "";
  const sk = item.sk?.S ?? "";
  const [pair, stream] = pk.split("#");
  const micros = Number(sk.slice(0, MICROS_DIGITS));
  if (pair === undefined || (stream !== "orders" && stream !== "trades") || sk.length < MICROS_DIGITS || !Number.isSafeInteger(micros)) {
    throw new RangeError(`not an event item of the event layout: pk ${JSON.stringify(pk)}, sk ${JSON.stringify(sk)}`);
  }
  return { pair, stream, startMicros: windowStartOf(micros, packMs) };
}

/** `<pair>#<stream>#<window start µs16>`: one window's identity, e.g. a Map key. */
export function windowId(key: WindowKey): string {
  return `${key.pair}#${key.stream}#${sortKeyMicros(key.startMicros)}`;
}

/** The head item's key. */
export function headKey(key: WindowKey): { pk: string; sk: string } {
  return { pk: packedPartitionKey(key.pair, key.stream, hourBucketOfMicros(key.startMicros)), sk: sortKeyMicros(key.startMicros) };
}

/** The key prefix of a window's overflow chunks of one digest: `<µs16>#<dg>#`. */
export function overflowPrefix(key: WindowKey, digest: string): string {
  return `${sortKeyMicros(key.startMicros)}#${digest}#`;
}

/** One item per (pk, sk): the earliest receive time, then the smaller encoding (any order of arrival gives the same pick). */
export function uniqueEvents(items: Iterable<Item>): Item[] {
  const byKey = new Map<string, Item>();
  for (const item of items) {
    const key = `${item.pk?.S ?? ""}\n${item.sk?.S ?? ""}`;
    const kept = byKey.get(key);
    if (kept === undefined || preferred(item, kept)) byKey.set(key, item);
  }
  return [...byKey.values()].sort(bySortKeyThenPk);
}

function preferred(a: Item, b: Item): boolean {
  const rx = compareIntegerText(a.rx?.N, b.rx?.N);
  if (rx !== 0) return rx < 0;
  return canonicalText(a) < canonicalText(b);
}

/** Compares digit strings as integers; a missing receive time comes last. */
function compareIntegerText(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function canonicalText(item: Item): string {
  return JSON.stringify(Object.keys(item).sort().map((k) => [k, item[k]]));
}

export function bySortKeyThenPk(a: Item, b: Item): number {
  const sa = a.sk?.S ?? "";
  const sb = b.sk?.S ?? "";
  if (sa !== sb) return sa < sb ? -1 : 1;
  const pa = a.pk?.S ?? "";
  const pb = b.pk?.S ?? "";
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}

/**
 * The items that store `events` (event items of the event layout, all of window `key`; repeats
 * allowed). Throws RangeError for an item of another window, or one over PACKED_EVENT_MAX_BYTES.
 */
export function packWindow(key: WindowKey, events: Iterable<Item>, packMs: number): PackedWindowItems {
  const items = uniqueEvents(events);
  if (items.length === 0) throw new RangeError(`window ${windowId(key)}: no events to pack`);
  const chunks: Item[][] = [];
  let chunk: Item[] = [];
  let chunkBytes = 0;
  for (const item of items) {
    const k = windowKeyOfItem(item, packMs);
    if (k.pair !== key.pair || k.stream !== key.stream || k.startMicros !== key.startMicros) {
      throw new RangeError(`event pk ${item.pk?.S} sk ${item.sk?.S} is not in window ${windowId(key)} of ${packMs} ms`);
    }
    const size = itemSizeBytes(item);
    if (size > PACKED_EVENT_MAX_BYTES) throw new RangeError(`event pk ${item.pk?.S} sk ${item.sk?.S} is ${size} bytes; a packed event holds at most ${PACKED_EVENT_MAX_BYTES}`);
    if (chunk.length > 0 && chunkBytes + size > CHUNK_ITEM_BYTES) {
      chunks.push(chunk);
      chunk = [];
      chunkBytes = 0;
    }
    chunk.push(item);
    chunkBytes += size;
  }
  chunks.push(chunk);
  const bodies = chunks.map((c) => encodeItemColumns(c));
  const digest = digestOf(bodies);
  const { pk, sk } = headKey(key);
  const deflated = bodies.map((body) => deflateSync(body, { level: DEFLATE_LEVEL }));
  const head: Item = {
    pk: { S: pk },
    sk: { S: sk },
    v: { N: String(PACKED_VERSION) },
    n: { N: String(items.length) },
    ck: { N: String(chunks.length) },
    dg: { S: digest },
    b: { B: deflated[0]! },
  };
  const overflow = deflated.slice(1).map((b, i): Item => ({ pk: { S: pk }, sk: { S: `${overflowPrefix(key, digest)}${i + 1}` }, n: { N: String(chunks[i + 1]!.length) }, b: { B: b } }));
  return { head, overflow, digest, events: items.length };
}

function digestOf(bodies: readonly Uint8Array[]): string {
  let total = 0;
  for (const b of bodies) total += b.length + 4;
  const all = new Uint8Array(total);
  let at = 0;
  for (const b of bodies) {
    new DataView(all.buffer).setUint32(at, b.length);
    all.set(b, at + 4);
    at += b.length + 4;
  }
  return Array.from(sha256(all).subarray(0, DIGEST_HEX / 2), (x) => x.toString(16).padStart(2, "0")).join("");
}

/** What a head item says of its window. */
export interface PackedHead {
  digest: string;
  chunks: number;
  events: number;
}

/** Reads a head item's attributes; RangeError when it is not one this obcap can read. */
export function headOf(item: Item): PackedHead {
  const version = item.v?.N;
  if (version !== String(PACKED_VERSION)) throw new RangeError(`packed item pk ${item.pk?.S} sk ${item.sk?.S} has version ${version ?? "(none)"}; this obcap reads ${PACKED_VERSION}: upgrade obcap`);
  const chunks = Number(item.ck?.N);
  const events = Number(item.n?.N);
  const digest = item.dg?.S ?? "";
  if (!Number.isSafeInteger(chunks) || chunks < 1 || !Number.isSafeInteger(events) || events < 1 || !/^[0-9a-f]{16}$/.test(digest) || item.b?.B === undefined) {
    throw new RangeError(`packed item pk ${item.pk?.S} sk ${item.sk?.S} is not a valid window head (ck ${item.ck?.N}, n ${item.n?.N}, dg ${digest || "(none)"})`);
  }
  return { digest, chunks, events };
}

/** A head with the overflow chunks of its digest, in k order. */
export interface StoredWindow {
  head: Item;
  chunks: Item[];
}

/**
 * The windows among `items` of one packed partition in sort-key order (as a Query returns them): each
 * head with the chunks of its digest, in k order; chunks no head names (left by a merge) are dropped.
 */
export function storedWindows(items: readonly Item[]): StoredWindow[] {
  const out: StoredWindow[] = [];
  let current: StoredWindow | undefined;
  let prefix = "";
  for (const item of items) {
    const sk = item.sk?.S ?? "";
    if (isHeadSortKey(sk)) {
      current = { head: item, chunks: [] };
      out.push(current);
      prefix = `${sk}#${item.dg?.S ?? ""}#`;
    } else if (current !== undefined && sk.startsWith(prefix)) {
      current.chunks.push(item);
    }
  }
  for (const w of out) w.chunks.sort((a, b) => chunkIndex(a) - chunkIndex(b));
  return out;
}

/** k of an overflow chunk's sort key `<µs16>#<dg>#<k>`. */
function chunkIndex(item: Item): number {
  const sk = item.sk?.S ?? "";
  return Number(sk.slice(sk.lastIndexOf("#") + 1));
}

/** True for a head's sort key (16 digits, nothing after), false for an overflow chunk's. */
export function isHeadSortKey(sk: string): boolean {
  return sk.length === MICROS_DIGITS;
}

/**
 * The event items of a window from its head and its overflow chunks (in k order, those of the
 * head's digest only). RangeError when a chunk is missing, damaged, or the count disagrees.
 */
export function unpackWindow(head: Item, overflow: readonly Item[]): Item[] {
  const { chunks, events } = headOf(head);
  if (overflow.length !== chunks - 1) throw new RangeError(`packed window pk ${head.pk?.S} sk ${head.sk?.S}: ${chunks - 1} overflow chunk(s) expected, ${overflow.length} found`);
  const items: Item[] = [];
  for (const chunk of [head, ...overflow]) {
    let body: Uint8Array;
    try {
      body = inflateSync(chunk.b!.B!);
    } catch (err) {
      throw new RangeError(`packed item pk ${chunk.pk?.S} sk ${chunk.sk?.S} does not inflate: ${err instanceof Error ? err.message : String(err)}`);
    }
    for (const item of decodeItemColumns(body)) items.push(item);
  }
  if (items.length !== events) throw new RangeError(`packed window pk ${head.pk?.S} sk ${head.sk?.S} holds ${items.length} events, its head says ${events}`);
  return items;
}
