/**
 * WriteConcurrency on its own: made-up request outcomes and a fake clock (the constructor's `nowMs`),
 * so every window's items/s and latency are exactly what the test says. A window is
 * max(16, 2 x limit) requests; the limit moves at most once per window.
 */
import { describe, expect, test } from "bun:test";
import { WriteConcurrency, type ConcurrencyChange, type ConcurrencySettings, type RequestOutcome } from "../../../../src/store/dynamodb/write-concurrency.ts";

const ITEMS = 25;

interface Harness {
  wc: WriteConcurrency;
  changes: ConcurrencyChange[];
  /** The fake clock, ms. */
  clock: { now: number };
}

function harness(settings: ConcurrencySettings): Harness {
  const changes: ConcurrencyChange[] = [];
  const clock = { now: 1_000 };
  const wc = new WriteConcurrency(settings, (c) => changes.push(c), () => clock.now);
  return { wc, changes, clock };
}

const windowSize = (limit: number) => Math.max(16, 2 * limit);

interface WindowShape {
  /** Items per ms the window achieves (its duration is chosen to match). */
  itemsPerMs: number;
  latencyMs?: number;
  /** Requests that came back with more batches waiting than slots; default all. */
  saturated?: number;
}

/**
 * Feeds exactly one window without push-back at the current limit (a window starts at the last change
 * or window end: the caller must not have fed a partial window before). Each request acknowledges
 * ITEMS items, and the clock moves evenly so the window's items/s is `itemsPerMs`.
 */
function feedWindow(h: Harness, shape: WindowShape): void {
  const n = windowSize(h.wc.limit);
  const saturated = shape.saturated ?? n;
  const items = n * ITEMS;
  const stepMs = items / shape.itemsPerMs / n;
  for (let i = 0; i < n; i++) {
    h.clock.now += stepMs;
    const outcome: RequestOutcome = { items: ITEMS, latencyMs: shape.latencyMs ?? 5, pushback: false, saturated: i < saturated };
    h.wc.observe(outcome);
  }
}

/**
 * One window that starts with a push-back: its first request pushes back (cutting the limit, which
 * starts a new window at the new limit), then requests up to that window's end, the first
 * `pushbacks - 1` of them pushing back too.
 */
function feedPushbackWindow(h: Harness, pushbacks: number): void {
  h.clock.now += 1;
  h.wc.observe({ items: 0, latencyMs: 5, pushback: true, saturated: true });
  const rest = windowSize(h.wc.limit) - 1;
  for (let i = 0; i < rest; i++) {
    h.clock.now += 1;
    const pushback = i < pushbacks - 1;
    h.wc.observe({ items: pushback ? 0 : ITEMS, latencyMs: 5, pushback, saturated: true });
  }
}

/** Adaptive, with windows counted in requests only (the 500 ms floor has its own test). */
const adaptive = (initial: number, max: number): ConcurrencySettings => ({ initial, max, adaptive: true, minWindowMs: 0 });

describe("WriteConcurrency", () => {
  test("pinned: never changes, whatever the outcomes", () => {
    const h = harness({ initial: 8, max: 8, adaptive: false });
    expect(h.wc.adaptive).toBe(false);
    for (let w = 0; w < 20; w++) feedWindow(h, { itemsPerMs: 10 * (w + 1) });
    for (let w = 0; w < 5; w++) feedPushbackWindow(h, 10);
    for (let w = 0; w < 5; w++) feedWindow(h, { itemsPerMs: 1, saturated: 0 });
    expect(h.wc.limit).toBe(8);
    expect(h.changes).toEqual([]);
    expect(h.wc.changes).toBe(0);
  });

  test("rises one step at a time while saturated windows gain items/s, and stops at max", () => {
    const h = harness(adaptive(8, 14));
    // Throughput rising faster than the limit: every step pays (more than the 5% a step must gain).
    for (let w = 0; w < 12; w++) feedWindow(h, { itemsPerMs: 10 * 1.08 ** h.wc.limit });
    expect(h.changes.map((c) => [c.from, c.to])).toEqual([[8, 9], [9, 10], [10, 11], [11, 12], [12, 13], [13, 14]]);
    expect(h.changes[0]!.reason).toBe("more batches wait than slots: probing one more");
    expect(h.changes[1]!.reason).toBe("items/s rose +8% with latency 5.0 ms");
    expect(h.wc.limit).toBe(14);
    expect(h.wc.changes).toBe(6);
  });

  test("a step that gains too little is taken back, and the next probe waits 4 windows", () => {
    const h = harness(adaptive(8, 64));
    feedWindow(h, { itemsPerMs: 100 }); // saturated: probe 8 -> 9
    expect(h.wc.limit).toBe(9);
    feedWindow(h, { itemsPerMs: 104 }); // +4% < 5%: taken back
    expect(h.changes.map((c) => [c.from, c.to])).toEqual([[8, 9], [9, 8]]);
    expect(h.changes[1]!.reason).toBe("the last step gained +4% items/s, latency 5.0 ms (was 5.0 ms)");
    for (let w = 0; w < 4; w++) feedWindow(h, { itemsPerMs: 100 });
    expect(h.wc.limit).toBe(8);
    expect(h.changes).toHaveLength(2);
    feedWindow(h, { itemsPerMs: 100 }); // the fifth saturated window probes again
    expect(h.changes.map((c) => [c.from, c.to])).toEqual([[8, 9], [9, 8], [8, 9]]);
  });

  test("a step that raises items/s but latency more than 2x is taken back too", () => {
    const h = harness(adaptive(8, 64));
    feedWindow(h, { itemsPerMs: 100, latencyMs: 4 });
    feedWindow(h, { itemsPerMs: 120, latencyMs: 8.5 });
    expect(h.changes.map((c) => [c.from, c.to])).toEqual([[8, 9], [9, 8]]);
    expect(h.changes[1]!.reason).toBe("the last step gained +20% items/s, latency 8.5 ms (was 4.0 ms)");
  });

  test("a window lasts at least 500 ms: requests faster than that do not close it", () => {
    const h = harness({ initial: 8, max: 64, adaptive: true });
    // 100 saturated requests within 100 ms: far more than 16, but too short to judge anything.
    for (let i = 0; i < 100; i++) {
      h.clock.now += 1;
      h.wc.observe({ items: ITEMS, latencyMs: 1, pushback: false, saturated: true });
    }
    expect(h.changes).toEqual([]);
    // The first request at 500 ms closes it: a probe.
    h.clock.now += 400;
    h.wc.observe({ items: ITEMS, latencyMs: 1, pushback: false, saturated: true });
    expect(h.changes.map((c) => [c.from, c.to])).toEqual([[8, 9]]);
  });

  test("push-back cuts to 0.7x at once, once per window however many requests already out push back", () => {
    const h = harness(adaptive(20, 64));
    h.wc.observe({ items: 0, latencyMs: 5, pushback: true, saturated: true });
    // At once, not at the window's end.
    expect(h.wc.limit).toBe(14);
    expect(h.changes).toEqual([{ from: 20, to: 14, reason: "DynamoDB pushed back (throttling, UnprocessedItems or an error)" }]);
    // The rest of that window (28 requests at 14): every one pushes back, still one cut.
    for (let i = 1; i < windowSize(14); i++) h.wc.observe({ items: 0, latencyMs: 5, pushback: true, saturated: true });
    expect(h.wc.limit).toBe(14);
    expect(h.changes).toHaveLength(1);
    // The next window pushes back again: a second cut, 14 -> 9 (floor of 9.8).
    feedPushbackWindow(h, 20);
    expect(h.changes.map((c) => [c.from, c.to])).toEqual([[20, 14], [14, 9]]);
  });

  test("a window with push-back does not probe when it closes, even saturated", () => {
    const h = harness(adaptive(10, 64));
    feedPushbackWindow(h, 1); // cut to 7 on the first request; the window (16 at 7) is all saturated
    expect(h.changes.map((c) => [c.from, c.to])).toEqual([[10, 7]]);
    feedWindow(h, { itemsPerMs: 100 }); // a clean saturated window after it: probing resumes
    expect(h.changes.map((c) => [c.from, c.to])).toEqual([[10, 7], [7, 8]]);
  });

  test("push-back while a step is being judged: the cut wins, the step is not judged", () => {
    const h = harness(adaptive(10, 64));
    feedWindow(h, { itemsPerMs: 100 }); // 10 -> 11, judged by the next window
    feedPushbackWindow(h, 1); // cut to 7 (floor 7.7): the step is not judged
    expect(h.changes.map((c) => [c.from, c.to])).toEqual([[10, 11], [11, 7]]);
    feedWindow(h, { itemsPerMs: 1 }); // a bad window afterwards is not a judged step: probes, not a take-back
    expect(h.changes.map((c) => [c.from, c.to])).toEqual([[10, 11], [11, 7], [7, 8]]);
  });

  test("never below 1", () => {
    const h = harness(adaptive(3, 64));
    for (let w = 0; w < 6; w++) feedPushbackWindow(h, 16);
    expect(h.wc.limit).toBe(1);
    expect(h.changes.map((c) => [c.from, c.to])).toEqual([[3, 2], [2, 1]]);
  });

  test("never above max, even when every step pays", () => {
    const h = harness(adaptive(8, 9));
    for (let w = 0; w < 10; w++) feedWindow(h, { itemsPerMs: 10 * h.wc.limit });
    expect(h.wc.limit).toBe(9);
    expect(h.changes.map((c) => [c.from, c.to])).toEqual([[8, 9]]);
    // max = initial: adaptive, but there is no room to move up.
    const atMax = harness(adaptive(4, 4));
    for (let w = 0; w < 5; w++) feedWindow(atMax, { itemsPerMs: 10 * (w + 1) });
    expect(atMax.changes).toEqual([]);
  });

  test("a window with no saturation (or under half) changes nothing, and ends the judging of a step", () => {
    const h = harness(adaptive(8, 64));
    for (let w = 0; w < 10; w++) feedWindow(h, { itemsPerMs: 10 * (w + 1), saturated: 0 });
    // 7 of 16 saturated: still the input's pace.
    for (let w = 0; w < 5; w++) feedWindow(h, { itemsPerMs: 10 * (w + 1), saturated: 7 });
    expect(h.changes).toEqual([]);
    expect(h.wc.limit).toBe(8);
    // Half saturated counts: it probes.
    feedWindow(h, { itemsPerMs: 100, saturated: 8 });
    expect(h.changes.map((c) => [c.from, c.to])).toEqual([[8, 9]]);
    // The step's window is not saturated: no verdict (neither kept by a gain nor taken back).
    feedWindow(h, { itemsPerMs: 1, saturated: 0 });
    expect(h.wc.limit).toBe(9);
    expect(h.changes).toHaveLength(1);
  });

  test("invalid settings throw RangeError", () => {
    const bad: ConcurrencySettings[] = [
      { initial: 0, max: 8, adaptive: true },
      { initial: -1, max: 8, adaptive: true },
      { initial: 1.5, max: 8, adaptive: true },
      { initial: Number.NaN, max: 8, adaptive: true },
      { initial: 8, max: 7, adaptive: true },
      { initial: 8, max: 8.5, adaptive: true },
      { initial: 8, max: Number.POSITIVE_INFINITY, adaptive: true },
      { initial: 0, max: 0, adaptive: false },
    ];
    for (const settings of bad) expect(() => new WriteConcurrency(settings)).toThrow(RangeError);
    expect(() => new WriteConcurrency({ initial: 0, max: 8, adaptive: true })).toThrow("in-flight must be a positive integer, got 0");
    expect(() => new WriteConcurrency({ initial: 8, max: 7, adaptive: true })).toThrow("in-flight max must be an integer >= 8, got 7");
    expect(new WriteConcurrency({ initial: 1, max: 1, adaptive: false }).limit).toBe(1);
  });
});
