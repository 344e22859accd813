/**
 * Gap records: obcap's own record of an interval in which events of some channels may be missing.
 * They travel through the capture beside the market frames (ring -> journal -> table), so the journal
 * and the table both say what is missing. In the journal they have their own line form, which no
 * frame from the network can take (journal-line.ts):
 *
 *   {"rx":1788551770000000,"obcap":{"event":"obcap:gap","channels":["live_orders_btcusd"],"data":{"start_us":"1788551766927713","end_us":"1788551769931042","reason":"stale"}}}
 *
 * The `obcap:` event prefix is reserved: a frame from the exchange, or a plain recorded line, that
 * uses it is rejected (decode.ts), so nothing from the network can forge a gap record or hide a hole.
 * Times are integer microseconds since the epoch as decimal strings, like Bitstamp's `microtimestamp`.
 */
import * as v from "valibot";

/** `event` of a gap record. */
export const GAP_EVENT = "obcap:gap";
/** Every event name obcap writes itself starts with this; the exchange may not use it. */
export const OWN_EVENT_PREFIX = "obcap:";

/**
 * Why frames may be missing:
 * - `stale`: the connection went silent (no data and no heartbeat answer for --stale-ms); obcap cut it.
 * - `dropped`: the connection ended without a close frame (TCP reset, network gone).
 * - `closed`: the exchange closed the connection cleanly (close frame) before a successor was subscribed.
 * - `chain`: an event's `pre_event_id` is not the previous event seen on its channel (exact proof).
 * - `overflow`: the queue and its overflow were full (or the capture stopped before they emptied);
 *   frames were dropped before the ring.
 * - `shutdown`: frames were in the queue when --shutdown-ms ran out; they were not journaled.
 * - `evicted`: the journal reached its disk budget and dropped its oldest segment before DynamoDB
 *   had it (or, without a table, dropped it from the output): frames between its first and last
 *   receive times are gone (journal-keeper.ts).
 * - `restart`: from the last frame the previous run journaled to this run's subscription: obcap was
 *   not running (a crash, a stop, a reboot) or not yet subscribed.
 * - `start`: not a hole but a boundary: the first capture of the channel in this journal directory
 *   (or a capture without a journal, which cannot know when the last one ended) starts at `end_us`;
 *   nothing before it is covered by this record. `start_us` equals `end_us`.
 */
export const GAP_REASONS = ["stale", "dropped", "closed", "chain", "overflow", "shutdown", "evicted", "restart", "start"] as const;
export type GapReason = (typeof GAP_REASONS)[number];

/** One interval of one channel in which events may be missing (the feed supervisor's unit). */
export interface FeedGap {
  /** `live_orders_<pair>` or `live_trades_<pair>`. */
  channel: string;
  /**
   * Connection gaps: the earlier of the receive time of the lost connection's last frame and the
   * exchange `microtimestamp` of its last market event. Chain gaps: `microtimestamp` of the last event
   * before the break. Overflow: first dropped frame's receive time.
   */
  startMicros: number;
  /** Connection gaps: when the channel's new subscription was acknowledged. Chain: the first event after the break. */
  endMicros: number;
  reason: GapReason;
}

/** One interval of several channels (an overflow drops frames of every channel). */
export interface GapRecord {
  channels: readonly string[];
  startMicros: number;
  endMicros: number;
  reason: GapReason;
}

const MICROS_TEXT = /^\d{1,16}$/;

/** The `data` of a gap record; strings of digits, like `microtimestamp`. */
export const GapDataSchema = v.pipe(
  v.object({
    start_us: v.pipe(v.string(), v.regex(MICROS_TEXT, "start_us must be 1 to 16 digits")),
    end_us: v.pipe(v.string(), v.regex(MICROS_TEXT, "end_us must be 1 to 16 digits")),
    reason: v.picklist(GAP_REASONS),
  }),
  // 16 digits stay below 2^53, so Number() compares them exactly.
  v.check((d) => Number(d.end_us) >= Number(d.start_us), "end_us must not be before start_us"),
);

/** A whole gap record. Strict on purpose: obcap writes these itself. */
export const GapRecordSchema = v.object({
  event: v.literal(GAP_EVENT),
  channels: v.pipe(v.array(v.string()), v.minLength(1, "channels must name at least one channel")),
  data: GapDataSchema,
});
type GapRecordText = v.InferOutput<typeof GapRecordSchema>;

/**
 * The record text of a gap, compact, keys in the order above. Times are truncated to whole µs and an
 * end before the start is raised to the start (clocks are stamped by different callbacks).
 */
export function gapRecord(gap: GapRecord): string {
  const start = Math.max(0, Math.trunc(gap.startMicros));
  const end = Math.max(start, Math.trunc(gap.endMicros));
  return (
    `{"event":"${GAP_EVENT}","channels":${JSON.stringify(gap.channels)},` +
    `"data":{"start_us":"${start}","end_us":"${end}","reason":"${gap.reason}"}}`
  );
}

/** The record text of one channel's gap. */
export function gapFrame(gap: FeedGap): string {
  return gapRecord({ channels: [gap.channel], startMicros: gap.startMicros, endMicros: gap.endMicros, reason: gap.reason });
}

/** The gap a validated {@link GapRecordText} describes. */
export function gapOfRecord(record: GapRecordText): GapRecord {
  return {
    channels: record.channels,
    startMicros: Number(record.data.start_us),
    endMicros: Number(record.data.end_us),
    reason: record.data.reason,
  };
}

const MICROTIMESTAMP = /"microtimestamp":\s*"(\d{1,16})"/;

/**
 * The exchange time (`data.microtimestamp`, µs) of a market frame, found without parsing it; undefined
 * if it has none. Events the exchange wrote after a frame carry times from about this one on, while
 * the receive clock lags by latency and any backlog, so a connection gap starts at the earlier of both.
 */
export function exchangeMicrosOf(frame: string | undefined): number | undefined {
  const match = frame === undefined ? null : MICROTIMESTAMP.exec(frame);
  return match === null ? undefined : Number(match[1]);
}
