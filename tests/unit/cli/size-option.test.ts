import { expect, test } from "bun:test";
import { sizeOption } from "../../../src/cli/size-option.ts";

test("sizes: decimal units are powers of 1000, binary ones of 1024; absent is undefined", () => {
  expect(sizeOption("journal-max", "2GB")).toBe(2e9);
  expect(sizeOption("journal-max", "1.5GiB")).toBe(1.5 * 1024 ** 3);
  expect(sizeOption("journal-max", "500 mb")).toBe(5e8);
  expect(sizeOption("journal-max", "0B")).toBe(0);
  expect(sizeOption("journal-max", undefined)).toBeUndefined();
});

test("a size without a known unit is a usage error naming the flag and the forms", () => {
  expect(() => sizeOption("journal-max", "2")).toThrow(expect.objectContaining({ code: "E_USAGE", message: expect.stringContaining("--journal-max '2' is not a size") }));
  expect(() => sizeOption("journal-min-free", "lots")).toThrow(expect.objectContaining({ code: "E_USAGE" }));
});
