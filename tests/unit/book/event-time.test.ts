/**
 * src/book/event-time.ts: the digit loop gives what Number gives, for today's 16-digit times and at
 * the 2^53 edge, and NaN for what is not digits.
 */
import { expect, test } from "bun:test";
import { eventMicros } from "../../../src/book/event-time.ts";
import type { OrderData } from "../../../src/model/schemas.ts";

const at = (microtimestamp: string) => eventMicros({ microtimestamp } as OrderData);

test("reads Unix µs exactly, as Number would", () => {
  for (const text of ["1788551766754717", "1654072104363000", "0", "7", "9007199254740991", "9007199254740993", "99999999999999999", "12345678901234567890"]) {
    expect([text, at(text)]).toEqual([text, Number(text)]);
  }
});

test("is NaN for an empty or non-digit text", () => {
  expect([at(""), at("17885517667547x7"), at("-1"), at(" 1")]).toEqual([Number.NaN, Number.NaN, Number.NaN, Number.NaN]);
});
