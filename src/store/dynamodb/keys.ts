/**
 * DynamoDB key scheme (docs/data-model.md). Keys come from the event's content only, never from
 * receive time, so the same event captured twice (retry, replay, a second capture box) lands on the
 * same item and overwrites itself.
 *
 *   pk = <pair>#<stream>#<UTC hour YYYYMMDDHH of microtimestamp>#<shard>   btcusd#orders#2026080910#3
 *   sk = <microtimestamp, 16 digits>#<event_id>                            (frames with event_id)
 *      | <µs16>#<order id>#<c|u|d>[#<amount_str> for order_changed]       (older order frames)
 *      | <µs16>#t#<trade id>                                              (trades without event_id)
 *
 * Gap records (intervals of a channel in which events may be missing) have their own partition:
 *
 *   pk = <pair>#<stream>#gaps                                              btcusd#orders#gaps
 *   sk = <start µs16>#<end µs16>#<reason>
 *
 * Coverage records (which hours hold data) live in one partition of their own, coverage.ts:
 *
 *   pk = obcap#coverage   sk = <pair>#<stream>#<YYYYMMDDHH> | <pair>#<stream>#gaps
 */
import { STREAMS, type Stream } from "../../model/channels.ts";
import { numberText } from "../../base/exact-json.ts";
import type { GapEvent, MarketEvent } from "../../model/events.ts";

/**
 * Shards per (pair, stream, hour). One partition key takes at most 1,000 WCU/s; an item here is
 * under 1 KB (1 WCU), and btcusd bursts to a few thousand order events/s: 4 keys give 4,000 WCU/s.
 */
export const DEFAULT_SHARDS = 4;

/** Key of the table's metadata item (shard count, item format), written by `table create`. */
export const META_KEY = { pk: "obcap#meta", sk: "table" } as const;

/** Width of the zero-padded microtimestamp that starts every sort key (µs since 1970 has 16 digits until 2286). */
export const MICROS_DIGITS = 16;

const EVENT_CODE = { order_created: "c", order_changed: "u", order_deleted: "d" } as const;

/** Microseconds in an hour: the width of an hour bucket. */
export const MICROS_PER_HOUR = 3_600_000_000;
const MS_PER_HOUR = 3_600_000;

let cachedHourIndex = Number.NaN;
let cachedHourBucket = "";

/** `YYYYMMDDHH` (UTC) of an hour index (whole hours since the epoch); cached since events arrive in order. */
function hourBucketOfIndex(hourIndex: number): string {
  if (hourIndex !== cachedHourIndex) {
    const iso = new Date(hourIndex * MS_PER_HOUR).toISOString(); // 2026-08-09T10:00:00.000Z
    cachedHourBucket = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13);
    cachedHourIndex = hourIndex;
  }
  return cachedHourBucket;
}

/** The hour {@link hourBucketOf} last computed, as 16-digit µs bounds [from, to) and its bucket. */
let lastHourFromText = "";
let lastHourToText = "";
let lastHourBucket = "";

/**
 * UTC hour bucket `YYYYMMDDHH` of a Bitstamp `microtimestamp` string ("1786269861947000" -> "2026080910").
 * Throws `RangeError` for more than 16 digits: no 16-digit sort key or 10-digit bucket holds it
 * (decodeFrame already rejects such frames; from 20 digits it is not even a JS date).
 */
export function hourBucketOf(microtimestamp: string): string {
  // Events arrive in time order, so most fall in the last hour seen: two string comparisons (equal
  // length digit strings compare like their numbers) instead of a Number conversion and a division.
  if (microtimestamp.length === MICROS_DIGITS && microtimestamp >= lastHourFromText && microtimestamp < lastHourToText) return lastHourBucket;
  if (microtimestamp.length > MICROS_DIGITS) {
    throw new RangeError(`microtimestamp ${JSON.stringify(microtimestamp.slice(0, 24))}${microtimestamp.length > 24 ? "…" : ""} has ${microtimestamp.length} digits; keys hold at most ${MICROS_DIGITS} (µs since 1970, until the year 2286)`);
  }
  // Dropping the last 3 digits gives ms, which stays an exact double for any realistic date.
  const ms = microtimestamp.length > 3 ? Number(microtimestamp.slice(0, -3)) : 0;
  const hourIndex = Math.floor(ms / MS_PER_HOUR);
  const bucket = hourBucketOfIndex(hourIndex);
  if (microtimestamp.length === MICROS_DIGITS && isDigits(microtimestamp)) {
    lastHourFromText = sortKeyMicros(hourIndex * MICROS_PER_HOUR);
    lastHourToText = sortKeyMicros((hourIndex + 1) * MICROS_PER_HOUR);
    lastHourBucket = bucket;
  }
  return bucket;
}

function isDigits(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** UTC hour bucket `YYYYMMDDHH` of a time in integer µs since the epoch. */
export function hourBucketOfMicros(micros: number): string {
  return hourBucketOfIndex(Math.floor(micros / MICROS_PER_HOUR));
}

/** Every hour bucket from the one holding `fromMicros` to the one holding `toMicros`, inclusive. */
export function hourBucketsBetween(fromMicros: number, toMicros: number): string[] {
  const out: string[] = [];
  for (let h = Math.floor(fromMicros / MICROS_PER_HOUR); h <= Math.floor(toMicros / MICROS_PER_HOUR); h++) {
    out.push(hourBucketOfIndex(h));
  }
  return out;
}

/**
 * Shard of an id given as decimal text: FNV-1a (32-bit) over its characters, finished with
 * murmur3's fmix32, modulo `shards`. Not a plain decimal modulo: Bitstamp order ids carry a small
 * number in their low byte (23 of 39 real ids are multiples of 256), so `id % 4` put 62% of them
 * on shard 0. Throws `RangeError` unless `shards` is a positive integer.
 */
export function shardOf(idText: string, shards: number): number {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shards must be a positive integer, got ${shards}`);
  let h = 0x811c9dc5;
  for (let i = 0; i < idText.length; i++) {
    h ^= idText.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % shards;
}

/** `<pair>#<stream>#<hour>#<shard>`. */
export function partitionKey(pair: string, stream: Stream, hourBucket: string, shard: number): string {
  return `${pair}#${stream}#${hourBucket}#${shard}`;
}

/** Every partition key of one (pair, stream, hour): a reader queries all of them and merges by sk. */
export function partitionKeysOfHour(pair: string, stream: Stream, hourBucket: string, shards: number): string[] {
  return Array.from({ length: shards }, (_, shard) => partitionKey(pair, stream, hourBucket, shard));
}

export interface PartitionKeyParts {
  pair: string;
  stream: Stream;
  hourBucket: string;
  shard: number;
}

/** Splits a partition key written by {@link partitionKey}; `undefined` for anything else (e.g. {@link META_KEY}). */
export function parsePartitionKey(pk: string): PartitionKeyParts | undefined {
  const parts = pk.split("#");
  if (parts.length !== 4) return undefined;
  const [pair, stream, hourBucket, shard] = parts as [string, string, string, string];
  if (!(STREAMS as readonly string[]).includes(stream) || !/^\d{10}$/.test(hourBucket) || !/^\d+$/.test(shard)) return undefined;
  return { pair, stream: stream as Stream, hourBucket, shard: Number(shard) };
}

/** Zero-padded microtimestamp that starts a sort key; also the lower bound of a time-range query. */
export function sortKeyMicros(micros: string | number): string {
  if (typeof micros === "string" && micros.length >= MICROS_DIGITS) return micros; // every microtimestamp since 2001
  return String(micros).padStart(MICROS_DIGITS, "0");
}

/** The order id (orders) or trade id (trades) as exact decimal text: `id_str`, else the text of `id`. */
export function eventIdText(ev: MarketEvent): string {
  return ev.data.id_str ?? numberText(ev.data.id);
}

/** Sort key of an event, from its content only (see the file header). */
export function sortKey(ev: MarketEvent): string {
  const micros = sortKeyMicros(ev.data.microtimestamp);
  if (ev.eventId !== undefined) return `${micros}#${ev.eventId}`;
  if (ev.stream === "trades") return `${micros}#t#${eventIdText(ev)}`;
  const base = `${micros}#${eventIdText(ev)}#${EVENT_CODE[ev.event]}`;
  // One order can change twice within one ms (microtimestamp has ms resolution): the remaining amount tells them apart.
  return ev.event === "order_changed" ? `${base}#${ev.data.amount_str}` : base;
}

/** Partition and sort key of an event. */
export function eventKeys(ev: MarketEvent, shards: number): { pk: string; sk: string } {
  const pk = partitionKey(ev.pair, ev.stream, hourBucketOf(ev.data.microtimestamp), shardOf(eventIdText(ev), shards));
  return { pk, sk: sortKey(ev) };
}

/** Last part of a gap partition key (`btcusd#orders#gaps`); never an hour bucket (those are 10 digits). */
export const GAPS_KEY_PART = "gaps";

/** `<pair>#<stream>#gaps`: every gap of one channel, in one partition (gaps are rare and small). */
export function gapPartitionKey(pair: string, stream: Stream): string {
  return `${pair}#${stream}#${GAPS_KEY_PART}`;
}

/** Splits a gap partition key; `undefined` for anything else (event keys, {@link META_KEY}). */
export function parseGapPartitionKey(pk: string): { pair: string; stream: Stream } | undefined {
  const parts = pk.split("#");
  if (parts.length !== 3 || parts[2] !== GAPS_KEY_PART) return undefined;
  const [pair, stream] = parts as [string, string, string];
  if (!(STREAMS as readonly string[]).includes(stream) || pair === "") return undefined;
  return { pair, stream: stream as Stream };
}

/**
 * Partition and sort key of a gap: `sk = <start µs16>#<end µs16>#<reason>`, so string order is start
 * order, and the same gap recorded twice (journal replay) overwrites itself. A reader looking for the
 * gaps touching [from, to] queries `sk <= sortKeyMicros(to) + "~"` and keeps those whose end >= from.
 */
export function gapKeys(gap: GapEvent): { pk: string; sk: string } {
  return {
    pk: gapPartitionKey(gap.pair, gap.stream),
    sk: `${sortKeyMicros(Math.trunc(gap.startMicros))}#${sortKeyMicros(Math.trunc(gap.endMicros))}#${gap.reason}`,
  };
}
