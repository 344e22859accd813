/**
 * Deliberately failing tests: shim-selftest.ts runs this file in a second Deno and checks that
 * 6 of its tests fail and the run exits non-zero. Never list it in core-tests.ts.
 */
import { beforeEach, describe, expect, test } from "bun:test";

describe("must fail", () => {
  test("a wrong value", () => {
    expect({ a: [1, 2] }).toEqual({ a: [1, 3] });
  });

  test("an unexpected throw", () => {
    JSON.parse("{");
  });

  test("a rejected expectation that is awaited", async () => {
    await expect(Promise.resolve("late")).rejects.toThrow();
  });

  describe("behind a failing beforeEach", () => {
    beforeEach(() => {
      throw new Error("setup failed");
    });
    test("a passing body", () => {});
  });

  test("a test that outlives its time-out", () => new Promise((resolve) => setTimeout(resolve, 500)), 50);

  test.each(["row-a", "row-b"])("each %p", (row) => {
    expect(row).toBe("row-a");
  });
});

describe("passes", () => {
  test("and is counted", () => {
    expect(1 + 1).toBe(2);
  });
});
