import { describe, expect, test } from "bun:test";
import { PAIR_PATTERN, channelName, parseChannel } from "../../../../src/model/channels.ts";
import { heartbeatFrame, subscribeFrame, unsubscribeFrame } from "../../../../src/exchange/bitstamp/client-frames.ts";
import { clientSentFrames } from "../../../support/fixtures.ts";

describe("channel names", () => {
  test("builds live_orders and live_trades names from stream and pair", () => {
    expect(channelName("orders", "btcusd")).toBe("live_orders_btcusd");
    expect(channelName("trades", "btcusd-perp")).toBe("live_trades_btcusd-perp");
  });

  test("parses stored channels back into stream and pair", () => {
    expect(parseChannel("live_orders_btcusd")).toEqual({ prefix: "live_orders", pair: "btcusd", stream: "orders" });
    expect(parseChannel("live_trades_asterusd-perp")).toEqual({ prefix: "live_trades", pair: "asterusd-perp", stream: "trades" });
  });

  test("recognises book and funding channels without a stream, for counting", () => {
    expect(parseChannel("order_book_btcusd")).toEqual({ prefix: "order_book", pair: "btcusd", stream: undefined });
    expect(parseChannel("detail_order_book_btcusd")).toEqual({ prefix: "detail_order_book", pair: "btcusd", stream: undefined });
    expect(parseChannel("diff_order_book_sgbeur")).toEqual({ prefix: "diff_order_book", pair: "sgbeur", stream: undefined });
    expect(parseChannel("funding_rate_btcusd-perp")?.prefix).toBe("funding_rate");
  });

  test("rejects unknown prefixes, empty pairs and pairs Bitstamp would refuse", () => {
    for (const bad of ["", "live_orders_", "live_orders", "live_orders_BTCUSD", "live_orders_btc/usd", "live_orders_btcusd-PERP", "private-my_orders_btcusd-1", "bogus_btcusd"]) {
      expect(parseChannel(bad)).toBeUndefined();
    }
  });

  test("PAIR_PATTERN accepts lower-case url symbols with an optional -perp", () => {
    for (const ok of ["btcusd", "usdteur", "1inchusd", "btcusd-perp"]) expect(PAIR_PATTERN.test(ok)).toBe(true);
    for (const bad of ["BTCUSD", "btc_usd", "btcusd-", "btcusd-perp-perp", ""]) expect(PAIR_PATTERN.test(bad)).toBe(false);
  });
});

describe("client frames", () => {
  test("subscribe frames are byte-identical to the ones a real client sent", () => {
    const sent = clientSentFrames();
    expect(sent.length).toBe(20);
    for (const frame of sent) {
      const channel = /"channel":"([^"]+)"/.exec(frame)?.[1] ?? "";
      expect(subscribeFrame(channel)).toBe(frame);
    }
  });

  test("unsubscribe and heartbeat frames are compact JSON", () => {
    expect(unsubscribeFrame("live_orders_btcusd")).toBe('{"event":"bts:unsubscribe","data":{"channel":"live_orders_btcusd"}}');
    expect(heartbeatFrame()).toBe('{"event":"bts:heartbeat"}');
  });
});
