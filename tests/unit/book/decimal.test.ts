/**
 * src/book/decimal.ts: exact decimals with a fast integer form and a BigInt fallback. Each case names
 * the edge it covers; the last test checks random texts (plain, exponent, long, huge) against plain
 * BigInt arithmetic written here.
 */
import { describe, expect, test } from "bun:test";
import {
  BigDecimal, addDecimal, compareDecimal, decimalKey, decimalScale, formatDecimal, halveDecimal, parseDecimal,
  parsedDecimalSlot, subtractDecimal, type Decimal,
} from "../../../src/book/decimal.ts";
import { seededRandom } from "../../support/seeded-random.ts";

function parse(text: string): { value: Decimal; scale: number; plain: boolean } {
  const slot = parsedDecimalSlot();
  if (!parseDecimal(text, slot)) throw new Error(`not parsed: ${text}`);
  return { ...slot };
}

function refuses(text: string): boolean {
  return !parseDecimal(text, parsedDecimalSlot());
}

describe("parseDecimal", () => {
  test("reads Bitstamp's plain texts into integers of 10^-8 and keeps their scale", () => {
    expect(parse("79715.38")).toEqual({ value: 7_971_538_000_000, scale: 2, plain: true });
    expect(parse("0.00171371")).toEqual({ value: 171_371, scale: 8, plain: true });
    expect(parse("32")).toEqual({ value: 3_200_000_000, scale: 0, plain: true });
    expect(parse("0.10000000")).toEqual({ value: 10_000_000, scale: 8, plain: true });
    expect(parse("0")).toEqual({ value: 0, scale: 0, plain: true });
  });

  test("reads exponent forms exactly, with the scale of their plain form", () => {
    expect(parse("1E-8")).toEqual({ value: 1, scale: 8, plain: false });
    expect(parse("1e-08")).toEqual({ value: 1, scale: 8, plain: false });
    expect(parse("6.112e-05")).toEqual({ value: 6112, scale: 8, plain: false });
    expect(parse("1.5E+3")).toEqual({ value: 150_000_000_000, scale: 0, plain: false });
    expect(parse("1.50E+1")).toEqual({ value: 1_500_000_000, scale: 1, plain: false });
    expect(parse("0E-8")).toEqual({ value: 0, scale: 8, plain: false });
  });

  test("falls back to BigInt beyond 8 decimals or 2^53 units, and only then", () => {
    expect(parse("0.123456789").value).toEqual(new BigDecimal(123456789n, 9));
    expect(parse("0.100000000").value).toBe(10_000_000); // nine decimals, but the value fits
    expect(parse("90071992.54740991").value).toBe(Number.MAX_SAFE_INTEGER);
    expect(parse("90071992.54740992").value).toEqual(new BigDecimal(9007199254740992n, 8));
    expect(parse("12345678901234567890").value).toEqual(new BigDecimal(12345678901234567890n, 0));
    expect(parse("0.000000000000000000000000000001").value).toEqual(new BigDecimal(1n, 30));
  });

  test("marks leading zeros as not plain (display writes the value out)", () => {
    expect(parse("007.50")).toEqual({ value: 750_000_000, scale: 2, plain: false });
  });

  test("refuses negative, malformed and absurd-exponent texts", () => {
    for (const text of ["", "-1", "-0", "1.", ".5", "1..2", "1e", "0x10", " 1", "1 ", "+1", "1E+1001", "NaN", "Infinity"]) {
      expect([text, refuses(text)]).toEqual([text, true]);
    }
  });
});

describe("one value, one representation", () => {
  test("equal values give equal keys whatever their spelling", () => {
    const keys = ["64839", "64839.00", "6.4839E+4", "064839.0"].map((t) => decimalKey(parse(t).value));
    expect(new Set(keys).size).toBe(1);
    const bigKeys = ["0.1234567891", "0.12345678910", "1.234567891E-1"].map((t) => decimalKey(parse(t).value));
    expect(new Set(bigKeys).size).toBe(1);
    expect(decimalKey(parse("0.1234567891").value)).not.toBe(decimalKey(parse("0.1234567892").value));
  });

  test("a sum that fits again comes back to the fast form", () => {
    const big = parse("0.123456789").value;
    const back = subtractDecimal(addDecimal(big, parse("0.000000001").value), parse("0.00000001").value);
    expect(back).toBe(12_345_678);
    expect(addDecimal(parse("90071992.54740991").value, 1)).toEqual(new BigDecimal(9007199254740992n, 8));
  });
});

describe("formatDecimal and halveDecimal", () => {
  test("writes plain text with at least the scale asked for, more when the value needs it", () => {
    expect(formatDecimal(parse("0.5").value, 2)).toBe("0.50");
    expect(formatDecimal(parse("0.5").value)).toBe("0.5");
    expect(formatDecimal(parse("12").value, 0)).toBe("12");
    expect(formatDecimal(parse("1E-8").value, 0)).toBe("0.00000001");
    expect(formatDecimal(parse("0.000000000000000000000000000001").value, 2)).toBe("0.000000000000000000000000000001");
    expect(formatDecimal(parse("12345678901234567890.5").value, 3)).toBe("12345678901234567890.500");
    expect(formatDecimal(parse("90071992.54740991").value, 8)).toBe("90071992.54740991");
    expect(formatDecimal(parse("89999999.99999999").value, 8)).toBe("89999999.99999999");
    expect(formatDecimal(subtractDecimal(parse("1.01").value, parse("1.02").value), 2)).toBe("-0.01");
    expect(formatDecimal(subtractDecimal(parse("1").value, parse("1.000000001").value))).toBe("-0.000000001");
  });

  test("halves exactly, with one more digit when needed: (1.01 + 1.02) / 2 = 1.015", () => {
    expect(formatDecimal(halveDecimal(addDecimal(parse("1.01").value, parse("1.02").value)), 2)).toBe("1.015");
    expect(formatDecimal(halveDecimal(addDecimal(parse("64839.00").value, parse("64840.00").value)), 2)).toBe("64839.50");
    expect(formatDecimal(halveDecimal(parse("0.00000001").value), 8)).toBe("0.000000005");
  });

  test("decimalScale is the digits a value needs", () => {
    expect([decimalScale(parse("5").value), decimalScale(parse("0.10").value), decimalScale(parse("1E-8").value), decimalScale(parse("0.123456789").value)]).toEqual([0, 1, 8, 9]);
  });
});

// ---------------------------------------------------------------------------------------------
// Against BigInt arithmetic on texts

/** Value of a decimal text as a BigInt of 10^-REF_SCALE units, by string manipulation. */
const REF_SCALE = 60;
function refUnits(text: string): bigint {
  const m = /^(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text)!;
  const digits = m[1]! + (m[2] ?? "");
  const shift = REF_SCALE - (m[2] ?? "").length + Number(m[3] ?? 0);
  return shift >= 0 ? BigInt(digits) * 10n ** BigInt(shift) : BigInt(digits) / 10n ** BigInt(-shift);
}

function refText(units: bigint): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(REF_SCALE + 1, "0");
  const whole = digits.slice(0, -REF_SCALE);
  const frac = digits.slice(-REF_SCALE).replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${frac ? `.${frac}` : ""}`;
}

function randomText(rand: () => number): string {
  const digits = (n: number) => Array.from({ length: n }, () => String(Math.floor(rand() * 10))).join("");
  const intPart = String(BigInt(digits(1 + Math.floor(rand() * (rand() < 0.8 ? 9 : 22)))));
  const fracLen = Math.floor(rand() * (rand() < 0.8 ? 9 : 20));
  const plain = fracLen === 0 ? intPart : `${intPart}.${digits(fracLen)}`;
  if (rand() < 0.2) {
    // Exponent form: the same digits as d.ddd, times a power of ten near the original's.
    const all = intPart + (fracLen ? plain.split(".")[1] : "");
    const mantissa = all.length > 1 ? `${all[0]}.${all.slice(1)}` : all;
    const exp = intPart.length - 1 + Math.floor(rand() * 7) - 3;
    return `${mantissa}${rand() < 0.5 ? "E" : "e"}${exp >= 0 && rand() < 0.5 ? "+" : ""}${exp}`;
  }
  if (rand() < 0.05) return `${Math.floor(rand() * 9) + 1}E-${Math.floor(rand() * 20)}`;
  return plain;
}

test("add, subtract, compare, halve and format agree with BigInt arithmetic on 5,000 random pairs", () => {
  const rand = seededRandom(20261205);
  const slotA = parsedDecimalSlot();
  const slotB = parsedDecimalSlot();
  const mismatches: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const a = randomText(rand);
    const b = rand() < 0.1 ? a : randomText(rand);
    if (!parseDecimal(a, slotA) || !parseDecimal(b, slotB)) {
      mismatches.push(`refused ${a} or ${b}`);
      continue;
    }
    const ra = refUnits(a);
    const rb = refUnits(b);
    const checks: [string, string, string][] = [
      ["a", formatDecimal(slotA.value), refText(ra)],
      ["a+b", formatDecimal(addDecimal(slotA.value, slotB.value)), refText(ra + rb)],
      ["a-b", formatDecimal(subtractDecimal(slotA.value, slotB.value)), refText(ra - rb)],
      ["b-a", formatDecimal(subtractDecimal(slotB.value, slotA.value)), refText(rb - ra)],
      ["(a+b)/2", formatDecimal(halveDecimal(addDecimal(slotA.value, slotB.value))), refText((ra + rb) / 2n)],
      ["cmp", String(Math.sign(compareDecimal(slotA.value, slotB.value))), String(ra < rb ? -1 : ra > rb ? 1 : 0)],
      ["key", String(decimalKey(slotA.value) === decimalKey(slotB.value)), String(ra === rb)],
    ];
    for (const [what, got, want] of checks) if (got !== want) mismatches.push(`${what} of ${a}, ${b}: ${got} != ${want}`);
  }
  expect(mismatches.slice(0, 10)).toEqual([]);
});
