/**
 * What Bitstamp's WebSocket server answers to a client frame, as pure functions, so the fake exchange
 * (fake-exchange.ts) and its tests share one statement of the protocol. Every reply is written byte for
 * byte as recorded; sources are in ../../../shared/bitstamp-protocol.md §1.2 and §1.5.
 */

/** A 700-byte client frame closed the socket with 1009 "read limited at 513 bytes" [NEM-WS] §5. */
export const MAX_CLIENT_FRAME_BYTES = 512;
export const FRAME_TOO_BIG_CLOSE_CODE = 1009;
export const FRAME_TOO_BIG_CLOSE_REASON = "read limited at 513 bytes";

/** "Attempting a 1025th subscription causes the connection to be silently closed" [NEM-WS] §3. */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 1024;

/** Protocol ping interval of the real server (undocumented, measured) [NEM-WS] §5. */
export const SERVER_PING_INTERVAL_MS = 54_000;

/** `message` values of `bts:error` seen on the real server [NEM-WS] §5/§6. */
export const ERROR_MESSAGE = {
  json: "Incorrect JSON format.",
  badSubscription: "Bad subscription string.",
  invalidChannel: "Invalid channel provided.",
} as const;

/** Server → client control frames, exact bytes. */
export const REPLY = {
  /** Recorded (fixtures 2021/2022/2026). */
  subscribed: (channel: string) => `{"event":"bts:subscription_succeeded","channel":"${channel}","data":{}}`,
  /** Inferred by symmetry: event name from client libraries, no recorded frame exists. */
  unsubscribed: (channel: string) => `{"event":"bts:unsubscription_succeeded","channel":"${channel}","data":{}}`,
  error: (message: string) => `{"event":"bts:error","channel":"","data":{"code":null,"message":"${message}"}}`,
  /** Captured frame, with its spaces. */
  heartbeat: `{"event": "bts:heartbeat", "channel": "", "data": {"status": "success"}}`,
  /** The documented shape (`data` null); not captured by anyone. */
  requestReconnect: `{"event": "bts:request_reconnect", "channel": "", "data": null}`,
} as const;

/** What one client frame asks for. */
export type ClientRequest =
  | { kind: "subscribe"; channel: string }
  | { kind: "unsubscribe"; channel: string }
  | { kind: "heartbeat" }
  | { kind: "error"; message: string };

const CHANNEL_PREFIXES = ["live_trades", "live_orders", "order_book", "detail_order_book", "diff_order_book", "funding_rate"];
// Lower-case symbol, perps add "-perp". Unknown but well-formed symbols are acknowledged (then silent).
const CHANNEL_RE = new RegExp(`^(?:${CHANNEL_PREFIXES.join("|")})_[a-z0-9]+(?:-perp)?$`);

/** True if the real server would accept `channel` (it does not check that the pair exists). */
export function isWellFormedChannel(channel: string): boolean {
  return CHANNEL_RE.test(channel);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Classifies one client text frame the way the real server does. */
export function parseClientFrame(text: string): ClientRequest {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return { kind: "error", message: ERROR_MESSAGE.json };
  }
  if (!isRecord(message)) return { kind: "error", message: ERROR_MESSAGE.badSubscription };
  const event = message.event;
  if (event === "bts:heartbeat") return { kind: "heartbeat" };
  if (event !== "bts:subscribe" && event !== "bts:unsubscribe") {
    return { kind: "error", message: ERROR_MESSAGE.badSubscription };
  }
  const channel = isRecord(message.data) ? message.data.channel : undefined;
  if (typeof channel !== "string") return { kind: "error", message: ERROR_MESSAGE.badSubscription };
  if (!isWellFormedChannel(channel)) return { kind: "error", message: ERROR_MESSAGE.invalidChannel };
  return { kind: event === "bts:subscribe" ? "subscribe" : "unsubscribe", channel };
}

const CHANNEL_KEY = '"channel":"';
const CHANNEL_LOOSE_RE = /"channel"\s*:\s*"([^"]*)"/;

/**
 * The `channel` of a server frame without parsing it (the fake sends frames verbatim, some malformed on
 * purpose). Compact frames take the fast path; `undefined` if there is none.
 */
export function channelOf(frame: string): string | undefined {
  const at = frame.lastIndexOf(CHANNEL_KEY);
  if (at >= 0) {
    const start = at + CHANNEL_KEY.length;
    const end = frame.indexOf('"', start);
    if (end >= 0) return frame.slice(start, end);
  }
  return CHANNEL_LOOSE_RE.exec(frame)?.[1];
}
