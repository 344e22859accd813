/**
 * src/book/snapshot-schema.ts: the REST group=2 body, checked by valibot.
 */
import { describe, expect, test } from "bun:test";
import { parseOrderBookSnapshot, type OrderBookSnapshot } from "../../../src/book/snapshot-schema.ts";
import { fixtureLines } from "../../support/fixtures.ts";

const FIXTURE = "rest_order_book_group2_2026-09-04_lob_decoder_test_TRIMMED.json";

function fixtureSnapshot(): OrderBookSnapshot {
  const result = parseOrderBookSnapshot(fixtureLines(FIXTURE)[0]!);
  if (!result.success) throw new Error(result.reason);
  return result.snapshot;
}

describe("parseOrderBookSnapshot", () => {
  test("accepts the real group=2 body and keeps every string as recorded", () => {
    const snapshot = fixtureSnapshot();
    expect(snapshot.microtimestamp).toBe("1788551766754717");
    expect(snapshot.bids[0]).toEqual(["79715.38", "0.06272315", "2046839968690178"]);
    expect(snapshot.asks.at(-1)).toEqual(["79730.00", "0.50000000", "2046839978831999"]);
    expect([snapshot.bids.length, snapshot.asks.length]).toEqual([4, 2]);
  });

  test("takes an already parsed body, and keeps fields Bitstamp may add", () => {
    const result = parseOrderBookSnapshot({ timestamp: "1", microtimestamp: "1000000", bids: [], asks: [], sequence: 7 });
    expect(result).toEqual({ success: true, snapshot: { timestamp: "1", microtimestamp: "1000000", bids: [], asks: [], sequence: 7 } as OrderBookSnapshot });
  });

  test("says what is wrong and where", () => {
    const numberPrice = parseOrderBookSnapshot('{"timestamp": "1", "microtimestamp": "1", "bids": [[79715.38, "0.1", "1"]], "asks": []}');
    expect(numberPrice.success).toBe(false);
    if (!numberPrice.success) expect(numberPrice.reason).toContain("bids.0.0");
    const twoColumns = parseOrderBookSnapshot({ timestamp: "1", microtimestamp: "1", bids: [], asks: [["1.0", "2.0"]] });
    expect(twoColumns.success).toBe(false); // a group=1 body has no order ids
    const notJson = parseOrderBookSnapshot("<html>404</html>");
    expect(notJson).toMatchObject({ success: false });
    if (!notJson.success) expect(notJson.reason).toStartWith("order book snapshot is not JSON");
  });
});
