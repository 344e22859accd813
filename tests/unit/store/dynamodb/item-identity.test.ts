import { describe, expect, test } from "bun:test";
import { isObcapError } from "../../../../src/base/errors.ts";
import type { Item } from "../../../../src/store/dynamodb/item.ts";
import { describeItemKey, itemKey } from "../../../../src/store/dynamodb/item-identity.ts";

describe("itemKey", () => {
  test("joins pk and sk with a NUL so no two keys collide", () => {
    expect(itemKey({ pk: { S: "a#b" }, sk: { S: "c" } })).toBe("a#b\u0000c");
    expect(itemKey({ pk: { S: "a" }, sk: { S: "b#c" } })).not.toBe(itemKey({ pk: { S: "a#b" }, sk: { S: "c" } }));
  });

  test("ignores every other attribute", () => {
    expect(itemKey({ pk: { S: "p" }, sk: { S: "s" }, rx: { N: "1" } })).toBe(itemKey({ pk: { S: "p" }, sk: { S: "s" }, rx: { N: "2" } }));
  });

  test("throws E_INTERNAL, naming the attributes, for an item without string pk and sk", () => {
    const items: Item[] = [{ sk: { S: "s" } }, { pk: { S: "p" } }, { pk: { N: "1" }, sk: { S: "s" } }];
    for (const item of items) {
      let caught: unknown;
      try {
        itemKey(item);
      } catch (err) {
        caught = err;
      }
      expect(isObcapError(caught) && caught.code).toBe("E_INTERNAL");
      expect((caught as Error).message).toContain(`attributes: ${Object.keys(item).join(", ")}`);
    }
  });
});

describe("describeItemKey", () => {
  test("shows pk and sk, with ? for a missing one, and never throws", () => {
    expect(describeItemKey({ pk: { S: "btcusd#orders#2026112707#3" }, sk: { S: "1764226800123456#42" } })).toBe(
      "pk=btcusd#orders#2026112707#3 sk=1764226800123456#42",
    );
    expect(describeItemKey({ pk: { N: "1" } })).toBe("pk=? sk=?");
    expect(describeItemKey(undefined)).toBe("(no item)");
  });
});
