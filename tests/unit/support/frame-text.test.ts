/**
 * The frame generator's text helpers must reproduce the real fixtures' bytes: event ids, rounded
 * datetimes, number text next to the `_str` decimals.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  formatEventId, formatUnits, jsonNumberText, orderDatetime, orderFrame, tradeFrame, tradeTimestamp,
} from "../../support/frame-text.ts";

const fixtureLines = (name: string) =>
  readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), "utf8").split("\n").filter(Boolean);

describe("frame text", () => {
  test.each([
    ["58356.10", "58356.1"],
    ["64839.00", "64839"],
    ["0.00171371", "0.00171371"],
    ["0.10000000", "0.1"],
    ["0.00000000", "0"],
    ["32", "32"],
    ["1000", "1000"],
    ["0.00001040", "0.0000104"],
  ])("writes the number text of %p as %p", (decimal, text) => {
    expect(jsonNumberText(decimal)).toBe(text);
  });

  test.each([
    ["0.00008900", "8.9e-05"],
    ["0.00001234", "1.234e-05"],
    ["0.00000001", "1e-08"],
    ["0.00010000", "0.0001"],
  ])("writes %p in Python's exponent form as %p when asked", (decimal, text) => {
    expect(jsonNumberText(decimal, true)).toBe(text);
  });

  test("formats integer units at fixed decimals", () => {
    expect(formatUnits(5835610, 2)).toBe("58356.10");
    expect(formatUnits(171371, 8)).toBe("0.00171371");
    expect(formatUnits(0, 8)).toBe("0.00000000");
    expect(formatUnits(32, 0)).toBe("32");
  });

  test("rebuilds the event ids of the real 2026 chain from microtimestamp and counter", () => {
    expect(formatEventId(1786269861947000, 1)).toBe("0006589a-5c98-2678-0000-000101000020");
    expect(formatEventId(1786269861935000, 0)).toBe("0006589a-5c97-f798-0000-000100000020");
    expect(formatEventId(1788551766365000, 4)).toBe("00065aad-a8b2-5348-0000-000100000020");
  });

  test("rounds order datetime and truncates trade timestamp", () => {
    expect(orderDatetime(1786269861947000)).toBe("1786269862");
    expect(orderDatetime(1788551766357000)).toBe("1788551766");
    expect(tradeTimestamp(1788551770815000)).toBe("1788551770");
  });

  test("reproduces a real order_deleted frame byte for byte", () => {
    const real = fixtureLines("live_orders_2026-08-09_te_recorder_test.ndjson")[1];
    const built = orderFrame({
      pair: "btcusd", event: "order_deleted", id: 2037493297635328n, orderType: 0, micros: 1786269861947000,
      amountStr: "0.00171371", amountTradedStr: "0", amountAtCreateStr: "0.00171371", priceStr: "58356.10",
      eventId: "0006589a-5c98-2678-0000-000101000020", preEventId: "0006589a-5c97-f798-0000-000100000020",
      exponentNumbers: false,
    });
    expect(built).toBe(real as string);
  });

  test("reproduces a real trade frame byte for byte", () => {
    const line = fixtureLines("live_orders_2026-09-04_lob_decoder_test_with_recv_ns.ndjson")[3] as string;
    const real = line.replace(/,"_recv_ns":\d+\}$/, "}");
    const built = tradeFrame({
      pair: "btcusd", id: 629876235n, micros: 1788551770815000, amountStr: "0.00062132", priceStr: "79715.39",
      type: 0, buyOrderId: 2046839997059073n, sellOrderId: 2046839970762754n, exponentNumbers: false,
    });
    expect(built).toBe(real);
  });
});
