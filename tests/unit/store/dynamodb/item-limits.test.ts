/**
 * itemProblem: one test per DynamoDB limit, at the boundary (exactly at the limit passes, one past
 * it fails). The same boundaries are checked against DynamoDB Local in
 * tests/integration/hostile-items.dynamodb.test.ts.
 */
import { describe, expect, test } from "bun:test";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { decodeFrame } from "../../../../src/exchange/bitstamp/decode.ts";
import { encodeItem } from "../../../../src/store/dynamodb/event-item.ts";
import type { Item } from "../../../../src/store/dynamodb/item.ts";
import {
  ITEM_MAX_BYTES,
  NESTING_MAX_LEVELS,
  PARTITION_KEY_MAX_BYTES,
  SORT_KEY_MAX_BYTES,
  itemProblem,
  itemSizeBytes,
} from "../../../../src/store/dynamodb/item-limits.ts";
import { orderAndTradeFrames } from "../../../support/fixtures.ts";

const PK = "btcusd#orders#2026080910#0";
const SK = "1786269861947000#0006589a-5c98-2678-0000-000101000020";

function item(attributes: Item = {}, pk = PK, sk = SK): Item {
  return { pk: { S: pk }, sk: { S: sk }, ...attributes };
}

function withNumber(n: string): Item {
  return item({ n: { N: n } });
}

function nested(kind: "L" | "M", levels: number): AttributeValue {
  let value: AttributeValue = { S: "leaf" };
  for (let i = 0; i < levels; i++) value = kind === "L" ? { L: [value] } : { M: { a: value } };
  return value;
}

describe("itemProblem: keys", () => {
  test("a partition key of 2048 bytes passes, 2049 fails, with the size, the limit and the key", () => {
    expect(itemProblem(item({}, "p".repeat(PARTITION_KEY_MAX_BYTES)))).toBeUndefined();
    const problem = itemProblem(item({}, "p".repeat(PARTITION_KEY_MAX_BYTES + 1)));
    expect(problem).toStartWith("partition key pk is 2,049 bytes of UTF-8; DynamoDB allows at most 2,048 (key pk=");
    expect(problem).toContain("(2,049 characters)");
    expect(problem).toContain(`sk=${JSON.stringify(SK)}`);
  });

  test("a sort key of 1024 bytes passes, 1025 fails", () => {
    expect(itemProblem(item({}, PK, "s".repeat(SORT_KEY_MAX_BYTES)))).toBeUndefined();
    expect(itemProblem(item({}, PK, "s".repeat(SORT_KEY_MAX_BYTES + 1)))).toStartWith("sort key sk is 1,025 bytes of UTF-8; DynamoDB allows at most 1,024");
  });

  test("key sizes count UTF-8 bytes, not characters: 3 per euro sign, 4 per emoji", () => {
    expect(itemProblem(item({}, PK, `${"€".repeat(341)}x`))).toBeUndefined(); // 1,024 bytes
    expect(itemProblem(item({}, PK, `${"€".repeat(341)}xx`))).toStartWith("sort key sk is 1,025 bytes");
    expect(itemProblem(item({}, PK, "😀".repeat(256)))).toBeUndefined(); // 1,024 bytes in 512 UTF-16 units
    expect(itemProblem(item({}, PK, `${"😀".repeat(256)}x`))).toStartWith("sort key sk is 1,025 bytes");
    expect(itemProblem(item({}, `${"é".repeat(1023)}xx`))).toBeUndefined(); // 2,048 bytes
    expect(itemProblem(item({}, `${"é".repeat(1024)}x`))).toStartWith("partition key pk is 2,049 bytes");
  });

  test("an empty, missing or non-string key fails", () => {
    expect(itemProblem(item({}, ""))).toStartWith("partition key pk is empty; DynamoDB refuses an empty key value");
    expect(itemProblem(item({}, PK, ""))).toStartWith("sort key sk is empty");
    expect(itemProblem({ sk: { S: SK } })).toStartWith("the item has no partition key pk");
    expect(itemProblem({ pk: { S: PK } })).toStartWith("the item has no sort key sk");
    expect(itemProblem({ pk: { N: "1" }, sk: { S: SK } })).toStartWith("partition key pk is not a String (S) attribute");
  });

  test("a key with a lone surrogate fails; one with a NUL passes", () => {
    expect(itemProblem(item({}, PK, "ab\ud800cd"))).toStartWith("sort key sk holds a lone UTF-16 surrogate at character 2");
    expect(itemProblem(item({}, PK, "a\u0000b"))).toBeUndefined();
  });

  test("a message quotes at most 80 characters of each key, escaped", () => {
    const problem = itemProblem(item({}, PK, `${"e".repeat(100_000)}\u0000`))!;
    expect(problem.length).toBeLessThan(400);
    expect(problem).toContain("(100,001 characters)");
  });
});

describe("itemProblem: item size", () => {
  function itemOfSize(bytes: number, name = "x"): Item {
    const padding = bytes - itemSizeBytes(item({ [name]: { S: "" } }));
    return item({ [name]: { S: "x".repeat(padding) } });
  }

  test("an item of exactly 400 KB (409,600 bytes by DynamoDB's rules) passes, one byte more fails", () => {
    expect(itemSizeBytes(itemOfSize(ITEM_MAX_BYTES))).toBe(409_600);
    expect(itemProblem(itemOfSize(ITEM_MAX_BYTES))).toBeUndefined();
    const problem = itemProblem(itemOfSize(ITEM_MAX_BYTES + 1));
    expect(problem).toStartWith('item is 409,601 bytes by DynamoDB\'s size rules (largest attribute "x": 409,518 bytes); DynamoDB allows at most 409,600 (400 KB) (key pk=');
  });

  test("attribute names count: the same item with a longer name is over", () => {
    const exact = itemOfSize(ITEM_MAX_BYTES, "xd");
    expect(itemProblem(exact)).toBeUndefined();
    const renamed = item({ xdd: exact.xd! });
    expect(itemProblem(renamed)).toStartWith("item is 409,601 bytes");
  });

  test("sizes follow the Developer Guide's rules for each type", () => {
    const base = itemSizeBytes(item());
    expect(base).toBe(2 + PK.length + 2 + SK.length);
    const size = (av: AttributeValue) => itemSizeBytes(item({ a: av })) - base - 1; // without the name "a"
    expect(size({ S: "héllo" })).toBe(6);
    expect(size({ N: "123" })).toBe(3); // ceil(3 / 2) + 1
    expect(size({ N: "000123.4500" })).toBe(4); // 5 significant digits: ceil(5 / 2) + 1
    expect(size({ N: "1E+100" })).toBe(2);
    expect(size({ N: "0" })).toBe(1);
    expect(size({ BOOL: true })).toBe(1);
    expect(size({ NULL: true })).toBe(1);
    expect(size({ B: new Uint8Array(10) })).toBe(10);
    expect(size({ L: [] })).toBe(3);
    expect(size({ L: [{ S: "ab" }, { BOOL: false }] })).toBe(3 + (2 + 1) + (1 + 1));
    expect(size({ M: { key: { S: "ab" } } })).toBe(3 + 3 + 2 + 1);
  });
});

describe("itemProblem: Numbers", () => {
  test("38 significant digits pass, 39 fail", () => {
    expect(itemProblem(withNumber("1234567890123456789012345678901234567.8"))).toBeUndefined();
    expect(itemProblem(withNumber("-12345678901234567890123456789012345678"))).toBeUndefined();
    expect(itemProblem(withNumber("123456789012345678901234567890123456789"))).toStartWith(
      'attribute "n" has N "123456789012345678901234567890123456789" with 39 significant digits; DynamoDB keeps at most 38',
    );
  });

  test("leading and trailing zeros are not significant", () => {
    expect(itemProblem(withNumber(`1${"0".repeat(40)}`))).toBeUndefined();
    expect(itemProblem(withNumber(`${"9".repeat(38)}000.000`))).toBeUndefined();
    expect(itemProblem(withNumber(`0.000${"7".repeat(38)}`))).toBeUndefined();
    expect(itemProblem(withNumber(`0.000${"7".repeat(39)}`))).toContain("with 39 significant digits");
  });

  test("magnitudes from 1E-130 to 9.99…E+125 pass; 1E-131 and 1E+126 fail, on either sign", () => {
    for (const ok of ["1E-130", "-1E-130", `0.${"0".repeat(129)}1`, `9.${"9".repeat(37)}E+125`, `-9.${"9".repeat(37)}e125`, "0E+999", "-0", "0.000"]) {
      expect({ ok, problem: itemProblem(withNumber(ok)) }).toEqual({ ok, problem: undefined });
    }
    for (const bad of ["1E-131", "-1E-131", `0.${"0".repeat(130)}1`, "1E+126", "-1E+126", `1${"0".repeat(126)}`, "1e999999999999999999"]) {
      expect({ bad, problem: itemProblem(withNumber(bad)) }).toEqual({ bad, problem: expect.stringContaining("outside DynamoDB's range (magnitude 1E-130 to 9.99…E+125)") });
    }
  });

  test("text that is not a number fails", () => {
    for (const bad of ["12abc", "NaN", "Infinity", "", "1e", "--1", "1.2.3", " 1"]) {
      expect({ bad, problem: itemProblem(withNumber(bad)) }).toEqual({ bad, problem: expect.stringContaining("which is not a number") });
    }
    for (const ok of ["58356.10", "1E-8", "1.5e+3", "007"]) expect({ ok, problem: itemProblem(withNumber(ok)) }).toEqual({ ok, problem: undefined });
  });
});

describe("itemProblem: nesting, strings and types", () => {
  test(`a scalar inside ${NESTING_MAX_LEVELS - 1} lists or maps (level ${NESTING_MAX_LEVELS}) passes, inside ${NESTING_MAX_LEVELS} fails`, () => {
    for (const kind of ["L", "M"] as const) {
      expect(itemProblem(item({ a: nested(kind, NESTING_MAX_LEVELS - 1) }))).toBeUndefined();
      expect(itemProblem(item({ a: nested(kind, NESTING_MAX_LEVELS) }))).toStartWith('attribute "a" nests deeper than 32 levels of lists/maps; DynamoDB allows at most 32');
    }
  });

  test("a lone surrogate anywhere in a string fails; a surrogate pair and a NUL pass", () => {
    expect(itemProblem(item({ s: { S: "x\udc00" } }))).toStartWith('attribute "s" holds a lone UTF-16 surrogate at character 1 (\\udc00), which has no UTF-8 form');
    expect(itemProblem(item({ s: { S: "\ud800" } }))).toContain("(\\ud800)");
    expect(itemProblem(item({ s: { S: "\ud83d\ude00\u0000" } }))).toBeUndefined();
    expect(itemProblem(item({ s: { L: [{ S: "ok" }, { S: "\ud800" }] } }))).toContain("lone UTF-16 surrogate");
    expect(itemProblem(item({ m: { M: { "\ud800": { S: "x" } } } }))).toContain("map key with a lone UTF-16 surrogate");
    expect(itemProblem(item({ "\ud800": { S: "x" } }))).toStartWith("an attribute name holds a lone UTF-16 surrogate");
  });

  test("an empty string passes outside the key; an empty attribute name fails", () => {
    expect(itemProblem(item({ s: { S: "" } }))).toBeUndefined();
    expect(itemProblem(item({ "": { S: "x" } }))).toStartWith("an attribute name is empty");
  });

  test("NULL must be true; sets must be non-empty and without duplicates; a value has exactly one type", () => {
    expect(itemProblem(item({ z: { NULL: true } }))).toBeUndefined();
    expect(itemProblem(item({ z: { NULL: false } }))).toContain("NULL other than true");
    expect(itemProblem(item({ s: { SS: ["a", "b"] } }))).toBeUndefined();
    expect(itemProblem(item({ s: { SS: [] } }))).toContain("empty SS");
    expect(itemProblem(item({ s: { SS: ["a", "a"] } }))).toContain("duplicate element");
    expect(itemProblem(item({ s: { NS: ["1", "1.0"] } }))).toContain("duplicate element");
    expect(itemProblem(item({ s: { NS: ["1", "10"] } }))).toBeUndefined();
    expect(itemProblem(item({ v: {} as AttributeValue }))).toContain("has no value type");
    expect(itemProblem(item({ v: { S: "a", N: "1" } as unknown as AttributeValue }))).toContain("more than one value type");
  });

  test("every item of the real fixture frames passes", () => {
    for (const frame of orderAndTradeFrames()) {
      const result = decodeFrame(frame, 1_788_551_766_927_713);
      if (result.kind !== "event") throw new Error(frame);
      expect({ frame, problem: itemProblem(encodeItem(result.event, 4)) }).toEqual({ frame, problem: undefined });
    }
  });
});
