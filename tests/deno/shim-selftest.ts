/**
 * Checks of the bun:test shim, run under Deno by `make test-deno` (not a *.test.ts file, so
 * bun test does not pick it up). The expectations are Bun's own behaviour: a copy of this file named
 * *.test.ts passes under `bun test` too (all but the last test, which needs Deno). The last test
 * runs must-fail.ts in a second Deno: every failure there (a wrong value, a rejected promise, a
 * failing hook, a time-out) must fail that run.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";

const fails = (assertion: () => unknown) => expect(assertion).toThrow(/expect\(received\)/);

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe("expect", () => {
  test("toBe is Object.is", () => {
    expect(1).toBe(1);
    expect(Number.NaN).toBe(Number.NaN);
    fails(() => expect(1).toBe(2));
    fails(() => expect(0).toBe(-0));
    fails(() => expect({}).toBe({}));
    expect({}).not.toBe({});
    fails(() => expect(1).not.toBe(1));
  });

  test("toEqual compares deeply, ignores undefined properties and classes; toStrictEqual does not", () => {
    expect<unknown>({ a: [1, { b: "x" }], c: undefined }).toEqual({ a: [1, { b: "x" }] });
    expect(new Point(1, 2)).toEqual({ x: 1, y: 2 });
    fails(() => expect(new Point(1, 2)).toStrictEqual({ x: 1, y: 2 }));
    fails(() => expect<unknown>({ a: undefined }).toStrictEqual({}));
    fails(() => expect({ a: [1, { b: "x" }] }).toEqual({ a: [1, { b: "y" }] }));
    fails(() => expect([1, 2]).toEqual([1, 2, 3]));
    fails(() => expect<unknown>([1, 2]).toEqual({ 0: 1, 1: 2 }));
    fails(() => expect(0).toEqual(-0));
    expect(new Map([["k", [1]]])).toEqual(new Map([["k", [1]]]));
    fails(() => expect(new Map([["k", [1]]])).toEqual(new Map([["k", [2]]])));
    expect(new Set([1, 2])).toEqual(new Set([2, 1]));
    fails(() => expect(new Set([1, 2])).toEqual(new Set([1, 3])));
    expect(new Uint8Array([1, 2])).toEqual(new Uint8Array([1, 2]));
    fails(() => expect(new Uint8Array([1, 2])).toEqual(new Uint8Array([1, 3])));
    fails(() => expect<unknown>(new Uint8Array([1, 2])).toEqual(new Uint16Array([1, 2])));
    expect(new Date(5)).toEqual(new Date(5));
    fails(() => expect(new Date(5)).toEqual(new Date(6)));
    fails(() => expect(new RangeError("a")).toEqual(new RangeError("b")));
    fails(() => expect<unknown>(1n).toEqual(1));
    expect({ a: 1 }).not.toEqual({ a: 2 });
  });

  test("toMatchObject takes a subset of properties, arrays element by element", () => {
    expect({ a: 1, b: { c: 2, d: 3 }, e: [{ f: 1, g: 2 }] }).toMatchObject({ b: { c: 2 }, e: [{ f: 1 }] });
    fails(() => expect({ a: 1 }).toMatchObject({ a: 1, b: undefined }));
    fails(() => expect({ e: [{ f: 1 }, { f: 2 }] }).toMatchObject({ e: [{ f: 1 }] }));
    fails(() => expect(null).toMatchObject({}));
    expect(new RangeError("too big")).toMatchObject({ name: "RangeError", message: "too big" });
  });

  test("toContain, toMatch, toStartWith, toEndWith, toBeString and the comparisons", () => {
    expect([1, "a"]).toContain("a");
    fails(() => expect([{ a: 1 }]).toContain({ a: 1 }));
    expect(new Set(["a"])).toContain("a");
    expect("abc").toContain("b");
    fails(() => expect("abc").toContain("d"));
    expect("abc").not.toContain("d");
    expect("abc").toMatch(/^a.c$/);
    expect("abc").toMatch("bc");
    fails(() => expect("abc").toMatch(/^b/));
    expect("abc").toStartWith("ab");
    fails(() => expect("abc").toStartWith("b"));
    expect("abc").toEndWith("bc");
    fails(() => expect("abc").toEndWith("ab"));
    expect("x").toBeString();
    fails(() => expect(1).toBeString());
    expect(2).toBeGreaterThan(1);
    fails(() => expect(1).toBeGreaterThan(1));
    expect(1).toBeGreaterThanOrEqual(1);
    fails(() => expect(0).toBeGreaterThanOrEqual(1));
    expect(1).toBeLessThan(2);
    fails(() => expect(2).toBeLessThan(2));
    expect(2).toBeLessThanOrEqual(2);
    fails(() => expect(3).toBeLessThanOrEqual(2));
    fails(() => expect(Number.NaN).toBeGreaterThan(0));
    expect(undefined).toBeUndefined();
    fails(() => expect(null).toBeUndefined());
    expect(0).toBeDefined();
    fails(() => expect(undefined).toBeDefined());
    expect(null).toBeNull();
    fails(() => expect(undefined).toBeNull());
    expect(new Point(0, 0)).toBeInstanceOf(Point);
    fails(() => expect({ x: 0, y: 0 }).toBeInstanceOf(Point));
    expect([1, 2]).toHaveLength(2);
    fails(() => expect([1, 2]).toHaveLength(3));
  });

  test("toThrow: anything, a message part, a pattern, a class, an asymmetric matcher", () => {
    const boom = () => {
      throw new RangeError("value 7 is out of range");
    };
    expect(boom).toThrow();
    expect(boom).toThrow("out of range");
    expect(boom).toThrow(/value \d+/);
    expect(boom).toThrow(RangeError);
    expect(boom).toThrow(expect.objectContaining({ message: expect.stringContaining("7") }));
    fails(() => expect(boom).toThrow("in range!"));
    fails(() => expect(boom).toThrow(/^range/));
    fails(() => expect(boom).toThrow(TypeError));
    fails(() => expect(boom).toThrow(expect.objectContaining({ message: "other" })));
    fails(() => expect(() => 1).toThrow());
    expect(() => 1).not.toThrow();
    fails(() => expect(boom).not.toThrow());
    expect(boom).not.toThrow(TypeError);
    expect(() => expect(1).toThrow()).toThrow();
  });

  test("asymmetric matchers inside toEqual", () => {
    expect({ id: 3, name: "x", at: new Date(0) }).toEqual({ id: expect.any(Number), name: expect.stringContaining("x"), at: expect.any(Date) });
    fails(() => expect({ id: "3" }).toEqual({ id: expect.any(Number) }));
    fails(() => expect({ name: "y" }).toEqual({ name: expect.stringContaining("x") }));
    expect({ a: { b: 1, c: 2 } }).toEqual({ a: expect.objectContaining({ b: 1 }) });
    fails(() => expect({ a: { b: 1, c: 2 } }).toEqual({ a: expect.objectContaining({ b: 2 }) }));
  });

  test("resolves and rejects wait for the promise, and fail on the wrong outcome", async () => {
    await expect(Promise.resolve(4)).resolves.toBe(4);
    await expect(Promise.reject(new Error("no way"))).rejects.toThrow("no way");
    const failsLater = (assertion: () => unknown) => expect((async () => await assertion())()).rejects.toThrow();
    await failsLater(() => expect(Promise.resolve(4)).resolves.toBe(5));
    await failsLater(() => expect(Promise.resolve(4)).rejects.toThrow());
    await failsLater(() => expect<Promise<unknown>>(Promise.reject(new Error("x"))).resolves.toBe(4));
  });

  test("a matcher the shim lacks is an error, not a pass", () => {
    expect(() => (expect(1) as unknown as { toBeWonderful(): void }).toBeWonderful()).toThrow(TypeError);
  });
});

const calls: string[] = [];

describe("hooks", () => {
  beforeAll(() => void calls.push("beforeAll"));
  beforeEach(() => void calls.push("beforeEach"));
  afterEach(() => void calls.push("afterEach"));
  afterAll(() => void calls.push("afterAll"));

  describe("nested", () => {
    beforeEach(() => void calls.push("inner beforeEach"));
    afterEach(() => void calls.push("inner afterEach"));
    test("first", () => void calls.push("first"));
  });

  test("second", () => void calls.push("second"));
});

test("hooks ran in Bun's order around each test, and afterAll after the last test of its describe", () => {
  expect(calls).toEqual([
    "beforeAll",
    "beforeEach",
    "inner beforeEach",
    "first",
    "inner afterEach",
    "afterEach",
    "beforeEach",
    "second",
    "afterEach",
    "afterAll",
  ]);
});

test.each([
  [1, 2, 3],
  [2, 2, 4],
])("test.each spreads rows: %p + %p = %p", (a, b, sum) => {
  expect(a + b).toBe(sum);
});

test("a failing expectation, rejection, hook or time-out fails the Deno run (must-fail.ts in a second Deno)", () => {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const run = spawnSync(process.execPath, ["test", "--config", "tests/deno/deno.json", "--no-check", "-A", "tests/deno/must-fail.ts"], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  const output = `${run.stdout}\n${run.stderr}`;
  expect(run.status).toBe(1);
  expect(output).toMatch(/FAILED \| 2 passed \| 6 failed/);
  for (const name of [
    "must fail > a wrong value ... FAILED",
    "must fail > an unexpected throw ... FAILED",
    "must fail > a rejected expectation that is awaited ... FAILED",
    "must fail > behind a failing beforeEach > a passing body ... FAILED",
    "must fail > a test that outlives its time-out ... FAILED",
    'must fail > each "row-b" ... FAILED',
    'must fail > each "row-a" ... ok',
    "passes > and is counted ... ok",
  ]) {
    expect(output).toContain(name);
  }
});
