/**
 * Gap records as frames. An interval in which obcap may have missed events of a channel travels
 * through the capture exactly like a market frame (receive handler -> ring -> journal and writer),
 * so the journal and the table both say what is missing, in order with the data around it:
 *
 *   {"event":"obcap:gap","channel":"live_orders_btcusd","data":{"start_us":"1788551766927713","end_us":"1788551769931042","reason":"stale"}}
 *
 * The `obcap:` prefix can never be a Bitstamp event (theirs are `bts:*` or market event names), and
 * the frame carries no `"bts:` substring, so the receive handler's control check never picks it out.
 * Times are integer microseconds since the epoch as decimal strings, like Bitstamp's `microtimestamp`.
 */
import * as v from "valibot";

/** `event` of a gap frame. */
export const GAP_EVENT = "obcap:gap";

/**
 * Why frames may be missing:
 * - `stale`: the connection went silent (no data and no heartbeat answer for --stale-ms); obcap cut it.
 * - `dropped`: the connection ended without a close frame (TCP reset, network gone).
 * - `closed`: the exchange closed the connection cleanly (close frame) before a successor was subscribed.
 * - `chain`: an event's `pre_event_id` is not the previous event seen on its channel (exact proof).
 * - `overflow`: the queue and its overflow were full; frames were dropped before the ring.
 */
export const GAP_REASONS = ["stale", "dropped", "closed", "chain", "overflow"] as const;
export type GapReason = (typeof GAP_REASONS)[number];

/** One interval of one channel in which events may be missing. Both ends in µs since the epoch. */
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

const MICROS_TEXT = /^\d{1,16}$/;

/** The `data` of a gap frame; strings of digits, like `microtimestamp`. */
export const GapDataSchema = v.pipe(
  v.object({
    start_us: v.pipe(v.string(), v.regex(MICROS_TEXT, "start_us must be 1 to 16 digits")),
    end_us: v.pipe(v.string(), v.regex(MICROS_TEXT, "end_us must be 1 to 16 digits")),
    reason: v.picklist(GAP_REASONS),
  }),
  // 16 digits stay below 2^53, so Number() compares them exactly.
  v.check((d) => Number(d.end_us) >= Number(d.start_us), "end_us must not be before start_us"),
);

/** A whole gap frame. Strict on purpose: obcap writes these itself. */
export const GapFrameSchema = v.object({
  event: v.literal(GAP_EVENT),
  channel: v.string(),
  data: GapDataSchema,
});
export type GapFrame = v.InferOutput<typeof GapFrameSchema>;

/**
 * The frame text of a gap, compact, keys in the order above. Times are truncated to whole µs and an
 * end before the start is raised to the start (clocks are stamped by different callbacks).
 */
export function gapFrame(gap: FeedGap): string {
  const start = Math.max(0, Math.trunc(gap.startMicros));
  const end = Math.max(start, Math.trunc(gap.endMicros));
  return (
    `{"event":"${GAP_EVENT}","channel":${JSON.stringify(gap.channel)},` +
    `"data":{"start_us":"${start}","end_us":"${end}","reason":"${gap.reason}"}}`
  );
}

/** The gap a validated {@link GapFrame} describes. */
export function gapOfFrame(frame: GapFrame): FeedGap {
  return {
    channel: frame.channel,
    startMicros: Number(frame.data.start_us),
    endMicros: Number(frame.data.end_us),
    reason: frame.data.reason,
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
