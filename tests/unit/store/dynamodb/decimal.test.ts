import { describe, expect, test } from "bun:test";
import {
  NOT_A_NUMBER_ATTRIBUTE,
  isNumberAttributeSafe,
  needsScale,
  numberAttributeScale,
  padToScale,
  scaleOf,
  toPlainDecimal,
} from "../../../../src/store/dynamodb/decimal.ts";

describe("toPlainDecimal", () => {
  test.each([
    ["1E-8", "0.00000001"],
    ["1e-08", "0.00000001"],
    ["1.5E+3", "1500"],
    ["1E+3", "1000"],
    ["12.5e-1", "1.25"],
    ["-1.5e-7", "-0.00000015"],
    ["58356.10", "58356.1"],
    ["0.00000000", "0"],
    ["-0", "0"],
    ["-0.0", "0"],
    ["007", "7"],
    ["100", "100"],
    ["2001939623936278528", "2001939623936278528"],
  ])("%s -> %s (what DynamoDB stores)", (input, expected) => {
    expect(toPlainDecimal(input)).toBe(expected);
  });

  test("throws RangeError on text that is not a decimal", () => {
    for (const bad of ["", "abc", "1,5", "e5", "."]) expect(() => toPlainDecimal(bad)).toThrow(RangeError);
  });
});

describe("scale", () => {
  test("scaleOf counts fraction digits and padToScale puts zeros back", () => {
    expect(scaleOf("27000.50")).toBe(2);
    expect(scaleOf("32")).toBe(0);
    expect(padToScale("27000.5", 2)).toBe("27000.50");
    expect(padToScale("0", 8)).toBe("0.00000000");
    expect(padToScale("32", 0)).toBe("32");
    expect(padToScale("1.25", 1)).toBe("1.25");
  });

  test("needsScale only when DynamoDB would drop trailing fraction zeros", () => {
    expect(needsScale("58356.10")).toBe(true);
    expect(needsScale("0.00000000")).toBe(true);
    expect(needsScale("58356.1")).toBe(false);
    expect(needsScale("100")).toBe(false);
  });
});

describe("isNumberAttributeSafe", () => {
  test("accepts plain decimals that canonical form plus scale rebuilds", () => {
    for (const ok of ["0", "32", "0.00000000", "27000.50", "-12.50", "2001939623936278528", "1".repeat(38)]) {
      expect(isNumberAttributeSafe(ok)).toBe(true);
      expect(padToScale(toPlainDecimal(ok), scaleOf(ok))).toBe(ok);
    }
  });

  test("refuses what DynamoDB would reject or respell beyond repair", () => {
    for (const bad of ["1E-8", "1e-08", "-0", "-0.00", "007", ".5", "1".repeat(39), `0.${"0".repeat(37)}1`, "", "12,5"]) {
      expect(isNumberAttributeSafe(bad)).toBe(false);
    }
  });
});

describe("numberAttributeScale", () => {
  /** The answer of the separate checks it replaces on the item encoder's hot path. */
  const reference = (text: string) => (!isNumberAttributeSafe(text) ? NOT_A_NUMBER_ATTRIBUTE : needsScale(text) ? scaleOf(text) : 0);

  test.each([
    ["58356.10", 2],
    ["0.00000000", 8],
    ["58356.1", 0],
    ["32", 0],
    ["0", 0],
    ["-12.50", 2],
    ["1E-8", NOT_A_NUMBER_ATTRIBUTE],
    ["-0.00", NOT_A_NUMBER_ATTRIBUTE],
    ["007", NOT_A_NUMBER_ATTRIBUTE],
    ["1".repeat(39), NOT_A_NUMBER_ATTRIBUTE],
  ])("%s -> %d", (text, expected) => {
    expect(numberAttributeScale(text)).toBe(expected);
  });

  test("gives the same answer as isNumberAttributeSafe, needsScale and scaleOf on 50,000 random texts (seed 5)", () => {
    let a = 5;
    const rand = () => ((a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 4294967296);
    const alphabet = "0000123456789-.eE";
    let numbers = 0;
    for (let i = 0; i < 50_000; i++) {
      let text = "";
      for (let n = Math.floor(rand() * (rand() < 0.05 ? 45 : 12)); n > 0; n--) text += alphabet[Math.floor(rand() * alphabet.length)];
      const expected = reference(text);
      if (numberAttributeScale(text) !== expected) throw new Error(`numberAttributeScale(${JSON.stringify(text)}) is not ${expected}`);
      if (expected !== NOT_A_NUMBER_ATTRIBUTE) numbers++;
    }
    expect(numbers).toBeGreaterThan(2_000);
  });
});
