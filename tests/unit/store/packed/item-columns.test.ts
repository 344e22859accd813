/**
 * The packed body (item columns): every item comes back exactly, whatever its attributes; the same
 * items give the same bytes; a damaged body is a RangeError, never a wrong item or a hang.
 * Invariant attacked: decode(encode(items)) deep-equals items, for generated event items of every
 * frame layout and for hostile ones (key parts that look like other columns, `#` and U+0000 in
 * values, surrogates, absent attributes, huge and negative numbers, values that repeat another
 * column in some rows only).
 */
import { describe, expect, test } from "bun:test";
import { decodeFrame } from "../../../../src/exchange/bitstamp/decode.ts";
import { encodeItem } from "../../../../src/store/dynamodb/event-item.ts";
import type { Item } from "../../../../src/store/dynamodb/item.ts";
import { decodeItemColumns, encodeItemColumns } from "../../../../src/store/packed/item-columns.ts";
import { FrameGenerator, type OrderFormat } from "../../../support/frame-generator.ts";
import { orderAndTradeFrames } from "../../../support/fixtures.ts";
import { seededRandom } from "../../../support/seeded-random.ts";

function generatedItems(seed: number, orderFormat: OrderFormat, count = 400): Item[] {
  const items: Item[] = [];
  let rx = 1_788_551_771_000_000;
  for (const frame of new FrameGenerator({ pairs: ["btcusd", "ethusd"], countPerPair: count, seed, orderFormat })) {
    const decoded = decodeFrame(frame, (rx += 700));
    if (decoded.kind === "event") items.push(encodeItem(decoded.event, 4));
  }
  return items;
}

function roundTrips(items: Item[]): Uint8Array {
  const body = encodeItemColumns(items);
  expect(decodeItemColumns(body)).toEqual(items);
  return body;
}

describe("item columns: round trip", () => {
  for (const format of ["2026", "2022"] as const) {
    test(`generated ${format} order and trade items, in windows of 1 to 400, come back exactly`, () => {
      for (const seed of [1, 2, 3]) {
        const items = generatedItems(seed, format);
        for (const size of [1, 2, 7, 40, 400]) for (let i = 0; i < items.length; i += size) roundTrips(items.slice(i, i + size));
      }
    });
  }

  test("the recorded fixture frames' items come back exactly", () => {
    const items = orderAndTradeFrames().flatMap((f, i) => {
      const decoded = decodeFrame(f, 1_700_000_000_000_000 + i);
      return decoded.kind === "event" ? [encodeItem(decoded.event, 4)] : [];
    });
    expect(items.length).toBeGreaterThan(10);
    roundTrips(items);
  });

  test("no items: an empty body that decodes to none", () => {
    expect(decodeItemColumns(encodeItemColumns([]))).toEqual([]);
  });

  test("hostile values: #, U+0000, empty, surrogate pairs, newlines, 38-digit and negative numbers, NULL and BOOL", () => {
    const items: Item[] = [
      { pk: { S: "a#b##c#" }, sk: { S: "#" }, x: { S: "\u0000pk0" }, n: { N: "-5" }, e: { NULL: true } },
      { pk: { S: "" }, sk: { S: "😀#😀" }, x: { S: "😀" }, n: { N: "99999999999999999999999999999999999999" }, b: { BOOL: true } },
      { pk: { S: "a#b" }, sk: { S: "1#2#3#4#5#6#7#8#9#10#11" }, x: { S: "line\nline\ttab" }, n: { N: "0" }, b: { BOOL: false } },
      { sk: { S: "only sk" }, n: { N: "1E+125" }, s: { S: "\ud83d\ude00" } },
      { other: { S: "nothing else" } },
    ];
    roundTrips(items);
  });

  test("a column that repeats another one in only some rows, or the row before, keeps the others", () => {
    const rand = seededRandom(9);
    const items: Item[] = [];
    let chain = "x0";
    for (let i = 0; i < 300; i++) {
      const id = String(1_000_000 + Math.floor(rand() * 1e6));
      const next = rand() < 0.8 ? `x${i + 1}` : `y${i}`;
      items.push({
        id: { N: id },
        is: { S: rand() < 0.7 ? id : `${id}0` },
        ei: { S: next },
        pe: { S: rand() < 0.9 ? chain : "other" },
        ...(rand() < 0.3 ? {} : { opt: { N: rand() < 0.5 ? id : "-1" } }),
      });
      chain = next;
    }
    roundTrips(items);
  });

  test("integers with leading zeros or signs, and integers of 20+ digits, are not taken for deltas wrongly", () => {
    const values = ["0", "007", "12", "-3", "18446744073709551616", "18446744073709551615", "1", "00", "123456789012345678901234567890"];
    roundTrips(values.map((v) => ({ v: { N: v }, s: { S: v } })));
  });
});

describe("item columns: determinism", () => {
  test("the same items give the same bytes; attributes in another key order give the same items back", () => {
    const items = generatedItems(5, "2026");
    const a = encodeItemColumns(items);
    const b = encodeItemColumns(items.map((item) => ({ ...item })));
    expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
    const reordered = items.map((item) => Object.fromEntries(Object.entries(item).reverse()));
    expect(decodeItemColumns(encodeItemColumns(reordered))).toEqual(items);
  });
});

describe("item columns: what cannot be packed or read", () => {
  test("a map, a list or a binary attribute is refused with the attribute's name", () => {
    expect(() => encodeItemColumns([{ m: { M: {} } }])).toThrow(/attribute "m" is not a scalar/);
    expect(() => encodeItemColumns([{ l: { L: [] } }])).toThrow(/attribute "l" is not a scalar/);
  });

  test("a lone surrogate is refused (UTF-8 has no form for it; item-limits.ts keeps such items out)", () => {
    expect(() => encodeItemColumns([{ s: { S: "a\ud83d" } }])).toThrow(/attribute "s" holds a lone UTF-16 surrogate/);
  });

  test("an attribute name starting with U+0000 is refused", () => {
    expect(() => encodeItemColumns([{ "\u0000pk0": { S: "x" } }])).toThrow(/starts with U\+0000/);
  });

  test("a body of another version asks for an upgrade", () => {
    const body = encodeItemColumns(generatedItems(1, "2026", 10));
    body[0] = 2;
    expect(() => decodeItemColumns(body)).toThrow(/version 2.*upgrade obcap/);
  });

  test("every truncation and 2,000 random byte changes give a RangeError or items, never another error or a hang", () => {
    const body = encodeItemColumns(generatedItems(2, "2026", 30));
    for (let cut = 0; cut < body.length; cut++) expect(() => decodeItemColumns(body.subarray(0, cut))).toThrow(RangeError);
    const rand = seededRandom(4);
    for (let i = 0; i < 2000; i++) {
      const damaged = body.slice();
      for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) damaged[Math.floor(rand() * damaged.length)] = Math.floor(rand() * 256);
      try {
        decodeItemColumns(damaged);
      } catch (err) {
        if (!(err instanceof RangeError)) throw err;
      }
    }
  });
});
