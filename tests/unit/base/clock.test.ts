import { expect, test } from "bun:test";
import { nowMicros, strictlyIncreasing } from "../../../src/base/clock.ts";

test("strictlyIncreasing: equal or earlier readings become the previous one plus 1 µs; later ones pass as they are", () => {
  const readings = [100, 100, 100, 99, 250, 250, 251, 10];
  let i = 0;
  const clock = strictlyIncreasing(() => readings[i++]!);
  expect(readings.map(() => clock())).toEqual([100, 101, 102, 103, 250, 251, 252, 253]);
});

test("the real clock read in a tight loop never repeats once wrapped", () => {
  const clock = strictlyIncreasing(nowMicros);
  const values = Array.from({ length: 10_000 }, () => clock());
  for (let k = 1; k < values.length; k++) expect(values[k]! > values[k - 1]!).toBe(true);
});
