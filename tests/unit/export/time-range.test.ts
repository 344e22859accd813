/**
 * --from/--to: ISO 8601 and epoch seconds / ms / µs to exact integer microseconds, with E_USAGE
 * messages naming the flag for anything else.
 */
import { describe, expect, test } from "bun:test";
import { isObcapError } from "../../../src/base/errors.ts";
import { parseTimeMicros, parseTimeRange } from "../../../src/export/time-range.ts";

/** The real order_deleted of 2026-08-09 (fixture live_orders_2026-08-09_te_recorder_test.ndjson). */
const MICROS = 1786269861947000;

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isObcapError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error("expected an error");
}

describe("parseTimeMicros", () => {
  test.each([
    ["1786269861.947", "epoch seconds with a fraction"],
    ["1786269861947", "epoch milliseconds"],
    ["1786269861947000", "epoch microseconds"],
    ["2026-08-09T10:04:21.947Z", "ISO 8601 with Z"],
    ["2026-08-09T10:04:21.947000Z", "ISO 8601 with microseconds"],
    ["2026-08-09T12:04:21.947+02:00", "ISO 8601 with an offset"],
    ["2026-08-09T05:34:21.947-0430", "ISO 8601 with an offset without colon"],
    ["2026-08-09 10:04:21.947", "ISO 8601 with a space and no zone (UTC)"],
  ])("reads %s (%s) to the exact microsecond", (text) => {
    expect(parseTimeMicros("from", text)).toBe(MICROS);
  });

  test("reads whole seconds, dates and minutes", () => {
    expect(parseTimeMicros("from", "1786269861")).toBe(1786269861000000);
    expect(parseTimeMicros("from", "2026-08-09")).toBe(Date.UTC(2026, 7, 9) * 1000);
    expect(parseTimeMicros("from", "2026-08-09T10:04")).toBe(Date.UTC(2026, 7, 9, 10, 4) * 1000);
  });

  test.each([
    ["yesterday", "is not a time"],
    ["2026-02-30T00:00:00Z", "is not a valid date and time"],
    ["2026-08-09T25:00:00Z", "is not a valid date and time"],
    ["1786269861947000.5", "is finer than a microsecond"],
    ["1786269861.9470001", "is finer than a microsecond"],
    ["123456789012345678901", "has too many digits"],
  ])("refuses %s: %s", (text, why) => {
    const err = errorOf(() => parseTimeMicros("from", text));
    expect(err.code).toBe("E_USAGE");
    expect(err.message).toStartWith(`--from '${text}' ${why}`);
    expect(err.message).toContain("accepted: ISO 8601");
  });
});

describe("parseTimeRange", () => {
  test("needs both bounds and from before to", () => {
    expect(parseTimeRange("2026-08-09T10:00Z", "2026-08-09T11:00Z")).toEqual({
      fromMicros: Date.UTC(2026, 7, 9, 10) * 1000,
      toMicros: Date.UTC(2026, 7, 9, 11) * 1000,
    });
    expect(errorOf(() => parseTimeRange(undefined, "1")).message).toContain("--from and --to are required");
    expect(errorOf(() => parseTimeRange("1786269861", "1786269861000")).message).toContain("the range [from, to) is empty");
  });
});
