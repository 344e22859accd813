import { describe, expect, test } from "bun:test";
import { StoredItems, storedItemsOf } from "../../../src/pipeline/stored-item.ts";
import { decodeFrame, decodeOwnRecord, type DecodeResult } from "../../../src/exchange/bitstamp/decode.ts";
import { encodeItem } from "../../../src/store/dynamodb/event-item.ts";
import { encodeGapItem } from "../../../src/store/dynamodb/gap-item.ts";
import { encodeCoverageItem, isCoverageItem } from "../../../src/store/dynamodb/coverage.ts";
import type { Item } from "../../../src/store/dynamodb/item.ts";
import { CoverageTracker } from "../../../src/pipeline/coverage-tracker.ts";
import { decodeItem } from "../../../src/store/dynamodb/item-decoder.ts";
import { gapFrame, gapRecord } from "../../../src/model/gap-record.ts";
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

  test("gives the items of a good frame, after the coverage item of its hour", () => {
    const decoded = decodeFrame(first, 1788551766927713);
    expect(new StoredItems(4).take(decoded)).toEqual({ kind: "items", items: [encodeCoverageItem("btcusd#orders#2026080910"), ...new StoredItems(4).of(decoded)] });
    expect(new StoredItems(4, false).take(decoded)).toEqual({ kind: "items", items: new StoredItems(4).of(decoded) });
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

describe("coverage items: once per (pair, stream, hour) a process sees", () => {
  const [, order] = fixtureLines("live_orders_2026-08-09_te_recorder_test.ndjson") as [string, string];
  const trade = orderAndTradeFrames().find((f) => f.includes('"live_trades_btcusd"') && f.includes('"microtimestamp":"'))!;
  // 2026-08-09T10:00:00Z: the start of hour bucket 2026080910.
  const HOUR = 1_786_269_600_000_000;
  let orderId = 1;

  /** The order frame at `micros` on `pair`, a new order id each time, without event_id (no chain state). */
  function orderAt(micros: number, pair = "btcusd"): DecodeResult {
    const frame = order
      .replace(/"microtimestamp":"\d+"/, `"microtimestamp":"${micros}"`)
      .replace(/"id":\d+,"id_str":"\d+"/, `"id":${orderId},"id_str":"${orderId++}"`)
      .replace(/,"event_id":"[^"]*","pre_event_id":"[^"]*"/, "")
      .replace('"live_orders_btcusd"', `"live_orders_${pair}"`);
    const decoded = decodeFrame(frame, micros);
    if (decoded.kind !== "event") throw new Error(`not an event: ${frame}`);
    return decoded;
  }

  function tradeAt(micros: number): DecodeResult {
    const decoded = decodeFrame(trade.replace(/"microtimestamp":"\d+"/, `"microtimestamp":"${micros}"`), micros);
    if (decoded.kind !== "event") throw new Error(`not an event: ${trade}`);
    return decoded;
  }

  /** The items `take` gives, or a failure. */
  function take(stored: StoredItems, decoded: DecodeResult): Item[] {
    const outcome = stored.take(decoded);
    if (outcome.kind !== "items") throw new Error(`unstorable: ${outcome.reason}`);
    return outcome.items;
  }

  const coverageOf = (items: Item[]) => items.filter(isCoverageItem).map((item) => item.sk!.S!);

  test("the first frame of an hour carries the hour's coverage item, first in its list; the others of that hour none", () => {
    const stored = new StoredItems(4);
    const first = take(stored, orderAt(HOUR + 5));
    expect(first.length).toBe(2);
    expect(first[0]).toEqual({ pk: { S: "obcap#coverage" }, sk: { S: "btcusd#orders#2026080910" }, ev: { S: "obcap:coverage" } });
    expect(isCoverageItem(first[1]!)).toBe(false);
    // Every shard of the hour, and a thousand more frames: no second coverage item.
    for (let i = 1; i <= 1000; i++) expect(coverageOf(take(stored, orderAt(HOUR + 5 + i * 3_000_000)))).toEqual([]);
    expect(stored.coverageItems).toBe(1);
  });

  test("hour boundaries: the last µs of an hour and the first of the next are two items; a late event of an earlier hour adds none", () => {
    const stored = new StoredItems(4);
    expect(coverageOf(take(stored, orderAt(HOUR - 1)))).toEqual(["btcusd#orders#2026080909"]);
    expect(coverageOf(take(stored, orderAt(HOUR)))).toEqual(["btcusd#orders#2026080910"]);
    expect(coverageOf(take(stored, orderAt(HOUR + 3_599_999_999)))).toEqual([]);
    expect(coverageOf(take(stored, orderAt(HOUR + 3_600_000_000)))).toEqual(["btcusd#orders#2026080911"]);
    expect(coverageOf(take(stored, orderAt(HOUR - 2)))).toEqual([]);
    // Streams are apart: the trades of an hour the orders opened get their own item.
    expect(coverageOf(take(stored, tradeAt(HOUR + 10)))).toEqual(["btcusd#trades#2026080910"]);
    expect(stored.coverageItems).toBe(4);
  });

  test("several items in one frame: a chain gap brings its channel's gaps coverage, the event stays last", () => {
    const [, first, second] = fixtureLines("live_orders_2026-08-09_te_recorder_test.ndjson") as [string, string, string];
    const stored = new StoredItems(4);
    expect(coverageOf(take(stored, decodeFrame(first, 1)))).toEqual(["btcusd#orders#2026080910"]);
    const broken = second.replace(/"pre_event_id":"[^"]+"/, '"pre_event_id":"0006589a-5c98-0000-0000-000101000020"');
    const items = take(stored, decodeFrame(broken, 2));
    expect(items.length).toBe(3);
    expect(items[0]).toEqual(encodeCoverageItem("btcusd#orders#gaps"));
    expect(items[1]!.pk).toEqual({ S: "btcusd#orders#gaps" });
    expect(decodeItem(items[2]!)).toBe(broken);
  });

  test("a gap record of several channels brings one gaps coverage item per channel, once", () => {
    const stored = new StoredItems(4);
    const record = (reason: "stale" | "dropped") => decodeOwnRecord(
      gapRecord({ channels: ["live_orders_btcusd", "live_trades_ethusd"], startMicros: HOUR, endMicros: HOUR + 10, reason }), HOUR + 20);
    const items = take(stored, record("stale"));
    expect(coverageOf(items)).toEqual(["btcusd#orders#gaps", "ethusd#trades#gaps"]);
    expect(items.slice(2).every((item) => !isCoverageItem(item))).toBe(true);
    expect(coverageOf(take(stored, record("dropped")))).toEqual([]);
  });

  test("many pairs: each (pair, stream) of an hour gets its own item, exactly once, however the frames interleave", () => {
    const stored = new StoredItems(4);
    const pairs = Array.from({ length: 150 }, (_, i) => `p${i}usd`);
    const keys: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (const pair of pairs) keys.push(...coverageOf(take(stored, orderAt(HOUR + round * 1000 + 1, pair))));
    }
    expect(keys).toEqual(pairs.map((pair) => `${pair}#orders#2026080910`));
  });

  test("a frame that cannot be stored marks nothing: the next frame of its hour carries the coverage item", () => {
    const stored = new StoredItems(4);
    const huge = order.replace(/"event_id":"[^"]*"/, `"event_id":"${"7".repeat(2000)}"`);
    expect(stored.take(decodeFrame(huge, 1)).kind).toBe("unstorable");
    expect(coverageOf(take(stored, orderAt(HOUR + 7)))).toEqual(["btcusd#orders#2026080910"]);
  });

  test("a key the bounded window forgot is attached again, as the identical item", () => {
    const stored = new StoredItems(4, new CoverageTracker(2));
    const pairs = ["a1usd", "a2usd", "a3usd"];
    const first = pairs.flatMap((pair) => take(stored, orderAt(HOUR + 1, pair)).filter(isCoverageItem));
    // a1 fell out of the window of two when a3 came: its next frame carries the same item again; a3's does not.
    const again = take(stored, orderAt(HOUR + 2, "a1usd")).filter(isCoverageItem);
    expect(again).toEqual([first[0]!]);
    expect(coverageOf(take(stored, orderAt(HOUR + 3, "a3usd")))).toEqual([]);
  });
});
