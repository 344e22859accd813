/**
 * The reconnect policy alone: the first attempt of a series is immediate, later ones back off with
 * full jitter up to the cap, and only a connection that stayed subscribed long enough ends a series.
 */
import { describe, expect, test } from "bun:test";
import { ReconnectPolicy } from "../../../../src/exchange/bitstamp/reconnect-policy.ts";
import { waitFor } from "../../../support/wait.ts";

/** `random` = 1 (clamped): every delay is its ceiling. */
const atCeiling = (stableMicros = 1_000_000) => new ReconnectPolicy({ baseMs: 100, maxMs: 1_000, stableMicros, random: () => 1 });

describe("ReconnectPolicy", () => {
  test("numbers attempts from 1: the first at once, then a doubling ceiling up to the cap", () => {
    const policy = atCeiling();
    const attempts = Array.from({ length: 7 }, () => policy.nextAttempt());
    expect(attempts).toEqual([
      { attempt: 1, delayMs: 0 },
      { attempt: 2, delayMs: 100 },
      { attempt: 3, delayMs: 200 },
      { attempt: 4, delayMs: 400 },
      { attempt: 5, delayMs: 800 },
      { attempt: 6, delayMs: 1_000 },
      { attempt: 7, delayMs: 1_000 },
    ]);
  });

  test("a connection that lasted stableMicros starts a new series; a shorter one continues it", () => {
    const policy = atCeiling(1_000_000);
    policy.nextAttempt();
    policy.nextAttempt();
    expect(policy.connectionLost(999_999)).toBe(false);
    expect(policy.nextAttempt()).toEqual({ attempt: 3, delayMs: 200 });
    expect(policy.connectionLost(1_000_000)).toBe(true);
    expect(policy.nextAttempt()).toEqual({ attempt: 1, delayMs: 0 });
  });

  test("jitter scales each ceiling by the draw", () => {
    const policy = new ReconnectPolicy({ baseMs: 100, maxMs: 1_000, stableMicros: 0, random: () => 0.5 });
    policy.nextAttempt();
    expect(policy.nextAttempt().delayMs).toBe(50);
    expect(policy.nextAttempt().delayMs).toBe(100);
  });

  test("runs the waiting attempt once after its delay, unless cancelled", async () => {
    const policy = atCeiling();
    let runs = 0;
    policy.wait(0, () => runs++);
    expect(policy.waiting).toBe(true);
    await waitFor(() => runs > 0, { timeoutMs: 5_000, what: "the waiting attempt to run" });
    expect(runs).toBe(1);
    expect(policy.waiting).toBe(false);

    policy.wait(0, () => runs++);
    policy.cancel();
    expect(policy.waiting).toBe(false);
    // Part of what is tested: the cancelled attempt (due at 0 ms) still has not run 10 ms later.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(runs).toBe(1);
  });
});
