/**
 * Bitstamp WebSocket v2 channel names and the client frames that name them.
 *
 * Channel = `<prefix>_<pair>`, pair = lower-case `url_symbol` / `market_symbol`, perpetuals with a
 * `-perp` suffix (bitstamp-protocol.md §2, §5). Upper case gets `bts:error` "Invalid channel provided."
 */

/** The two streams obcap stores. */
export type Stream = "orders" | "trades";

/** Every channel prefix obcap recognises; only the `live_*` ones are stored, the others are counted. */
export type ChannelPrefix = "live_orders" | "live_trades" | "order_book" | "detail_order_book" | "diff_order_book" | "funding_rate";

/** Prefix of each stored stream's channel. */
export const STREAM_CHANNEL_PREFIX = {
  orders: "live_orders",
  trades: "live_trades",
} as const satisfies Record<Stream, ChannelPrefix>;

export const STREAMS: readonly Stream[] = ["orders", "trades"];

/** Longest first so that `detail_order_book_` is not read as `order_book_` (it never is, but keep it obvious). */
const PREFIXES: readonly ChannelPrefix[] = [
  "detail_order_book",
  "diff_order_book",
  "funding_rate",
  "live_orders",
  "live_trades",
  "order_book",
];

/** A pair as Bitstamp spells it in channel names: lower-case letters and digits, optional `-perp`. */
export const PAIR_PATTERN = /^[a-z0-9]+(?:-perp)?$/;


/** A channel name split into its parts; `stream` is set only for the stored `live_*` channels. */
export interface ParsedChannel {
  prefix: ChannelPrefix;
  pair: string;
  stream: Stream | undefined;
}

/** `live_orders_btcusd` for ("orders", "btcusd"). */
export function channelName(stream: Stream, pair: string): string {
  return `${STREAM_CHANNEL_PREFIX[stream]}_${pair}`;
}

/** Splits a channel name, or `undefined` for an unknown prefix or a pair not matching {@link PAIR_PATTERN}. */
export function parseChannel(channel: string): ParsedChannel | undefined {
  for (const prefix of PREFIXES) {
    if (channel.length > prefix.length + 1 && channel.startsWith(prefix) && channel.charCodeAt(prefix.length) === 95) {
      const pair = channel.slice(prefix.length + 1);
      if (!PAIR_PATTERN.test(pair)) return undefined;
      const stream = prefix === "live_orders" ? "orders" : prefix === "live_trades" ? "trades" : undefined;
      return { prefix, pair, stream };
    }
  }
  return undefined;
}
