/**
 * decodeFrame on every real fixture frame (acks -> control, book channels -> unknown, orders and
 * trades -> event) and on broken frames, whose messages must say what, where, and quote the frame.
 */
import { describe, expect, test } from "bun:test";
import { JsonNumber } from "../../../../src/base/exact-json.ts";
import { decodeFrame, type DecodeResult } from "../../../../src/exchange/bitstamp/decode.ts";
import type { MarketEvent } from "../../../../src/model/events.ts";
import { bookFrames, controlFrames, orderAndTradeFrameEntries, wsServerFrameEntries } from "../../../support/fixtures.ts";
import { baseFrames, objectMutations, textMutations } from "../../../support/frame-mutations.ts";
import { seededRandom } from "../../../support/seeded-random.ts";

const RX = 1_788_551_766_927_713;

const ORDER_2026 =
  '{"data":{"id":2037493297635328,"id_str":"2037493297635328","order_type":0,"order_subtype":5,"datetime":"1786269862","microtimestamp":"1786269861947000","amount":0.00171371,"amount_str":"0.00171371","amount_traded":"0","amount_at_create":"0.00171371","price":58356.1,"price_str":"58356.10","is_liquidation":false},"channel":"live_orders_btcusd","event":"order_deleted","event_id":"0006589a-5c98-2678-0000-000101000020","pre_event_id":"0006589a-5c97-f798-0000-000100000020","order_source":"orderbook"}';

function expectEvent(result: DecodeResult): MarketEvent {
  if (result.kind !== "event") throw new Error(`expected an event, got ${JSON.stringify(result)}`);
  return result.event;
}

function expectInvalid(result: DecodeResult): { code: string; message: string } {
  if (result.kind !== "invalid") throw new Error(`expected invalid, got ${result.kind}`);
  return result;
}

describe("decodeFrame on real frames", () => {
  test("classifies all 688 real server frames: 21 acks as control, 643 book frames as unknown, 24 orders and trades as events", () => {
    const counts: Record<string, number> = {};
    for (const { text } of wsServerFrameEntries()) {
      const kind = decodeFrame(text, RX).kind;
      counts[kind] = (counts[kind] ?? 0) + 1;
    }
    expect(counts).toEqual({
      control: controlFrames().length,
      unknown: bookFrames().length,
      event: orderAndTradeFrameEntries().length,
    });
    expect(controlFrames().length).toBe(21);
    expect(bookFrames().length).toBe(643);
    expect(orderAndTradeFrameEntries().length).toBe(24);
  });

  test("every subscription ack is a control message naming its channel", () => {
    for (const text of controlFrames()) {
      const result = decodeFrame(text, RX);
      if (result.kind !== "control") throw new Error(text);
      expect(result.event).toBe("bts:subscription_succeeded");
      expect(text).toContain(`"channel":"${result.channel}"`);
      expect(result.message.event).toBe("bts:subscription_succeeded");
    }
  });

  test("book channel frames are valid but not stored", () => {
    for (const text of bookFrames()) {
      const result = decodeFrame(text, RX);
      expect(result.kind).toBe("unknown");
    }
  });

  test("order and trade frames become events with stream, pair and untouched decimal strings", () => {
    for (const { where, text } of orderAndTradeFrameEntries()) {
      const ev = expectEvent(decodeFrame(text, RX));
      expect(ev.channel).toBe(`${ev.stream === "orders" ? "live_orders" : "live_trades"}_${ev.pair}`);
      expect(ev.rxMicros).toBe(RX);
      // The decimal strings are the wire's own text, found verbatim in the frame.
      for (const key of ["price_str", "amount_str", "microtimestamp"] as const) {
        const value = ev.data[key];
        if (!new RegExp(`"${key}": ?"${value.replace(".", "\\.")}"`).test(text)) throw new Error(`${where}: ${key} changed`);
      }
    }
  });

  test("a 2026 order frame keeps event_id, pre_event_id and order_source as extra and key order", () => {
    const ev = expectEvent(decodeFrame(ORDER_2026, RX));
    expect(ev.stream).toBe("orders");
    expect(ev.event).toBe("order_deleted");
    expect(ev.pair).toBe("btcusd");
    expect(ev.eventId).toBe("0006589a-5c98-2678-0000-000101000020");
    expect(ev.preEventId).toBe("0006589a-5c97-f798-0000-000100000020");
    expect(ev.extra).toEqual({
      event_id: "0006589a-5c98-2678-0000-000101000020",
      pre_event_id: "0006589a-5c97-f798-0000-000100000020",
      order_source: "orderbook",
    });
    expect(ev.topLevelKeys).toEqual(["data", "channel", "event", "event_id", "pre_event_id", "order_source"]);
    expect(Object.keys(ev.data)[0]).toBe("id");
    expect(ev.data.price_str).toBe("58356.10");
  });

  test("accepts Uint8Array frames and gives the same event as the string", () => {
    const fromBytes = expectEvent(decodeFrame(new TextEncoder().encode(ORDER_2026), RX));
    expect(fromBytes).toEqual(expectEvent(decodeFrame(ORDER_2026, RX)));
  });

  test("keeps a perp trade id above 2^53 exactly", () => {
    const text =
      '{"data":{"id":2001939623936278528,"id_str":"2001939623936278528","type":0,"sell_order_id":2050545352740993,"buy_order_id":2050545360601216,"amount":0.00921,"amount_str":"0.00921","price":77204,"price_str":"77204","microtimestamp":"1789456400586000","timestamp":"1789456400586"},"channel":"live_trades_btcusd-perp","event":"trade"}';
    const ev = expectEvent(decodeFrame(text, RX));
    expect(ev.stream).toBe("trades");
    expect(ev.pair).toBe("btcusd-perp");
    expect(ev.data.id).toEqual(new JsonNumber("2001939623936278528"));
  });
});

describe("decodeFrame on control frames", () => {
  test.each([
    ['{"event": "bts:heartbeat", "channel": "", "data": {"status": "success"}}', "bts:heartbeat"],
    ['{"event": "bts:error", "channel": "", "data": {"code": null, "message": "Bad subscription string."}}', "bts:error"],
    ['{"event": "bts:request_reconnect", "channel": "", "data": null}', "bts:request_reconnect"],
    ['{"event": "bts:request_reconnect", "channel": "", "data": {}}', "bts:request_reconnect"],
    ['{"event":"bts:unsubscription_succeeded","channel":"live_orders_btcusd","data":{}}', "bts:unsubscription_succeeded"],
  ])("decodes %s as control", (text, event) => {
    const result = decodeFrame(text, RX);
    expect(result.kind).toBe("control");
    if (result.kind === "control") expect(result.message.event).toBe(event as typeof result.message.event);
  });

  test("a new event name on live_orders or live_trades is unknown (counted per kind), not invalid", () => {
    expect(decodeFrame(ORDER_2026.replace('"event":"order_deleted"', '"event":"order_replaced"'), RX)).toEqual({
      kind: "unknown",
      event: "order_replaced",
      channel: "live_orders_btcusd",
    });
  });

  test("an unknown bts event is unknown, not invalid", () => {
    expect(decodeFrame('{"event":"bts:connection_established","channel":"","data":{}}', RX)).toEqual({
      kind: "unknown",
      event: "bts:connection_established",
      channel: "",
    });
  });

  test("a bts:error without message is invalid and says where", () => {
    const bad = expectInvalid(decodeFrame('{"event":"bts:error","channel":"","data":{"code":null}}', RX));
    expect(bad.code).toBe("E_FRAME_INVALID");
    expect(bad.message).toContain("bts:error");
    expect(bad.message).toContain("→ at data.message");
  });
});

describe("decodeFrame on broken frames", () => {
  const broken = (from: string, to: string) => {
    if (!ORDER_2026.includes(from)) throw new Error(`test setup: ${from} not in frame`);
    return ORDER_2026.replace(from, to);
  };

  test("a missing price_str names the channel, event, path and quotes the frame", () => {
    const text = broken(',"price_str":"58356.10"', "");
    const bad = expectInvalid(decodeFrame(text, RX));
    expect(bad.code).toBe("E_FRAME_INVALID");
    expect(bad.message).toStartWith("Invalid order_deleted frame on live_orders_btcusd:\n× ");
    expect(bad.message).toContain("\n  → at data.price_str\n");
    expect(bad.message).toContain(`frame: ${text.slice(0, 200)}…`);
    expect(bad.message).not.toContain(text.slice(0, 201));
  });

  test.each([
    ['"price_str":"58356.10"', '"price_str":"12,5"', "data.price_str", 'Expected digits like "27000.50" but received "12,5"'],
    ['"id_str":"2037493297635328"', '"id_str":"20374932976353x8"', "data.id_str", "Expected only digits"],
    ['"price":58356.1', '"price":"58356.1"', "data.price", "Expected JSON number"],
    ['"is_liquidation":false', '"is_liquidation":0', "data.is_liquidation", "Expected boolean"],
    ['"event_id":"0006589a-5c98-2678-0000-000101000020"', '"event_id":42', "event_id", "Expected string"],
  ])("rejects %s -> %s at %s", (from, to, path, phrase) => {
    const bad = expectInvalid(decodeFrame(broken(from, to), RX));
    expect(bad.code).toBe("E_FRAME_INVALID");
    expect(bad.message).toContain(`→ at ${path}`);
    expect(bad.message).toContain(phrase);
  });

  test("text that is not JSON is E_FRAME_JSON and quoted", () => {
    const bad = expectInvalid(decodeFrame("Incorrect {JSON", RX));
    expect(bad.code).toBe("E_FRAME_JSON");
    expect(bad.message).toStartWith("Frame is not valid JSON (");
    expect(bad.message).toEndWith("frame: Incorrect {JSON");
  });

  test("invalid UTF-8 bytes are E_FRAME_UTF8 with the byte count", () => {
    const bytes = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]);
    const bad = expectInvalid(decodeFrame(bytes, RX));
    expect(bad.code).toBe("E_FRAME_UTF8");
    expect(bad.message).toContain("(10 bytes)");
  });

  test("JSON that is not an object, or lacks event or channel, is E_FRAME_INVALID", () => {
    expect(expectInvalid(decodeFrame("[1,2]", RX)).code).toBe("E_FRAME_INVALID");
    expect(expectInvalid(decodeFrame("null", RX)).code).toBe("E_FRAME_INVALID");
    const noChannel = expectInvalid(decodeFrame('{"event":"trade","data":{}}', RX));
    expect(noChannel.message).toContain("→ at channel");
    const noEvent = expectInvalid(decodeFrame('{"channel":"live_orders_btcusd","data":{}}', RX));
    expect(noEvent.message).toContain("→ at event");
  });

  test("a trade frame with missing data is invalid at data", () => {
    const bad = expectInvalid(decodeFrame('{"channel":"live_trades_btcusd","event":"trade"}', RX));
    expect(bad.message).toContain("Invalid trade frame on live_trades_btcusd");
    expect(bad.message).toContain("→ at data");
  });

  test("an upper-case or unknown channel is unknown, not stored", () => {
    expect(decodeFrame(ORDER_2026.replace("live_orders_btcusd", "live_orders_BTCUSD"), RX).kind).toBe("unknown");
    expect(decodeFrame('{"data":{},"channel":"funding_rate_btcusd-perp","event":"funding_rate_saved"}', RX).kind).toBe("unknown");
  });
});

describe("decodeFrame fast paths", () => {
  /**
   * A trailing space keeps a frame valid JSON but sends it past the layout parser, through
   * parseJsonExact, the hand check and valibot: both ways must give the same result.
   */
  function expectSameBothWays(text: string): DecodeResult["kind"] {
    const fast = decodeFrame(text, RX);
    const general = decodeFrame(`${text} `, RX);
    // V8's JSON.parse (Deno, Node) puts an excerpt of the text and positions in its message, and one text has the extra space.
    const withoutFrame = (message: string) =>
      message
        .slice(0, message.lastIndexOf("frame: "))
        .replace(/, (\.\.\.)?"[\s\S]*"(\.\.\.)? is not valid JSON/, ", <excerpt> is not valid JSON")
        .replace(/ at position \d+ \(line \d+ column \d+\)/, " at <position>");
    if (fast.kind === "invalid" && general.kind === "invalid") {
      expect([fast.code, withoutFrame(fast.message)]).toEqual([general.code, withoutFrame(general.message)]);
    } else {
      expect(fast).toEqual(general);
      if (fast.kind === "event" && general.kind === "event") {
        expect(Object.keys(fast.event.data)).toEqual(Object.keys(general.event.data));
        expect(Object.keys(fast.event.extra)).toEqual(Object.keys(general.event.extra));
      }
    }
    return fast.kind;
  }

  test("give the same result as the general path on every real server frame", () => {
    for (const { text } of wsServerFrameEntries()) expectSameBothWays(text);
  });

  test("give the same result as the general path on real, edge-case and generated frames and their text mutations", () => {
    const rand = seededRandom(31);
    const kinds: Record<string, number> = {};
    for (const text of baseFrames(40)) {
      for (const mutated of [text, ...textMutations(text, rand, 30)]) {
        const kind = expectSameBothWays(mutated);
        kinds[kind] = (kinds[kind] ?? 0) + 1;
      }
    }
    // Valid and invalid frames must both be common, or the comparison says little.
    expect(kinds.event ?? 0).toBeGreaterThan(5_000);
    expect(kinds.invalid ?? 0).toBeGreaterThan(5_000);
  }, 30_000); // ~3 s alone; a loaded machine doubles it

  test("report the same errors as valibot for mutated fields of a 2026 order frame", () => {
    let invalid = 0;
    for (const { what, frame } of objectMutations(JSON.parse(ORDER_2026))) {
      const text = JSON.stringify(frame);
      if (text === undefined) throw new Error(what);
      if (expectSameBothWays(text) === "invalid") invalid++;
    }
    expect(invalid).toBeGreaterThan(200);
  });
});
