/**
 * Comparison helpers for exactness tests of the item codec.
 *
 * `parseJsonExactForCompare` parses JSON keeping every number's exact text, then turns each number
 * into `{ num: <canonical plain decimal> }`: two frames compare equal when their numbers have the same
 * exact decimal value (`1e-08` == `0.00000001`, `3.0` == `3`) and their strings are byte-identical
 * (`"0.10000000"` never equals `"0.1"`). Key order is ignored (toEqual).
 */
import { isExactNumber, numberText, parseJsonExact } from "../../src/base/exact-json.ts";
import { toPlainDecimal } from "../../src/store/dynamodb/decimal.ts";

export function parseJsonExactForCompare(text: string): unknown {
  return canonical(parseJsonExact(text));
}

function canonical(value: unknown): unknown {
  if (isExactNumber(value)) return { num: toPlainDecimal(numberText(value)) };
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, canonical(v)]));
  }
  return value;
}

/**
 * The same comparison as one string (keys sorted), for counting frames in sets and multisets: two
 * frames give the same text exactly when `parseJsonExactForCompare` makes them equal.
 */
export function canonicalJson(text: string): string {
  return sortedStringify(parseJsonExactForCompare(text));
}

function sortedStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedStringify).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedStringify(obj[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}
