import { describe, expect, test } from "bun:test";
import { LogThrottle } from "../../../src/base/log-throttle.ts";

describe("LogThrottle", () => {
  test("lets the first lines through, then one per interval with the count of those left out", () => {
    const throttle = new LogThrottle(3, 1_000);
    expect([0, 1, 2].map((t) => throttle.allow(t))).toEqual([0, 0, 0]);
    expect([3, 4, 500].map((t) => throttle.allow(t))).toEqual([false, false, false]);
    expect(throttle.allow(1_002)).toBe(3);
    expect(throttle.allow(1_003)).toBe(false);
    expect(throttle.allow(2_002)).toBe(1);
  });

  test("starts over after reset", () => {
    const throttle = new LogThrottle(1, 60_000);
    expect([throttle.allow(0), throttle.allow(1)]).toEqual([0, false]);
    throttle.reset();
    expect(throttle.allow(2)).toBe(0);
  });
});
