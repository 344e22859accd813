/** The frames obcap sends to Bitstamp (bitstamp-protocol.md §1.1). */

/** `{"event":"bts:subscribe","data":{"channel":"<name>"}}`, byte for byte as real clients send it. */
export function subscribeFrame(channel: string): string {
  return JSON.stringify({ event: "bts:subscribe", data: { channel } });
}

/** `{"event":"bts:unsubscribe","data":{"channel":"<name>"}}`. */
export function unsubscribeFrame(channel: string): string {
  return JSON.stringify({ event: "bts:unsubscribe", data: { channel } });
}

/** The application heartbeat; the server answers `bts:heartbeat` with `{"status":"success"}`. */
export function heartbeatFrame(): string {
  return '{"event":"bts:heartbeat"}';
}
