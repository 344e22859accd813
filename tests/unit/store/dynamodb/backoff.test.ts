import { describe, expect, test } from "bun:test";
import { backoffCeilingMs, backoffDelayMs } from "../../../../src/base/backoff.ts";

const options = { baseMs: 50, maxMs: 20_000 };

describe("backoff with full jitter", () => {
  test("doubles the ceiling with each attempt from the base", () => {
    expect([0, 1, 2, 3, 4].map((a) => backoffCeilingMs(a, options))).toEqual([50, 100, 200, 400, 800]);
  });

  test("never exceeds the cap, even for huge attempt numbers", () => {
    expect(backoffCeilingMs(9, options)).toBe(20_000); // 50 * 512 = 25,600 > cap
    expect(backoffCeilingMs(5_000, options)).toBe(20_000); // 2^5000 is Infinity
    expect(backoffDelayMs(5_000, { ...options, random: () => 0.999999 })).toBeLessThanOrEqual(20_000);
  });

  test("gives 0 when random draws 0", () => {
    for (const attempt of [0, 3, 30]) expect(backoffDelayMs(attempt, { ...options, random: () => 0 })).toBe(0);
  });

  test("gives the ceiling when random draws just below 1", () => {
    expect(backoffDelayMs(0, { ...options, random: () => 0.9999999 })).toBe(50);
    expect(backoffDelayMs(3, { ...options, random: () => 0.9999999 })).toBe(400);
    expect(backoffDelayMs(20, { ...options, random: () => 0.9999999 })).toBe(20_000);
  });

  test("scales linearly with the draw between 0 and the ceiling", () => {
    expect(backoffDelayMs(2, { ...options, random: () => 0.5 })).toBe(100);
    expect(backoffDelayMs(2, { ...options, random: () => 0.25 })).toBe(50);
  });

  test("clamps a misbehaving random into [0, ceiling]", () => {
    expect(backoffDelayMs(1, { ...options, random: () => 1.5 })).toBe(100);
    expect(backoffDelayMs(1, { ...options, random: () => -1 })).toBe(0);
  });

  test("draws within the bounds with the default random", () => {
    for (let i = 0; i < 1_000; i++) {
      const delay = backoffDelayMs(4, options);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(800);
    }
  });
});
