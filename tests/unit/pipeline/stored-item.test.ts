import { describe, expect, test } from "bun:test";
import { StoredItems, storedItemsOf } from "../../../src/pipeline/stored-item.ts";
import { decodeFrame, decodeOwnRecord, type DecodeResult } from "../../../src/exchange/bitstamp/decode.ts";
import { encodeItem } from "../../../src/store/dynamodb/event-item.ts";
import { encodeGapItem } from "../../../src/store/dynamodb/gap-item.ts";
import { decodeItem } from "../../../src/store/dynamodb/item-decoder.ts";
import { gapFrame } from "../../../src/model/gap-record.ts";
import { fixtureLines, orderAndTradeFrames } from "../../support/fixtures.ts";

describe("what the journal uploader stores", () => {
  test("an order or trade event becomes its item, which gives the frame back", () => {
    const frame = orderAndTradeFrames().find((f) => f.includes('"event_id"'))!;
    const decoded = decodeFrame(frame, 1788551766927713);
    expect(decoded.kind).toBe("event");
    const [item] = storedItemsOf(decoded, 4);
    expect(item).toEqual(decoded.kind === "event" ? encodeItem(decoded.event, 4) : {});
    expect(decodeItem(item!)).toBe(frame);
  });

  test("obcap's own gap record becomes a gap item", () => {
    const decoded = decodeOwnRecord(gapFrame({ channel: "live_orders_btcusd", startMicros: 1788551766927713, endMicros: 1788551769931042, reason: "stale" }), 1788551770000000);
    expect(decoded.kind).toBe("gap");
    expect(storedItemsOf(decoded, 4)).toEqual(decoded.kind === "gap" ? decoded.gaps.map(encodeGapItem) : []);
  });

  test("control frames, unknown kinds and invalid frames store nothing", () => {
    for (const frame of [
      '{"event":"bts:subscription_succeeded","channel":"live_orders_btcusd","data":{}}',
      '{"event":"data","channel":"order_book_btcusd","data":{}}',
      "not json{",
    ]) {
      expect(storedItemsOf(decodeFrame(frame, 1), 4)).toEqual([]);
    }
  });
});

describe("chain breaks", () => {
  // Two real chained 2026 events: the second's pre_event_id is the first's event_id.
  const [, first, second] = fixtureLines("live_orders_2026-08-09_te_recorder_test.ndjson") as [string, string, string];

  test("a chained event stores only itself", () => {
    const stored = new StoredItems(4);
    expect(stored.of(decodeFrame(first, 1)).length).toBe(1);
    expect(stored.of(decodeFrame(second, 2)).length).toBe(1);
    expect(stored.chainGaps).toBe(0);
  });

  test("a missing link adds a gap item of reason chain between the two events' times", () => {
    const stored = new StoredItems(4);
    stored.of(decodeFrame(first, 1));
    const broken = second.replace(/"pre_event_id":"[^"]+"/, '"pre_event_id":"0006589a-5c98-0000-0000-000101000020"');
    const items = stored.of(decodeFrame(broken, 2));
    expect(items.length).toBe(2);
    expect(stored.chainGaps).toBe(1);
    const gap = decodeItem(items[0]!);
    expect(JSON.parse(gap)).toEqual({
      event: "obcap:gap",
      channels: ["live_orders_btcusd"],
      data: { start_us: "1786269861947000", end_us: "1786269862001000", reason: "chain" },
    });
    expect(decodeItem(items[1]!)).toBe(broken);
  });

  test("the same event twice (an overlap) is counted as a duplicate and stored idempotently", () => {
    const stored = new StoredItems(4);
    const once = stored.of(decodeFrame(first, 1));
    const again = stored.of(decodeFrame(first, 2));
    expect(stored.chainDuplicates).toBe(1);
    expect(again[0]!.pk).toEqual(once[0]!.pk);
    expect(again[0]!.sk).toEqual(once[0]!.sk);
  });
});

describe("the guarded step every pipeline uses (take)", () => {
  const [, first] = fixtureLines("live_orders_2026-08-09_te_recorder_test.ndjson") as [string, string];

  test("gives the items of a good frame", () => {
    const decoded = decodeFrame(first, 1788551766927713);
    expect(new StoredItems(4).take(decoded)).toEqual({ kind: "items", items: new StoredItems(4).of(decoded) });
  });

  test("a frame the encoder throws on comes back unstorable with the reason, never as an exception", () => {
    const decoded = decodeFrame(first, 1788551766927713);
    if (decoded.kind !== "event") throw new Error("fixture is not an event");
    // A data object whose getter throws stands for any encoder failure on a hostile frame.
    const data = Object.defineProperty({ ...decoded.event.data }, "price_str", { get() { throw new RangeError("Maximum call stack size exceeded"); }, enumerable: true });
    const hostile = { kind: "event", event: { ...decoded.event, data } } as DecodeResult;
    expect(new StoredItems(4).take(hostile)).toEqual({ kind: "unstorable", reason: expect.stringContaining("RangeError: Maximum call stack size exceeded") });
  });

  test("a frame whose item DynamoDB would refuse (a sort key over 1024 bytes) comes back unstorable", () => {
    const huge = first.replace(/"event_id":"[^"]*"/, `"event_id":"${"7".repeat(2000)}"`);
    const decoded = decodeFrame(huge, 1788551766927713);
    expect(decoded.kind).toBe("event");
    const outcome = new StoredItems(4).take(decoded);
    expect(outcome.kind).toBe("unstorable");
    if (outcome.kind === "unstorable") expect(outcome.reason).toMatch(/sort key/i);
  });
});
