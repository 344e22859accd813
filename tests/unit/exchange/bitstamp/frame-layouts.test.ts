/**
 * The layout parser returns exactly what parseJsonExact returns (same keys, same order, same values),
 * with values valibot accepts, or nothing: on real frames, generated ones, edge cases and tens of
 * thousands of text mutations. Its numbers are printed back by String exactly as written.
 */
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { JsonNumber, numberText, parseJsonExact } from "../../../../src/base/exact-json.ts";
import { parseKnownLayout } from "../../../../src/exchange/bitstamp/frame-layouts.ts";
import { OrderDataSchema, TradeDataSchema } from "../../../../src/model/schemas.ts";
import { EDGE_BASE_ORDER_2026, EDGE_BASE_TRADE_2026 } from "../../../support/edge-frames.ts";
import { wsServerFrameEntries } from "../../../support/fixtures.ts";
import { generateFrames } from "../../../support/frame-generator.ts";
import { baseFrames, textMutations } from "../../../support/frame-mutations.ts";
import { seededRandom } from "../../../support/seeded-random.ts";

/** Same keys in the same order, same strings, same plain numbers (bit for bit, -0 included), no JsonNumber. */
function sameJson(a: unknown, b: unknown, path = "$"): string | undefined {
  if (a instanceof JsonNumber || b instanceof JsonNumber) return `${path}: JsonNumber`;
  if (typeof a === "number" || typeof b === "number") return Object.is(a, b) ? undefined : `${path}: ${String(a)} vs ${String(b)}`;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b ? undefined : `${path}: ${String(a)} vs ${String(b)}`;
  if (Array.isArray(a) !== Array.isArray(b) || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${path}: kind`;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.join("\u0000") !== kb.join("\u0000")) return `${path}: keys ${ka.join(",")} vs ${kb.join(",")}`;
  for (const k of ka) {
    const d = sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    if (d !== undefined) return d;
  }
  return undefined;
}

/** Checks one text; returns whether the layout parser read it. */
function check(text: string): boolean {
  const known = parseKnownLayout(text);
  if (known === undefined) return false;
  let reference: unknown;
  try {
    reference = parseJsonExact(text);
  } catch {
    throw new Error(`read text that parseJsonExact refuses: ${text}`);
  }
  const difference = sameJson(known.frame, reference);
  if (difference !== undefined) throw new Error(`${difference} in ${text}`);
  const { data, event_id, pre_event_id, order_source } = known.frame;
  const schema = known.stream === "orders" ? OrderDataSchema : TradeDataSchema;
  if (!v.safeParse(schema, data).success) throw new Error(`valibot refuses the data of ${text}`);
  for (const chain of [event_id, pre_event_id, order_source]) if (chain !== undefined && typeof chain !== "string") throw new Error(`chain field of ${text}`);
  // Every number the parser read is printed back as written (what numberText relies on).
  for (const value of Object.values(data as object)) {
    if (typeof value === "number" && numberText(value) !== String(value)) throw new Error(`numberText(${value}) in ${text}`);
  }
  return true;
}

describe("parseKnownLayout", () => {
  test("reads the 2026 order frame and the spot trade frame as parseJsonExact does", () => {
    expect(check(EDGE_BASE_ORDER_2026)).toBe(true);
    expect(check(EDGE_BASE_TRADE_2026)).toBe(true);
    expect(parseKnownLayout(EDGE_BASE_ORDER_2026)?.stream).toBe("orders");
    expect(parseKnownLayout(EDGE_BASE_TRADE_2026)?.stream).toBe("trades");
  });

  test("reads at least 99% of generated frames and agrees with parseJsonExact on all of them", () => {
    const frames = generateFrames({ pairs: ["btcusd", "ethusd", "usdteur"], countPerPair: 2_000, seed: 9 });
    const read = frames.filter(check).length;
    expect(read / frames.length).toBeGreaterThan(0.99);
  });

  test("agrees with parseJsonExact on every real server frame (or leaves it alone)", () => {
    let read = 0;
    for (const { text } of wsServerFrameEntries()) if (check(text)) read++;
    expect(read).toBeGreaterThan(0);
  });

  test("agrees with parseJsonExact or leaves the text alone on every mutation of real, edge-case and generated frames", () => {
    const rand = seededRandom(23);
    let read = 0;
    let left = 0;
    for (const text of baseFrames(60)) {
      for (const mutated of textMutations(text, rand, 40)) {
        if (check(mutated)) read++;
        else left++;
      }
    }
    // Both outcomes must be common, or the comparison says little.
    expect(read).toBeGreaterThan(5_000);
    expect(left).toBeGreaterThan(20_000);
  });

  test("a number it reads is exactly the token written (30,000 random tokens as the amount, seed 29)", () => {
    const rand = seededRandom(29);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join("");
    let read = 0;
    for (let i = 0; i < 30_000; i++) {
      const int = rand() < 0.3 ? "0" : String(1 + Math.floor(rand() * 9)) + digits(Math.floor(rand() * 18));
      const frac = rand() < 0.6 ? `.${rand() < 0.2 ? "000000" : ""}${digits(1 + Math.floor(rand() * 16))}` : "";
      const token = `${rand() < 0.1 ? "-" : ""}${int}${frac}`;
      const text = EDGE_BASE_TRADE_2026.replace('"amount":0.00062132', `"amount":${token}`);
      if (!check(text)) continue;
      read++;
      const amount = parseKnownLayout(text)?.frame.data as { amount: number };
      if (String(amount.amount) !== token) throw new Error(`${token} read as ${amount.amount}`);
    }
    expect(read).toBeGreaterThan(5_000);
  });

  test("leaves frames with whitespace, escapes, risky numbers or another layout to the full parser", () => {
    const cases = [
      EDGE_BASE_TRADE_2026.replace('"type":0', '"type": 0'),
      `${EDGE_BASE_TRADE_2026} `,
      EDGE_BASE_ORDER_2026.replace('"order_source":"orderbook"', '"order_source":"order\\u0062ook"'),
      EDGE_BASE_TRADE_2026.replace('"amount":0.00062132', '"amount":1e-08'),
      EDGE_BASE_TRADE_2026.replace('"amount":0.00062132', '"amount":3.0'),
      EDGE_BASE_TRADE_2026.replace('"id":629876235', '"id":2001939623936278528'),
      EDGE_BASE_TRADE_2026.replace('"id":629876235', '"id":629876235,"id_str":"629876235"'),
      EDGE_BASE_ORDER_2026.replace(',"is_liquidation":false', ""),
      EDGE_BASE_ORDER_2026.replace('"price_str":"58356.10"', '"price_str":"12,5"'),
      EDGE_BASE_ORDER_2026.replace('"order_type":0', '"order_type":0.5'),
    ];
    for (const text of cases) expect(parseKnownLayout(text)).toBeUndefined();
  });
});
