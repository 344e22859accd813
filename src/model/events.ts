/**
 * obcap's event model: what a stored channel carries (order and trade events, with Bitstamp's own
 * field names and obcap's additions) and the gaps in it. The decoder produces these, the item codec
 * stores them, the order book reads them.
 */
import type { Stream } from "./channels.ts";
import type { GapReason } from "./gap-record.ts";
import type { OrderData, OrderEventName, TradeData } from "./schemas.ts";

export interface MarketEventBase {
  pair: string;
  /** The channel as received, e.g. `live_orders_btcusd`. */
  channel: string;
  /** Top-level fields other than `data`, `channel`, `event`, in wire order (event_id, pre_event_id, order_source, new ones). */
  extra: Record<string, unknown>;
  /** `event_id` when the frame has one (2026+ `live_orders`). */
  eventId: string | undefined;
  /** `pre_event_id`: the previous event's `event_id` on the same channel. */
  preEventId: string | undefined;
  /** Receive time, microseconds since the epoch (obcap's clock). */
  rxMicros: number;
  /** Top-level keys in wire order, so the stored item can rebuild the frame byte for byte. */
  topLevelKeys?: readonly string[];
}

/** One `live_orders_<pair>` event. `data` is the wire object itself (key order kept). */
export interface OrderEvent extends MarketEventBase {
  stream: "orders";
  event: OrderEventName;
  data: OrderData;
}

/** One `live_trades_<pair>` trade. */
export interface TradeEvent extends MarketEventBase {
  stream: "trades";
  event: "trade";
  data: TradeData;
}

/** A stored event; `stream` discriminates the `data` type. */
export type MarketEvent = OrderEvent | TradeEvent;

/**
 * An interval of one channel in which events may be missing, from a gap record (written by obcap
 * itself: src/model/gap-record.ts). Stored as a gap item, never as an event.
 */
export interface GapEvent {
  pair: string;
  stream: Stream;
  channel: string;
  startMicros: number;
  endMicros: number;
  reason: GapReason;
  /** When obcap recorded the gap (receive clock, µs). */
  rxMicros: number;
}
