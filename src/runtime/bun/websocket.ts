/**
 * Bun's WebSocket client as the feed's socket factory. Bun-only: the options object.
 *
 * permessage-deflate is off: Bitstamp only compresses when the client offers it, and inflating on the
 * receive thread costs more than the bandwidth it saves for small JSON frames (cryptofeed also
 * connects with compression=None).
 */
import type { FeedSocket, SocketFactory } from "../../exchange/bitstamp/connection.ts";

export const createBunSocket: SocketFactory = (url: string): FeedSocket =>
  // Bun's constructor takes an options object where the standard one takes protocols.
  new WebSocket(url, { perMessageDeflate: false } as unknown as string[]) as unknown as FeedSocket;
