import { describe, expect, test } from "bun:test";
import { CoverageTracker, DEFAULT_COVERAGE_KEYS } from "../../../src/pipeline/coverage-tracker.ts";

describe("CoverageTracker", () => {
  test("says true the first time a key is given and false after", () => {
    const tracker = new CoverageTracker();
    expect(tracker.capacity).toBe(DEFAULT_COVERAGE_KEYS);
    expect(tracker.firstTime("btcusd#orders#2026080910")).toBe(true);
    expect(tracker.firstTime("btcusd#orders#2026080910")).toBe(false);
    expect(tracker.firstTime("btcusd#trades#2026080910")).toBe(true);
    expect(tracker.size).toBe(2);
  });

  test("holds at most `capacity` keys and forgets the oldest first", () => {
    const tracker = new CoverageTracker(3);
    for (const key of ["a", "b", "c"]) expect(tracker.firstTime(key)).toBe(true);
    // "a" asked again is still known, but being known does not make it young: it goes first.
    expect(tracker.firstTime("a")).toBe(false);
    expect(tracker.firstTime("d")).toBe(true);
    expect(tracker.size).toBe(3);
    expect(tracker.firstTime("b")).toBe(false);
    expect(tracker.firstTime("a")).toBe(true); // forgotten when "d" came; now it pushes out "b"
    expect(tracker.firstTime("c")).toBe(false);
    expect(tracker.firstTime("b")).toBe(true);
  });

  test("stays bounded over a million keys", () => {
    const tracker = new CoverageTracker(100);
    for (let i = 0; i < 1_000_000; i++) tracker.firstTime(`k${i}`);
    expect(tracker.size).toBe(100);
    expect(tracker.firstTime("k999999")).toBe(false);
    expect(tracker.firstTime("k999899")).toBe(true);
  });

  test("refuses a capacity that is not a positive integer", () => {
    for (const capacity of [0, -1, 1.5, Number.NaN]) expect(() => new CoverageTracker(capacity)).toThrow(RangeError);
  });
});
