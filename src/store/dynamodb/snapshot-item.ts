/**
 * Order book snapshots as DynamoDB items (docs/data-model.md, "Snapshot items"): one snapshot record
 * (model/order-book-snapshot.ts) becomes chunk items of at most {@link SNAPSHOT_CHUNK_BYTES} of its
 * body each, and chunk items become the record again, byte for byte.
 *
 *   pk = <pair>#snapshots#<UTC day YYYYMMDD of the body's microtimestamp>              btcusd#snapshots#20260904
 *   sk = <microtimestamp µs16>#<sha-256 of the body, 32 hex>#<index 4>/<count 4>      1788551766754717#9f86d081884c7d659a2feaa0c55ad015#0000/0003
 *
 * - **Content only.** Every key part comes from the body: two capture boxes fetching the same body,
 *   a retried upload, a replayed journal all write the same keys (the later write wins; `rx`, `rq`,
 *   `rc` are the writer's own). Two different bodies with the same microtimestamp get different
 *   digests, so their chunks never mix.
 * - **The nearest snapshot at or before T** is one Query: pk of T's day, `sk <= sortKeyMicros(T) + "~"`,
 *   descending, Limit 1. It returns the last chunk of the newest such snapshot, whose sort key gives
 *   the count; `begins_with(sk, "<µs16>#<digest>#")` then reads all its chunks, in order. (Before the
 *   day's first snapshot, the previous day's partition has the answer.)
 * - **Chunks** are slices of the body text, cut after a whole `[price, amount, order_id]` row wherever
 *   possible (a row is never split unless one row alone exceeds a chunk), so each item stays well under
 *   DynamoDB's 400 KB. Decimal strings stay the exchange's text: nothing is converted.
 * - The chunks of one snapshot are the items of one journal line, which the uploader acknowledges
 *   together (pipeline/uploader.ts): the checkpoint never passes a snapshot with a chunk missing.
 *
 * Web standards only.
 */
import { sha256Hex } from "../../base/sha256.ts";
import { PAIR_PATTERN } from "../../model/channels.ts";
import { buildSnapshotRecord, SNAPSHOT_EVENT, type OrderBookSnapshotRecord } from "../../model/order-book-snapshot.ts";
import type { Item } from "./item.ts";
import { MICROS_DIGITS, sortKeyMicros } from "./keys.ts";

/** The stream part of a snapshot partition key. */
export const SNAPSHOTS_KEY_PART = "snapshots";

/**
 * Body bytes per chunk item. 256 KiB keeps an item (body slice plus ~150 bytes of keys and attributes)
 * far from DynamoDB's 400 KB and a BatchWriteItem of 25 such items (6.4 MiB) under its 16 MB; a 5 MiB
 * btcusd book is 20 items.
 */
export const SNAPSHOT_CHUNK_BYTES = 256 * 1024;

/** Digits of the chunk index and count in the sort key (64 MiB bodies make at most ~512 chunks). */
const CHUNK_DIGITS = 4;
/** Hex digits of the body's SHA-256 in the sort key (128 bits). */
const DIGEST_HEX = 32;

/** Attribute names of a snapshot chunk (short, like the event attributes). */
export const SNAPSHOT_ATTRIBUTES = {
  /** N: the journal line's receive time, µs. */
  rx: "rx",
  /** S: `obcap:snapshot`. */
  event: "ev",
  /** N: when the request went out, µs (`requested_us`). */
  requested: "rq",
  /** N: when the whole body was read, µs (`received_us`). */
  received: "rc",
  /** S: the body's `microtimestamp`, as sent. */
  microtimestamp: "mt",
  /** S: the body's `timestamp`, as sent. */
  timestamp: "ts",
  /** N: resting orders on each side (the whole book, on every chunk). */
  bids: "nb",
  asks: "na",
  /** S: this chunk's slice of the body text. */
  body: "b",
} as const;

const A = SNAPSHOT_ATTRIBUTES;

/** UTC day `YYYYMMDD` of a microtimestamp string (at most 16 digits). */
export function dayBucketOf(microtimestamp: string): string {
  if (!/^\d{1,16}$/.test(microtimestamp)) throw new RangeError(`microtimestamp ${JSON.stringify(microtimestamp.slice(0, 24))} is not 1 to ${MICROS_DIGITS} digits`);
  const ms = microtimestamp.length > 3 ? Number(microtimestamp.slice(0, -3)) : 0;
  const iso = new Date(ms).toISOString();
  return iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10);
}

/** UTC day `YYYYMMDD` of a time in µs. */
export function dayBucketOfMicros(micros: number): string {
  return dayBucketOf(String(Math.max(0, Math.trunc(micros))));
}

/** Every UTC day bucket from the one holding `fromMicros` to the one holding `toMicros`, inclusive. */
export function dayBucketsBetween(fromMicros: number, toMicros: number): string[] {
  const DAY_MS = 86_400_000;
  const out: string[] = [];
  for (let day = Math.floor(fromMicros / 1000 / DAY_MS); day <= Math.floor(toMicros / 1000 / DAY_MS); day++) {
    const iso = new Date(day * DAY_MS).toISOString();
    out.push(iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10));
  }
  return out;
}

/** `<pair>#snapshots#<YYYYMMDD>`. */
export function snapshotPartitionKey(pair: string, dayBucket: string): string {
  return `${pair}#${SNAPSHOTS_KEY_PART}#${dayBucket}`;
}

/** Splits a snapshot partition key; undefined for anything else (event, gap, coverage and meta keys). */
export function parseSnapshotPartitionKey(pk: string): { pair: string; dayBucket: string } | undefined {
  const parts = pk.split("#");
  if (parts.length !== 3 || parts[1] !== SNAPSHOTS_KEY_PART || !/^\d{8}$/.test(parts[2]!) || !PAIR_PATTERN.test(parts[0]!)) return undefined;
  return { pair: parts[0]!, dayBucket: parts[2]! };
}

export interface SnapshotSortKey {
  /** The body's microtimestamp, zero-padded to 16 digits. */
  micros: string;
  digest: string;
  index: number;
  count: number;
}

/** `<µs16>#<digest>#<index>/<count>`. */
export function snapshotSortKey(microtimestamp: string, digest: string, index: number, count: number): string {
  return `${sortKeyMicros(microtimestamp)}#${digest}#${String(index).padStart(CHUNK_DIGITS, "0")}/${String(count).padStart(CHUNK_DIGITS, "0")}`;
}

const SORT_KEY_RE = /^(\d{16})#([0-9a-f]{32})#(\d{4})\/(\d{4})$/;

/** Splits a snapshot sort key; undefined when it is not one. */
export function parseSnapshotSortKey(sk: string): SnapshotSortKey | undefined {
  const m = SORT_KEY_RE.exec(sk);
  if (m === null) return undefined;
  const index = Number(m[3]);
  const count = Number(m[4]);
  if (count < 1 || index >= count) return undefined;
  return { micros: m[1]!, digest: m[2]!, index, count };
}

/** The body's digest as it appears in sort keys. */
export function snapshotDigest(bodyText: string): string {
  return sha256Hex(ENCODER.encode(bodyText)).slice(0, DIGEST_HEX);
}

/**
 * The body cut into chunks of at most `maxBytes` UTF-8 bytes each, after whole rows wherever
 * possible (file comment); the chunks joined give the body back. Deterministic: the same body always
 * gives the same chunks.
 */
export function snapshotChunks(bodyText: string, maxBytes = SNAPSHOT_CHUNK_BYTES): string[] {
  if (!(maxBytes >= 4)) throw new RangeError(`maxBytes ${maxBytes} must be at least 4 (one UTF-8 character)`);
  const cuts = rowEnds(bodyText);
  cuts.push(bodyText.length);
  const chunks: string[] = [];
  let start = 0;
  let startBytes = 0;
  let pos = 0;
  let posBytes = 0;
  let lastCut = 0;
  let lastCutBytes = 0;
  for (const cut of cuts) {
    if (cut <= pos) continue;
    posBytes += utf8Length(bodyText, pos, cut);
    pos = cut;
    while (posBytes - startBytes > maxBytes) {
      if (lastCut > start) {
        chunks.push(bodyText.slice(start, lastCut));
        start = lastCut;
        startBytes = lastCutBytes;
        continue;
      }
      // One row (or a stretch with no row end) longer than a chunk: cut it by bytes.
      const end = cutAtBytes(bodyText, start, maxBytes);
      chunks.push(bodyText.slice(start, end));
      startBytes += utf8Length(bodyText, start, end);
      start = end;
      lastCut = start;
      lastCutBytes = startBytes;
    }
    lastCut = cut;
    lastCutBytes = posBytes;
  }
  if (start < bodyText.length || chunks.length === 0) chunks.push(bodyText.slice(start));
  return chunks;
}

/**
 * The chunk items of a checked snapshot record (the decoder's `snapshot` result). Every chunk carries
 * the whole metadata, so any one of them (the last, which a descending Query finds) describes the
 * snapshot. Throws RangeError for a microtimestamp no key holds (the decoder refuses those first).
 */
export function encodeSnapshotItems(snapshot: OrderBookSnapshotRecord): Item[] {
  const day = dayBucketOf(snapshot.microtimestamp);
  const pk = snapshotPartitionKey(snapshot.pair, day);
  const digest = snapshotDigest(snapshot.bodyText);
  const chunks = snapshotChunks(snapshot.bodyText);
  return chunks.map((chunk, index) => ({
    pk: { S: pk },
    sk: { S: snapshotSortKey(snapshot.microtimestamp, digest, index, chunks.length) },
    [A.rx]: { N: String(Math.trunc(snapshot.rxMicros)) },
    [A.event]: { S: SNAPSHOT_EVENT },
    [A.requested]: { N: String(Math.trunc(snapshot.requestedMicros)) },
    [A.received]: { N: String(Math.trunc(snapshot.receivedMicros)) },
    [A.microtimestamp]: { S: snapshot.microtimestamp },
    [A.timestamp]: { S: snapshot.timestamp },
    [A.bids]: { N: String(snapshot.bids) },
    [A.asks]: { N: String(snapshot.asks) },
    [A.body]: { S: chunk },
  }));
}

/** True for a chunk item of a snapshot (by its partition key). */
export function isSnapshotItem(item: Item): boolean {
  return parseSnapshotPartitionKey(item.pk?.S ?? "") !== undefined;
}

/** A snapshot rebuilt from its chunk items. */
export interface RebuiltSnapshot {
  pair: string;
  /** The body's microtimestamp, as sent. */
  microtimestamp: string;
  /** The journal line's receive time (µs) as the last chunk records it. */
  rxMicros: number;
  /** The snapshot record, byte for byte as the capture journaled it (model/order-book-snapshot.ts). */
  record: string;
  /** The body text. */
  bodyText: string;
}

/**
 * The record of one snapshot from all its chunk items (any order). Throws Error naming the keys when
 * they are not exactly the chunks of one snapshot: a chunk missing or twice, keys of two snapshots,
 * a body that does not match the digest in the keys, an attribute missing. The receive and fetch
 * times are those of the last chunk: if two capture boxes wrote the same snapshot, the record is one
 * of theirs (the body is the same).
 */
export function decodeSnapshotItems(items: readonly Item[]): RebuiltSnapshot {
  if (items.length === 0) throw new Error("no snapshot chunk items to decode");
  const first = items[0]!;
  const pk = first.pk?.S ?? "";
  const where = (item: Item) => `item ${JSON.stringify(item.pk?.S ?? "")} / ${JSON.stringify(item.sk?.S ?? "")}`;
  const partition = parseSnapshotPartitionKey(pk);
  if (partition === undefined) throw new Error(`${where(first)} is not a snapshot chunk (pk is not <pair>#${SNAPSHOTS_KEY_PART}#<YYYYMMDD>)`);
  const parts = items.map((item) => {
    const key = parseSnapshotSortKey(item.sk?.S ?? "");
    if (item.pk?.S !== pk || key === undefined) throw new Error(`${where(item)} is not a chunk of the snapshot in ${JSON.stringify(pk)}`);
    return { item, key };
  });
  parts.sort((a, b) => a.key.index - b.key.index);
  const { micros, digest, count } = parts[0]!.key;
  if (parts.length !== count || parts.some((p, i) => p.key.index !== i || p.key.micros !== micros || p.key.digest !== digest || p.key.count !== count)) {
    throw new Error(`snapshot ${JSON.stringify(pk)} / ${micros}#${digest}: expected chunks 0..${count - 1}, got ${parts.map((p) => p.item.sk?.S).join(", ")}`);
  }
  const bodyText = parts.map((p) => text(p.item, A.body, where)).join("");
  if (snapshotDigest(bodyText) !== digest) throw new Error(`snapshot ${JSON.stringify(pk)} / ${micros}#${digest}: the chunks' body does not match the digest in the keys`);
  const last = parts[count - 1]!.item;
  const microtimestamp = text(last, A.microtimestamp, where);
  if (sortKeyMicros(microtimestamp) !== micros || dayBucketOf(microtimestamp) !== partition.dayBucket) {
    throw new Error(`${where(last)}: mt ${JSON.stringify(microtimestamp)} does not match the keys`);
  }
  const rxMicros = integer(last, A.rx, where);
  const built = buildSnapshotRecord({
    pair: partition.pair,
    requestedMicros: integer(last, A.requested, where),
    receivedMicros: integer(last, A.received, where),
    body: ENCODER.encode(bodyText),
  });
  return { pair: partition.pair, microtimestamp, rxMicros, record: built.record, bodyText };
}

/**
 * Collects the chunk items of snapshots as a Query returns them (sort-key order: the chunks of one
 * snapshot are consecutive) and gives each snapshot once its last chunk is in. For export.
 */
export class SnapshotAssembler {
  private items: Item[] = [];
  private prefix = "";

  /**
   * Adds one chunk item (in sort-key order). Returns what it completes, in order: a snapshot, or an
   * Error (see {@link decodeSnapshotItems}) for chunks that are not a whole snapshot (a snapshot whose
   * chunks ended before its last one, a chunk that is not one).
   */
  add(item: Item): Array<RebuiltSnapshot | Error> {
    const out: Array<RebuiltSnapshot | Error> = [];
    const sk = item.sk?.S ?? "";
    const key = parseSnapshotSortKey(sk);
    const prefix = `${item.pk?.S ?? ""}/${sk.slice(0, MICROS_DIGITS + 1 + DIGEST_HEX)}`;
    if (this.items.length > 0 && prefix !== this.prefix) out.push(decodeOrError(this.take()));
    this.prefix = prefix;
    this.items.push(item);
    if (key === undefined || key.index === key.count - 1) out.push(decodeOrError(this.take()));
    return out;
  }

  /** The end of the items: a snapshot still waiting for chunks comes back as an Error. */
  finish(): Array<RebuiltSnapshot | Error> {
    return this.items.length === 0 ? [] : [decodeOrError(this.take())];
  }

  private take(): Item[] {
    const items = this.items;
    this.items = [];
    this.prefix = "";
    return items;
  }
}

function decodeOrError(items: readonly Item[]): RebuiltSnapshot | Error {
  try {
    return decodeSnapshotItems(items);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

const ENCODER = new TextEncoder();

function text(item: Item, attr: string, where: (item: Item) => string): string {
  const value = item[attr]?.S;
  if (value === undefined) throw new Error(`${where(item)} is a snapshot chunk without the String attribute ${attr}`);
  return value;
}

function integer(item: Item, attr: string, where: (item: Item) => string): number {
  const value = item[attr]?.N;
  if (value === undefined || !/^\d{1,16}$/.test(value)) throw new Error(`${where(item)} is a snapshot chunk without a whole-number ${attr}`);
  return Number(value);
}

/** Offsets just after each `]` that closes an array at depth 3 (a row of `bids`/`asks` in `{...}`). */
function rowEnds(text: string): number[] {
  const ends: number[] = [];
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 91 || c === 123) depth++;
    else if (c === 93 || c === 125) {
      depth--;
      if (c === 93 && depth === 2) ends.push(i + 1);
    }
  }
  return ends;
}

/** UTF-8 bytes of `text[from, to)`. */
function utf8Length(text: string, from: number, to: number): number {
  let bytes = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < to) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** The largest end > `start` with at most `maxBytes` UTF-8 bytes in `text[start, end)`, never inside a surrogate pair. */
function cutAtBytes(text: string, start: number, maxBytes: number): number {
  let bytes = 0;
  let i = start;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && text.charCodeAt(i + 1) >= 0xdc00 && text.charCodeAt(i + 1) <= 0xdfff;
    const size = c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
    if (bytes + size > maxBytes) break;
    bytes += size;
    i += pair ? 2 : 1;
  }
  return i > start ? i : start + 1;
}
