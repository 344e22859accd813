/**
 * Raw WebSocket frame -> typed result: a market event to store, a gap record (obcap's own `obcap:gap`
 * frame), a control message, a frame we do not store, or an invalid frame with a precise reason. Pure
 * and synchronous (web standards only).
 *
 * No renaming happens here: events keep Bitstamp's field names (`microtimestamp`, `amount_str`,
 * `event_id`, ...). The only additions are obcap's own: `stream`, `pair`, `rxMicros`, `extra`,
 * `eventId`/`preEventId` (validated copies of the wire fields) and `topLevelKeys` (wire key order).
 *
 * Numbers are parsed with `parseJsonExact`, so any JSON number a double cannot hold exactly
 * (ids above 2^53, `1e-08`, `3.0`) arrives as a `JsonNumber` with its source text.
 */
import * as v from "valibot";
import type { ErrorCode } from "../../base/errors.ts";
import { parseChannel, type ParsedChannel, type Stream } from "../../model/channels.ts";
import { jsonNestingExceeds, parseJsonExact } from "../../base/exact-json.ts";
import { isOrderFrame, isTradeFrame } from "./frame-shape.ts";
import { parseKnownLayout } from "./frame-layouts.ts";
import { GAP_EVENT, GapRecordSchema, OWN_EVENT_PREFIX, gapOfRecord, type GapReason } from "../../model/gap-record.ts";
import { isSnapshotRecord, readSnapshotRecord, SNAPSHOT_EVENT, type OrderBookSnapshotRecord } from "../../model/order-book-snapshot.ts";
import { CONTROL_EVENTS, ControlMessageSchema, type ControlMessage } from "./control-frames.ts";
import type { GapEvent, MarketEvent } from "../../model/events.ts";
import {
  ORDER_EVENTS,
  EnvelopeSchema,
  OrderFrameSchema,
  TradeFrameSchema,
  type OrderData,
  type OrderEventName,
  type TradeData,
} from "../../model/schemas.ts";

/** Codes of frames that cannot be decoded; counted by the pipeline, never fatal. */
export type FrameErrorCode = Extract<ErrorCode, "E_FRAME_UTF8" | "E_FRAME_JSON" | "E_FRAME_INVALID">;

export type DecodeResult =
  | { kind: "event"; event: MarketEvent }
  /** obcap's own gap record: intervals of stored channels (one per channel) in which events may be missing. */
  | { kind: "gap"; gaps: GapEvent[] }
  /** obcap's own order book snapshot record (a REST group=2 body), checked: stored as chunk items. */
  | { kind: "snapshot"; snapshot: OrderBookSnapshotRecord }
  /** A `bts:*` frame obcap understands (acks, errors, heartbeat reply, reconnect request). */
  | { kind: "control"; event: string; channel: string; message: ControlMessage }
  /** A valid envelope for a channel or `bts:*` event obcap does not store (book channels, new events). */
  | { kind: "unknown"; event: string; channel: string }
  | { kind: "invalid"; code: FrameErrorCode; message: string };

/** How much of a bad frame an error message quotes. */
export const FRAME_PREVIEW_CHARS = 200;

/**
 * Deepest nesting of arrays and objects a frame may have (the frame object is level 1). Bitstamp's
 * frames nest 2 levels (the frame, `data`), book frames 4 (`bids`, a level); 32 leaves room for any
 * field Bitstamp may add. A frame nested thousands deep (~100 KB of `[` fits in a journal line)
 * would pass JSON.parse and then overflow the stack in the item codec's JSON.stringify (from about
 * 40,000 levels) or in parseJsonExact's reviver (from about 4,500), at a depth that depends on the
 * thread's stack: a bound checked before parsing is the same everywhere (exact-json.ts,
 * jsonNestingExceeds). Such a frame is E_FRAME_INVALID.
 */
export const MAX_FRAME_NESTING = 32;

/**
 * Most digits a `data.microtimestamp` may have: every sort key starts with the microtimestamp
 * zero-padded to 16 digits (µs since 1970 has 16 digits until the year 2286), so that string order
 * is time order (keys.ts). A longer one has no hour bucket or sort key (from 20 digits it is not even
 * a date): E_FRAME_INVALID, like a gap record's times (model/gap-record.ts, 1 to 16 digits).
 */
export const MAX_MICROTIMESTAMP_DIGITS = 16;

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });
const LENIENT_UTF8 = new TextDecoder("utf-8");
const CONTROL_EVENT_SET: ReadonlySet<string> = new Set(CONTROL_EVENTS);
const ORDER_EVENT_SET: ReadonlySet<string> = new Set(ORDER_EVENTS);

/**
 * Decodes one frame exactly as received. `Uint8Array` input must be UTF-8 (checked strictly).
 * Never throws: every problem is an `invalid` result whose message names the channel and event,
 * lists valibot's issues as "× message → at path" and quotes the first 200 characters. Besides the
 * schemas, a frame must nest at most {@link MAX_FRAME_NESTING} levels and an event's microtimestamp
 * have at most {@link MAX_MICROTIMESTAMP_DIGITS} digits (tests/unit/exchange/bitstamp/hostile-frames.test.ts).
 */
export function decodeFrame(frame: Uint8Array | string, rxMicros: number): DecodeResult {
  let text: string;
  if (typeof frame === "string") {
    text = frame;
  } else {
    try {
      text = STRICT_UTF8.decode(frame);
    } catch {
      const preview = LENIENT_UTF8.decode(frame.subarray(0, FRAME_PREVIEW_CHARS));
      return invalid("E_FRAME_UTF8", `Frame is not valid UTF-8 (${frame.byteLength} bytes); frame: ${quote(preview)}`);
    }
  }

  // Today's order and trade layouts are read by a parser that knows their keys and value types
  // (frame-layouts.ts): it gives parseJsonExact's result, already shape-checked for `known.stream`,
  // or nothing, and then the text is parsed and checked in full.
  const known = parseKnownLayout(text);
  let parsed: unknown = known?.frame;
  if (parsed === undefined) {
    if (jsonNestingExceeds(text, MAX_FRAME_NESTING)) {
      return invalid("E_FRAME_INVALID", `Frame nests arrays/objects deeper than ${MAX_FRAME_NESTING} levels (Bitstamp's frames nest 2 to 4); frame: ${quote(text)}`);
    }
    try {
      parsed = parseJsonExact(text);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return invalid("E_FRAME_JSON", `Frame is not valid JSON (${reason}); frame: ${quote(text)}`);
    }
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return invalid("E_FRAME_INVALID", `Frame is not a JSON object with event/channel/data; frame: ${quote(text)}`);
  }
  const frameObject = parsed as Record<string, unknown>;
  const event = frameObject.event;
  const channel = frameObject.channel;
  // obcap's own records have their own journal form (decodeOwnRecord); from the network they are forgeries.
  if (typeof event === "string" && event.startsWith(OWN_EVENT_PREFIX)) {
    return invalid("E_FRAME_INVALID", `Frame uses obcap's reserved event name ${JSON.stringify(short(event))}: only obcap's own journal records may, never a frame from the exchange or a plain recorded line; frame: ${quote(text)}`);
  }
  if (typeof event !== "string" || typeof channel !== "string") {
    return schemaFailure(EnvelopeSchema, frameObject, "Invalid frame envelope", text);
  }

  if (event.startsWith("bts:")) {
    if (!CONTROL_EVENT_SET.has(event)) return { kind: "unknown", event, channel };
    const result = v.safeParse(ControlMessageSchema, frameObject);
    if (!result.success) return issuesFailure(result.issues, `Invalid ${short(event)} frame on channel ${JSON.stringify(short(channel))}`, text);
    return { kind: "control", event, channel, message: result.output };
  }

  const parsedChannel = cachedChannel(channel);
  const stream = parsedChannel?.stream;
  if (parsedChannel === undefined || stream === undefined) return { kind: "unknown", event, channel };
  // A new event name on a stored channel (Bitstamp adds fields and events over the years) is counted
  // and logged once per kind, like a new channel; a known event with a broken shape is invalid.
  if (stream === "orders" ? !ORDER_EVENT_SET.has(event) : event !== "trade") return { kind: "unknown", event, channel };
  // The layout parser and the hand check (frame-shape.ts) accept only what the schema accepts;
  // anything they doubt goes to valibot, which decides and words the error.
  if (known?.stream !== stream && !(stream === "orders" ? isOrderFrame(frameObject) : isTradeFrame(frameObject))) {
    const result = v.safeParse(stream === "orders" ? OrderFrameSchema : TradeFrameSchema, frameObject);
    if (!result.success) return issuesFailure(result.issues, `Invalid ${short(event)} frame on ${short(channel)}`, text);
  }
  const micros = (frameObject.data as { microtimestamp: string }).microtimestamp;
  if (micros.length > MAX_MICROTIMESTAMP_DIGITS) {
    return invalid(
      "E_FRAME_INVALID",
      `Invalid ${short(event)} frame on ${short(channel)}:\n× Invalid microtimestamp: Expected at most ${MAX_MICROTIMESTAMP_DIGITS} digits (µs since 1970) but received ${micros.length}\n  → at data.microtimestamp\nframe: ${quote(text)}`,
    );
  }
  return { kind: "event", event: buildEvent(stream, parsedChannel.pair, channel, frameObject, rxMicros) };
}

/** Channels seen lately; a capture has a handful, a hostile stream of made-up names only refills it. */
const CHANNEL_CACHE = new Map<string, ParsedChannel | undefined>();
const CHANNEL_CACHE_ENTRIES = 256;
/**
 * Longer names are parsed every time, never cached: 256 made-up names of ~350 KB (a journal line)
 * would pin ~90 MB. Real channel names are under 40 characters (`detail_order_book_btcusd-perp`).
 */
const CHANNEL_CACHE_NAME_CHARS = 64;

/** {@link parseChannel}, remembered per channel name (it costs a prefix search and a regex). */
function cachedChannel(channel: string): ParsedChannel | undefined {
  if (channel.length > CHANNEL_CACHE_NAME_CHARS) return parseChannel(channel);
  let parsed = CHANNEL_CACHE.get(channel);
  if (parsed === undefined && !CHANNEL_CACHE.has(channel)) {
    // A copy of the name: the frame's own string may be a slice of a whole replay chunk, which the
    // cache would keep alive (frame-layouts.ts). Only on a miss, so the cost does not matter.
    const name = JSON.parse(JSON.stringify(channel)) as string;
    parsed = parseChannel(name);
    if (CHANNEL_CACHE.size >= CHANNEL_CACHE_ENTRIES) CHANNEL_CACHE.clear();
    CHANNEL_CACHE.set(name, parsed);
  }
  return parsed;
}

/**
 * One of obcap's own records (the `obcap` journal line form, journal-line.ts): a gap record, one gap
 * per channel it names, or an order book snapshot (model/order-book-snapshot.ts: its body checked as
 * a group=2 book; a bad body is invalid like a bad frame). A record of an own event this version does
 * not know is `unknown` (counted); anything else is invalid. Never throws.
 */
export function decodeOwnRecord(text: string, rxMicros: number): DecodeResult {
  // Snapshots first, by their first bytes: the body (MiBs) is parsed once, inside readSnapshotRecord.
  if (isSnapshotRecord(text)) return snapshotResult(text, rxMicros);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return invalid("E_FRAME_JSON", `obcap record is not valid JSON (${err instanceof Error ? err.message : String(err)}); record: ${quote(text)}`);
  }
  const event = parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>).event : undefined;
  // A snapshot record in any other layout: refused with readSnapshotRecord's message.
  if (event === SNAPSHOT_EVENT) return snapshotResult(text, rxMicros);
  if (typeof event === "string" && event !== GAP_EVENT && event.startsWith(OWN_EVENT_PREFIX)) return { kind: "unknown", event, channel: "" };
  const result = v.safeParse(GapRecordSchema, parsed);
  if (!result.success) return issuesFailure(result.issues, `Invalid obcap record`, text);
  const gap = gapOfRecord(result.output);
  const gaps: GapEvent[] = [];
  for (const channel of gap.channels) {
    const parsedChannel = parseChannel(channel);
    if (parsedChannel?.stream === undefined) {
      return invalid("E_FRAME_INVALID", `${GAP_EVENT} record names ${JSON.stringify(short(channel))}, not a live_orders/live_trades channel; record: ${quote(text)}`);
    }
    gaps.push({ pair: parsedChannel.pair, stream: parsedChannel.stream, channel, startMicros: gap.startMicros, endMicros: gap.endMicros, reason: gap.reason, rxMicros });
  }
  return { kind: "gap", gaps };
}

function snapshotResult(text: string, rxMicros: number): DecodeResult {
  const read = readSnapshotRecord(text, rxMicros);
  return read.ok ? { kind: "snapshot", snapshot: read.snapshot } : invalid(read.code, read.reason);
}

/** Builds the event from the validated wire object itself: valibot's output would reorder keys. */
function buildEvent(stream: Stream, pair: string, channel: string, frame: Record<string, unknown>, rxMicros: number): MarketEvent {
  // Null prototype: a wire key "__proto__" must stay a plain field.
  const extra = Object.create(null) as Record<string, unknown>;
  const topLevelKeys = Object.keys(frame);
  for (const key of topLevelKeys) {
    if (key !== "data" && key !== "channel" && key !== "event") extra[key] = frame[key];
  }
  const eventId = frame.event_id as string | undefined;
  const preEventId = frame.pre_event_id as string | undefined;
  // Object literals, not spreads of a shared base: one allocation and one shape per stream.
  return stream === "orders"
    ? { pair, channel, extra, eventId, preEventId, rxMicros, topLevelKeys, stream, event: frame.event as OrderEventName, data: frame.data as OrderData }
    : { pair, channel, extra, eventId, preEventId, rxMicros, topLevelKeys, stream, event: "trade", data: frame.data as TradeData };
}

function schemaFailure(
  schema: v.GenericSchema,
  value: unknown,
  what: string,
  text: string,
): Extract<DecodeResult, { kind: "invalid" }> {
  const result = v.safeParse(schema, value);
  if (result.success) return invalid("E_FRAME_INVALID", `${what}; frame: ${quote(text)}`);
  return issuesFailure(result.issues, what, text);
}

function issuesFailure(
  issues: [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]],
  what: string,
  text: string,
): Extract<DecodeResult, { kind: "invalid" }> {
  return invalid("E_FRAME_INVALID", `${what}:\n${v.summarize(issues)}\nframe: ${quote(text)}`);
}

function invalid(code: FrameErrorCode, message: string): Extract<DecodeResult, { kind: "invalid" }> {
  return { kind: "invalid", code, message };
}

/** A wire name for a message, bounded: a hostile frame must not make a huge log line. */
function short(name: string): string {
  return name.length > 80 ? `${name.slice(0, 80)}…` : name;
}

/** The first {@link FRAME_PREVIEW_CHARS} characters, marked when cut. */
function quote(text: string): string {
  return text.length > FRAME_PREVIEW_CHARS ? `${text.slice(0, FRAME_PREVIEW_CHARS)}…` : text;
}
