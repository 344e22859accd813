/**
 * Every real fixture frame and REST body validates against its schema; broken variants are rejected
 * with an issue at the right path.
 */
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { parseJsonExact } from "../../../../src/base/exact-json.ts";
import { DECIMAL_STRING_RE, EnvelopeSchema, OrderFrameSchema, TradeFrameSchema } from "../../../../src/model/schemas.ts";
import { ControlMessageSchema } from "../../../../src/exchange/bitstamp/control-frames.ts";
import { TradingPairsInfoSchema } from "../../../../src/exchange/bitstamp/pairs.ts";
import { decodeFrame } from "../../../../src/exchange/bitstamp/decode.ts";
import { restBodies, wsServerFrameEntries } from "../../../support/fixtures.ts";

/** The schema of a frame obcap reads; undefined for the book channels it only counts. */
function schemaFor(frame: Record<string, unknown>): v.GenericSchema | undefined {
  const channel = String(frame.channel);
  const event = String(frame.event);
  if (event.startsWith("bts:")) return ControlMessageSchema;
  if (channel.startsWith("live_orders_")) return OrderFrameSchema;
  if (channel.startsWith("live_trades_")) return TradeFrameSchema;
  if (/^(detail_|diff_)?order_book_/.test(channel)) return undefined;
  throw new Error(`no schema for ${channel}/${event}`);
}

function issuePaths(schema: v.GenericSchema, value: unknown): string[] {
  const result = v.safeParse(schema, value);
  return result.success ? [] : result.issues.map((issue) => v.getDotPath(issue) ?? "");
}

const ORDER_2026 =
  '{"data":{"id":2037493297635328,"id_str":"2037493297635328","order_type":0,"order_subtype":5,"datetime":"1786269862","microtimestamp":"1786269861947000","amount":0.00171371,"amount_str":"0.00171371","amount_traded":"0","amount_at_create":"0.00171371","price":58356.1,"price_str":"58356.10","is_liquidation":false},"channel":"live_orders_btcusd","event":"order_deleted","event_id":"0006589a-5c98-2678-0000-000101000020","pre_event_id":"0006589a-5c97-f798-0000-000100000020","order_source":"orderbook"}';

function order2026With(mutate: (data: Record<string, unknown>, frame: Record<string, unknown>) => void): unknown {
  const frame = parseJsonExact(ORDER_2026) as Record<string, unknown>;
  mutate(frame.data as Record<string, unknown>, frame);
  return frame;
}

describe("schemas on real frames", () => {
  const frames = wsServerFrameEntries();

  test("the fixtures hold all 688 recorded server frames", () => {
    expect(frames.length).toBe(688);
  });

  test("every real server frame validates against the schema of its channel and event", () => {
    const failures: string[] = [];
    for (const { where, text } of frames) {
      const frame = parseJsonExact(text) as Record<string, unknown>;
      const schema = schemaFor(frame);
      if (schema === undefined) {
        // Book channels are not stored: the decoder counts them as a kind it does not store.
        if (decodeFrame(text, 0).kind !== "unknown") failures.push(`${where}: a book frame not decoded as unknown`);
      } else {
        const result = v.safeParse(schema, frame);
        if (!result.success) failures.push(`${where}: ${v.summarize(result.issues)}`);
      }
      if (!v.safeParse(EnvelopeSchema, frame).success) failures.push(`${where}: envelope`);
    }
    expect(failures).toEqual([]);
  });

  test("every real trading-pairs-info body validates against its schema", () => {
    const bodies = restBodies().filter((body) => body.kind === "trading-pairs-info");
    expect(bodies.length).toBeGreaterThan(0);
    for (const body of bodies) {
      const result = v.safeParse(TradingPairsInfoSchema, JSON.parse(body.text));
      expect(result.success ? "" : `${body.where}: ${v.summarize(result.issues)}`).toBe("");
    }
  });
});

describe("schemas on documented and edited frames", () => {
  test("accepts the documented control frames that no fixture recorded", () => {
    for (const text of [
      '{"event": "bts:heartbeat", "channel": "", "data": {"status": "success"}}',
      '{"event": "bts:error", "channel": "", "data": {"code": null, "message": "Incorrect JSON format."}}',
      '{"event": "bts:error", "channel": "", "data": {"code": 4009, "message": "Authentication failed."}}',
      '{"event": "bts:request_reconnect", "channel": "", "data": null}',
      '{"event": "bts:request_reconnect", "channel": "", "data": {}}',
      '{"event":"bts:unsubscription_succeeded","channel":"live_orders_btcusd","data":{}}',
    ]) {
      expect(issuePaths(ControlMessageSchema, JSON.parse(text))).toEqual([]);
    }
  });

  test("rejects a bts:error without a message", () => {
    expect(issuePaths(ControlMessageSchema, { event: "bts:error", channel: "", data: { code: null } })).toEqual(["data.message"]);
  });

  test("accepts the 2022 order format without the 2023 and 2026 fields", () => {
    const frame = order2026With((data, top) => {
      for (const key of ["amount_traded", "amount_at_create", "order_subtype", "is_liquidation"]) delete data[key];
      for (const key of ["event_id", "pre_event_id", "order_source"]) delete top[key];
    });
    expect(issuePaths(OrderFrameSchema, frame)).toEqual([]);
  });

  test("keeps unknown fields in data and at the top level", () => {
    const frame = order2026With((data, top) => {
      data.new_field = "x";
      top.new_top = 1;
    });
    const out = v.parse(OrderFrameSchema, frame) as Record<string, unknown>;
    expect(out.new_top).toBe(1);
    expect((out.data as Record<string, unknown>).new_field).toBe("x");
  });

  test("accepts a perp trade with id_str and an id above 2^53", () => {
    const text =
      '{"data":{"id":2001939623936278528,"id_str":"2001939623936278528","type":0,"sell_order_id":2050545352740993,"buy_order_id":2050545360601216,"amount":0.00921,"amount_str":"0.00921","price":77204,"price_str":"77204","microtimestamp":"1789456400586000","timestamp":"1789456400586"},"channel":"live_trades_btcusd-perp","event":"trade"}';
    expect(issuePaths(TradeFrameSchema, parseJsonExact(text))).toEqual([]);
  });

  test.each([
    ["a missing price_str", (d: Record<string, unknown>) => delete d.price_str, "data.price_str"],
    ["price_str with a comma", (d: Record<string, unknown>) => (d.price_str = "12,5"), "data.price_str"],
    ["id_str with letters", (d: Record<string, unknown>) => (d.id_str = "12a4"), "data.id_str"],
    ["microtimestamp as a number", (d: Record<string, unknown>) => (d.microtimestamp = 1786269861947000), "data.microtimestamp"],
    ["price as a string", (d: Record<string, unknown>) => (d.price = "58356.1"), "data.price"],
    ["a fractional id", (d: Record<string, unknown>) => (d.id = 1.5), "data.id"],
    ["is_liquidation as a string", (d: Record<string, unknown>) => (d.is_liquidation = "false"), "data.is_liquidation"],
  ])("rejects an order with %s", (_name, mutate, path) => {
    expect(issuePaths(OrderFrameSchema, order2026With((data) => mutate(data)))).toEqual([path]);
  });

  test("rejects an unknown event on a live_orders frame", () => {
    expect(issuePaths(OrderFrameSchema, order2026With((_d, top) => (top.event = "order_replaced")))).toEqual(["event"]);
  });

  test("decimal strings: plain and exponent forms pass, anything else fails", () => {
    for (const ok of ["0.10000000", "27000.50", "32", "0", "1E-8", "1e-08", "-1.5"]) expect(DECIMAL_STRING_RE.test(ok)).toBe(true);
    for (const bad of ["12,5", "", ".5", "5.", "1.2.3", "NaN", " 1", "0x10", "1e"]) expect(DECIMAL_STRING_RE.test(bad)).toBe(false);
  });
});
