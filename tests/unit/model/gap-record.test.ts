/**
 * Gap records: obcap's own record, its decoding (and the rule that nothing from the network can forge
 * one), and its DynamoDB item (keys, attributes, and the record rebuilt byte for byte from the item).
 */
import { describe, expect, test } from "bun:test";
import { exchangeMicrosOf, gapFrame, gapRecord, GAP_REASONS, type FeedGap } from "../../../src/model/gap-record.ts";
import { decodeFrame, decodeOwnRecord } from "../../../src/exchange/bitstamp/decode.ts";
import type { GapEvent } from "../../../src/model/events.ts";
import { parseRecordedLine } from "../../../src/journal/journal-line.ts";
import { encodeGapItem, isGapItem } from "../../../src/store/dynamodb/gap-item.ts";
import { decodeItem, decodeItemRx } from "../../../src/store/dynamodb/item-decoder.ts";
import { parseGapPartitionKey, parsePartitionKey } from "../../../src/store/dynamodb/keys.ts";

const RX = 1_788_551_770_000_123;
const GAP: FeedGap = { channel: "live_orders_btcusd", startMicros: 1_788_551_766_927_713, endMicros: 1_788_551_769_931_042, reason: "stale" };
const FRAME = '{"event":"obcap:gap","channels":["live_orders_btcusd"],"data":{"start_us":"1788551766927713","end_us":"1788551769931042","reason":"stale"}}';

function decodeGaps(record: string): GapEvent[] {
  const result = decodeOwnRecord(record, RX);
  if (result.kind !== "gap") throw new Error(`expected a gap, got ${JSON.stringify(result)}`);
  return result.gaps;
}
const decodeGap = (record: string): GapEvent => decodeGaps(record)[0]!;

describe("gap record", () => {
  test("is compact JSON with times as digit strings and no bts: substring", () => {
    expect(gapFrame(GAP)).toBe(FRAME);
    expect(gapFrame(GAP).includes('"bts:')).toBe(false);
  });

  test("truncates fractional microseconds and never ends before it starts", () => {
    expect(gapFrame({ ...GAP, startMicros: 10.9, endMicros: 5 })).toContain('"start_us":"10","end_us":"10"');
  });

  test("decodes to a gap with pair, stream, channel, both ends and the reason", () => {
    expect(decodeGap(FRAME)).toEqual({
      pair: "btcusd", stream: "orders", channel: "live_orders_btcusd",
      startMicros: GAP.startMicros, endMicros: GAP.endMicros, reason: "stale", rxMicros: RX,
    });
    expect(decodeGap(gapFrame({ ...GAP, channel: "live_trades_ethusd", reason: "chain" }))).toMatchObject({ pair: "ethusd", stream: "trades", reason: "chain" });
  });

  test("a record of several channels decodes to one gap per channel", () => {
    const record = gapRecord({ channels: ["live_orders_btcusd", "live_trades_ethusd"], startMicros: 5, endMicros: 9, reason: "overflow" });
    expect(decodeGaps(record).map((g) => [g.pair, g.stream, g.startMicros, g.endMicros, g.reason])).toEqual([
      ["btcusd", "orders", 5, 9, "overflow"],
      ["ethusd", "trades", 5, 9, "overflow"],
    ]);
  });

  test.each([
    ["an unknown reason", FRAME.replace('"stale"', '"bored"')],
    ["a non-digit time", FRAME.replace('"1788551766927713"', '"17885517669x7713"')],
    ["an end before the start", FRAME.replace('"1788551769931042"', '"1788551766927712"')],
    ["a channel obcap does not store", FRAME.replace("live_orders_btcusd", "order_book_btcusd")],
    ["no channel", FRAME.replace('["live_orders_btcusd"]', "[]")],
    ["a missing data object", '{"event":"obcap:gap","channels":["live_orders_btcusd"]}'],
  ])("is invalid with %s", (_what, record) => {
    const result = decodeOwnRecord(record, RX);
    expect(result.kind).toBe("invalid");
    if (result.kind === "invalid") {
      expect(result.code).toBe("E_FRAME_INVALID");
      expect(result.message).toMatch(/obcap/);
    }
  });

  test("a record of an own event this version does not know is counted as unknown, not an error", () => {
    expect(decodeOwnRecord('{"event":"obcap:later","data":{}}', RX)).toMatchObject({ kind: "unknown", event: "obcap:later" });
  });
});

describe("nothing from the network can forge a gap record", () => {
  test.each([
    ["the record itself, sent as a frame", FRAME],
    ["the old single-channel form", '{"event":"obcap:gap","channel":"live_orders_btcusd","data":{"start_us":"1","end_us":"2","reason":"stale"}}'],
    ["any obcap: event", '{"event":"obcap:anything","channel":"live_orders_btcusd","data":{}}'],
  ])("%s is an invalid frame, never a gap", (_what, frame) => {
    const result = decodeFrame(frame, RX);
    expect(result).toMatchObject({ kind: "invalid", code: "E_FRAME_INVALID" });
    if (result.kind === "invalid") expect(result.message).toContain("reserved");
  });

  test("journal lines: a frame under \"m\" is a frame whatever it holds; only the \"obcap\" form is an own record", () => {
    expect(parseRecordedLine(`{"rx":1,"m":${FRAME}}`)).toEqual({ kind: "journal", rxMicros: 1, frame: FRAME });
    expect(parseRecordedLine(`{"rx":1,"obcap":${FRAME}}`)).toEqual({ kind: "own", rxMicros: 1, record: FRAME });
    // A plain recorded line (no receive time) is a frame too.
    expect(parseRecordedLine(FRAME)).toEqual({ kind: "frame", frame: FRAME });
  });
});

describe("gap item", () => {
  test("has pk <pair>#<stream>#gaps and sk <start µs16>#<end µs16>#<reason>, with start, end, reason and rx attributes", () => {
    const item = encodeGapItem(decodeGap(FRAME));
    expect(item).toEqual({
      pk: { S: "btcusd#orders#gaps" },
      sk: { S: "1788551766927713#1788551769931042#stale" },
      rx: { N: String(RX) },
      ev: { S: "obcap:gap" },
      gs: { N: "1788551766927713" },
      ge: { N: "1788551769931042" },
      gr: { S: "stale" },
    });
    expect(isGapItem(item)).toBe(true);
    expect(parsePartitionKey(item.pk!.S!)).toBeUndefined();
    expect(parseGapPartitionKey(item.pk!.S!)).toEqual({ pair: "btcusd", stream: "orders" });
  });

  test("zero-pads both times so that sort order is start order", () => {
    const early = encodeGapItem(decodeGap(gapFrame({ ...GAP, startMicros: 999, endMicros: 1_000 })));
    expect(early.sk!.S).toBe("0000000000000999#0000000000001000#stale");
    expect(early.sk!.S! < encodeGapItem(decodeGap(FRAME)).sk!.S!).toBe(true);
  });

  test.each(GAP_REASONS.map((r) => [r]))("rebuilds the %s gap frame byte for byte, and its receive time", (reason) => {
    const frame = gapFrame({ ...GAP, channel: "live_trades_btcusd-perp", reason });
    const item = encodeGapItem(decodeGap(frame));
    expect(decodeItem(item)).toBe(frame);
    expect(decodeItemRx(item)).toBe(RX);
  });

  test("reads DynamoDB's exponent form of a Number back to the same frame", () => {
    const item = encodeGapItem(decodeGap(FRAME));
    item.gs = { N: "1.788551766927713E15" };
    expect(decodeItem(item)).toBe(FRAME);
  });

  test("an event pk is not a gap pk", () => {
    expect(parseGapPartitionKey("btcusd#orders#2026080910#0")).toBeUndefined();
    expect(parseGapPartitionKey("btcusd#books#gaps")).toBeUndefined();
    expect(parseGapPartitionKey("obcap#meta")).toBeUndefined();
  });
});

describe("exchangeMicrosOf", () => {
  test("reads data.microtimestamp of an order or trade frame without parsing it", () => {
    expect(exchangeMicrosOf('{"data":{"id":1,"microtimestamp":"1786269861947000","amount":1},"channel":"live_orders_btcusd","event":"order_deleted"}')).toBe(1_786_269_861_947_000);
    expect(exchangeMicrosOf('{"data": {"microtimestamp": "1618681373123456"}, "channel": "live_trades_btcusd"}')).toBe(1_618_681_373_123_456);
  });

  test("is undefined for a frame without one, or no frame", () => {
    expect(exchangeMicrosOf('{"event":"bts:heartbeat"}')).toBeUndefined();
    expect(exchangeMicrosOf(undefined)).toBeUndefined();
  });
});
