/**
 * Bun's WebSocket client as the feed's socket factory. Bun-only: the options object and `terminate()`.
 *
 * permessage-deflate is off: Bitstamp only compresses when the client offers it, and inflating on the
 * receive thread costs more than the bandwidth it saves for small JSON frames (cryptofeed also
 * connects with compression=None).
 *
 * `terminate()` (non-standard) drops the connection at once. The watchdog needs it: on a dead peer
 * `close()` waits for the closing handshake and took 33 s to fire `close` (BUN-NOTES).
 */
import type { FeedSocket, SocketFactory } from "../ports.ts";

/** The part of Bun's client beyond the WHATWG WebSocket that obcap uses. */
interface BunWebSocket extends WebSocket {
  terminate(): void;
}

export const createBunSocket: SocketFactory = (url: string): FeedSocket => {
  // Bun's constructor takes an options object where the standard one takes protocols.
  const socket = new WebSocket(url, { perMessageDeflate: false } as unknown as string[]) as BunWebSocket;
  // Bun's own terminate() fills FeedSocket's optional one.
  return socket as unknown as FeedSocket & Required<Pick<FeedSocket, "terminate">>;
};
