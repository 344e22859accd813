import { describe, expect, test } from "bun:test";
import { durationOption } from "../../../src/cli/duration-option.ts";

describe("duration flags", () => {
  test("read a whole number with a unit", () => {
    expect(durationOption("journal-keep", "24h", 0)).toBe(86_400_000);
    expect(durationOption("journal-keep", "90m", 0)).toBe(5_400_000);
    expect(durationOption("journal-keep", "7d", 0)).toBe(604_800_000);
    expect(durationOption("journal-keep", "15s", 0)).toBe(15_000);
    expect(durationOption("journal-keep", "250ms", 0)).toBe(250);
    expect(durationOption("journal-keep", "0s", 1)).toBe(0);
  });

  test("an absent value gives the default", () => {
    expect(durationOption("segment-age", undefined, 3_600_000)).toBe(3_600_000);
  });

  test("anything else is a usage error naming the flag and the forms", () => {
    expect(() => durationOption("journal-keep", "24", 0)).toThrow("--journal-keep '24' is not a duration (a whole number with ms, s, m, h or d: e.g. 90m, 24h, 7d)");
    expect(() => durationOption("journal-keep", "1.5h", 0)).toThrow(expect.objectContaining({ code: "E_USAGE" }));
    expect(() => durationOption("segment-age", "10ms", 3_600_000, 1000)).toThrow("--segment-age 10ms is too short (at least 1000 ms)");
  });
});
