/**
 * parseJsonExact keeps the text of every number a double cannot print back, and its cheap regex
 * pre-check never lets such a number through the plain JSON.parse path (property-tested against the
 * reviver itself as ground truth).
 */
import { describe, expect, test } from "bun:test";
import {
  JsonNumber,
  beginNumberTexts,
  hasRiskyNumberToken,
  jsonNestingExceeds,
  noteNumberText,
  numberText,
  parseJsonExact,
  parseJsonWithSource,
  stringifyExact,
} from "../../../src/base/exact-json.ts";
import { allWsServerFrames } from "../../support/fixtures.ts";
import { seededRandom } from "../../support/seeded-random.ts";


function digits(rand: () => number, n: number, firstNonZero: boolean): string {
  let s = "";
  for (let i = 0; i < n; i++) {
    const d = i === 0 && firstNonZero ? 1 + Math.floor(rand() * 9) : Math.floor(rand() * 10);
    s += String(d);
  }
  return s;
}

/** A random valid JSON number token, biased towards the edges (16-19 digits, trailing zeros, tiny values, exponents). */
function randomNumberToken(rand: () => number): string {
  const sign = rand() < 0.15 ? "-" : "";
  const shape = rand();
  let int: string;
  if (shape < 0.3) {
    const n = 1 + Math.floor(rand() * 22);
    int = digits(rand, n, true);
  } else if (shape < 0.45) {
    int = "9" + digits(rand, 14 + Math.floor(rand() * 4), false);
  } else {
    int = rand() < 0.5 ? "0" : digits(rand, 1 + Math.floor(rand() * 6), true);
  }
  let token = sign + int;
  if (rand() < 0.6) {
    const zeros = int === "0" && rand() < 0.4 ? "0".repeat(Math.floor(rand() * 10)) : "";
    let frac = zeros + digits(rand, Math.floor(rand() * 18), false);
    if (frac === "") frac = "5";
    if (rand() < 0.2) frac += "0";
    token += `.${frac}`;
  }
  if (rand() < 0.1) token += `${rand() < 0.5 ? "e" : "E"}${["", "+", "-"][Math.floor(rand() * 3)]}${Math.floor(rand() * 30)}`;
  if (rand() < 0.03) token = rand() < 0.5 ? "-0" : "-0.0";
  return token;
}

/** Embeds a token the way frames do: after `:`, first or later in an array, with optional whitespace. */
function embed(rand: () => number, token: string): string {
  const ws = rand() < 0.3 ? " " : "";
  switch (Math.floor(rand() * 5)) {
    case 0:
      return `{"data":{"id_str":"1786269861947000","x":${ws}${token}},"channel":"live_orders_btcusd"}`;
    case 4:
      // Strings with escaped quotes and backslashes before the token must not confuse the scan.
      return `{"s":"a\\":9999999999999999999,\\\\","t":"\\\\","x":${ws}${token}}`;
    case 1:
      return `[${ws}${token}]`;
    case 2:
      return `{"a":[1,${ws}${token}, 2]}`;
    default:
      return `${ws}${token}`;
  }
}

/** Does the ground-truth path find a number whose text differs from String(value)? */
function reviverFindsRisky(value: unknown): boolean {
  if (value instanceof JsonNumber) return true;
  if (Array.isArray(value)) return value.some(reviverFindsRisky);
  if (value !== null && typeof value === "object") return Object.values(value).some(reviverFindsRisky);
  return false;
}

describe("parseJsonExact", () => {
  test("keeps integers above 2^53 as their exact text", () => {
    const parsed = parseJsonExact('{"id":2001939623936278528,"id_str":"2001939623936278528"}') as Record<string, unknown>;
    expect(parsed.id).toBeInstanceOf(JsonNumber);
    expect(numberText(parsed.id as JsonNumber)).toBe("2001939623936278528");
    expect(parsed.id_str).toBe("2001939623936278528");
  });

  test("keeps 1e-08, 3.0 and -0 as written and leaves ordinary numbers plain", () => {
    const parsed = parseJsonExact('{"a":1e-08,"b":3.0,"c":-0,"d":58356.1,"e":64839,"f":2037493297635328}') as Record<string, unknown>;
    expect((parsed.a as JsonNumber).text).toBe("1e-08");
    expect((parsed.b as JsonNumber).text).toBe("3.0");
    expect((parsed.c as JsonNumber).text).toBe("-0");
    expect(parsed.d).toBe(58356.1);
    expect(parsed.e).toBe(64839);
    expect(parsed.f).toBe(2037493297635328);
  });

  test("throws SyntaxError on text that is not JSON, on both paths", () => {
    expect(() => parseJsonExact("{not json")).toThrow(SyntaxError);
    expect(() => parseJsonExact('{"a":1e-08,')).toThrow(SyntaxError);
  });

  test("stringifyExact writes exact numbers back unchanged", () => {
    const text = '{"data":{"amount":1e-08,"id":2001939623936278528,"x":[3.0,-0,"1E-8"]},"n":null,"b":true}';
    expect(stringifyExact(parseJsonExact(text))).toBe(text);
  });

  test("numberText prints a plain number the way String does", () => {
    expect(numberText(0.00171371)).toBe("0.00171371");
    expect(numberText(new JsonNumber("7.92010000"))).toBe("7.92010000");
  });

  test("numberText answers from the texts noted for the last frame's numbers, and from String for other values", () => {
    // Noting a text String would not print shows where the answer comes from; parsers note only exact
    // tokens (frame-layouts.test.ts checks that every number it reads is printed back as written).
    beginNumberTexts('{"amount":0.06250}');
    noteNumberText(10, 17, 0.0625);
    expect(numberText(0.0625)).toBe("0.06250");
    expect(numberText(1.5)).toBe("1.5");
    // A new frame forgets the previous frame's texts.
    beginNumberTexts('{"x":7}');
    noteNumberText(5, 6, 7);
    expect(numberText(0.0625)).toBe("0.0625");
    expect(numberText(7)).toBe("7");
    beginNumberTexts("");
  });
});

describe("hasRiskyNumberToken", () => {
  test("never misses a number the reviver keeps as text (20,000 random tokens, seed 7)", () => {
    const rand = seededRandom(7);
    const misses: string[] = [];
    let risky = 0;
    for (let i = 0; i < 20_000; i++) {
      const text = embed(rand, randomNumberToken(rand));
      const truth = reviverFindsRisky(parseJsonWithSource(text));
      if (truth) risky++;
      if (truth && !hasRiskyNumberToken(text)) misses.push(text);
    }
    expect(misses.slice(0, 5)).toEqual([]);
    // The generator must actually produce risky tokens, or the property says nothing.
    expect(risky).toBeGreaterThan(2_000);
  });

  test("gives the same values on the fast path as the reviver path (20,000 random tokens, seed 11)", () => {
    const rand = seededRandom(11);
    for (let i = 0; i < 20_000; i++) {
      const text = embed(rand, randomNumberToken(rand));
      const fast = parseJsonExact(text);
      const slow = parseJsonWithSource(text);
      if (stringifyExact(fast) !== stringifyExact(slow)) throw new Error(`paths differ for ${text}`);
    }
  });

  test("is not triggered by long digit strings inside quoted values", () => {
    expect(hasRiskyNumberToken('{"microtimestamp":"1786269861947000","id_str":"2001939623936278528"}')).toBe(false);
    expect(hasRiskyNumberToken('{"message":"x\\":12345678901234567890, 1e-08","b":"\\\\","n":1}')).toBe(false);
    expect(hasRiskyNumberToken('{"amount_str":"0.10000000","e":"1E-8","bids":[["79715.38","0.06272315","2046839968690178"]]}')).toBe(false);
  });

  test("takes the fast path for every real 2026 live_orders frame", () => {
    const frames = allWsServerFrames().filter((f) => f.includes('"event_id"'));
    expect(frames.length).toBeGreaterThan(0);
    for (const frame of frames) expect(hasRiskyNumberToken(frame)).toBe(false);
  });

  test("flags each kind of risky token", () => {
    for (const token of ["9007199254740993", "12345678901234567", "1e-08", "3.0", "-0", "0.00000099", "0.1234567890123456"]) {
      expect(hasRiskyNumberToken(`{"x":${token}}`)).toBe(true);
    }
  });
});

describe("jsonNestingExceeds", () => {
  test("counts arrays and objects inside each other, up to and past the bound", () => {
    expect(jsonNestingExceeds('{"data":{"a":[[1]]}}', 4)).toBe(false);
    expect(jsonNestingExceeds('{"data":{"a":[[1]]}}', 3)).toBe(true);
    expect(jsonNestingExceeds("[]".repeat(1_000), 1)).toBe(false); // side by side, never deeper than 1
    expect(jsonNestingExceeds(`${"[".repeat(50_000)}${"]".repeat(50_000)}`, 32)).toBe(true);
    expect(jsonNestingExceeds(`${"[".repeat(32)}${"]".repeat(32)}`, 32)).toBe(false);
  });

  test("does not count brackets inside strings, escaped quotes included", () => {
    expect(jsonNestingExceeds(`{"a":"${"[".repeat(100)}"}`, 1)).toBe(false);
    expect(jsonNestingExceeds(`{"a":"\\"}`, 1)).toBe(false);
    expect(jsonNestingExceeds(`{"a":"\\\"[[[["}`, 1)).toBe(false);
    expect(jsonNestingExceeds(`{"a\"{{{":[[1]]}`, 2)).toBe(true);
  });

  test("every real frame nests at most 4 levels (book frames: frame, data, bids, level)", () => {
    for (const frame of allWsServerFrames()) expect({ frame, deeper: jsonNestingExceeds(frame, 4) }).toEqual({ frame, deeper: false });
  });
});
