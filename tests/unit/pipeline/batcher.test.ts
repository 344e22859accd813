import { describe, expect, test } from "bun:test";
import { Batcher, MAX_BATCH_ITEMS } from "../../../src/pipeline/batcher.ts";
import type { Item } from "../../../src/store/dynamodb/item.ts";

function item(pk: string, sk: string, value = "v"): Item {
  return { pk: { S: pk }, sk: { S: sk }, v: { S: value } };
}

describe("Batcher", () => {
  test("returns a batch of exactly 25 items when the 25th distinct key arrives", () => {
    const batcher = new Batcher();
    for (let i = 0; i < MAX_BATCH_ITEMS - 1; i++) expect(batcher.add(item("p", `s${i}`))).toBeUndefined();
    expect(batcher.size).toBe(24);
    const batch = batcher.add(item("p", "s24"));
    expect(batch?.length).toBe(25);
    expect(batch?.map((i) => i.sk?.S)).toEqual(Array.from({ length: 25 }, (_, i) => `s${i}`));
    expect(batcher.size).toBe(0);
    expect(batcher.batchesEmitted).toBe(1);
  });

  test("keeps the later copy of a key already in the open batch, in the first copy's place", () => {
    const batcher = new Batcher();
    batcher.add(item("p", "a", "first"));
    batcher.add(item("p", "b"));
    batcher.add(item("p", "a", "second"));
    expect(batcher.size).toBe(2);
    expect(batcher.duplicatesDropped).toBe(1);
    const batch = batcher.takeBatch();
    expect(batch?.map((i) => [i.sk?.S, i.v?.S])).toEqual([
      ["a", "second"],
      ["b", "v"],
    ]);
  });

  test("counts duplicates towards nothing but duplicatesDropped, so a batch still fills with 25 distinct keys", () => {
    const batcher = new Batcher();
    let batch: Item[] | undefined;
    for (let i = 0; i < 30 && !batch; i++) {
      batcher.add(item("p", "dup"));
      batch = batcher.add(item("p", `k${i}`));
    }
    expect(batch?.length).toBe(25);
    expect(new Set(batch?.map((i) => `${i.pk?.S}/${i.sk?.S}`)).size).toBe(25);
    expect(batcher.duplicatesDropped).toBe(23);
  });

  test("treats the same sk under another pk as a different key", () => {
    const batcher = new Batcher();
    batcher.add(item("p1", "s"));
    batcher.add(item("p2", "s"));
    expect(batcher.size).toBe(2);
    expect(batcher.duplicatesDropped).toBe(0);
  });

  test("does not confuse keys whose pk+sk concatenations are equal", () => {
    const batcher = new Batcher();
    batcher.add(item("ab", "c"));
    batcher.add(item("a", "bc"));
    expect(batcher.size).toBe(2);
  });

  test("dedupes only inside the open batch: a key may come back in the next batch", () => {
    const batcher = new Batcher({ maxItems: 2 });
    expect(batcher.add(item("p", "a"))).toBeUndefined();
    expect(batcher.add(item("p", "b"))?.length).toBe(2);
    expect(batcher.add(item("p", "a"))).toBeUndefined();
    expect(batcher.duplicatesDropped).toBe(0);
  });

  test("takeBatch returns the open partial batch once, then undefined", () => {
    const batcher = new Batcher();
    expect(batcher.takeBatch()).toBeUndefined();
    batcher.add(item("p", "a"));
    batcher.add(item("p", "b"));
    expect(batcher.takeBatch()?.length).toBe(2);
    expect(batcher.takeBatch()).toBeUndefined();
    expect(batcher.size).toBe(0);
  });

  test("reports the age of the open batch from its first item, by the injected clock", () => {
    let now = 1_000;
    const batcher = new Batcher({ nowMs: () => now });
    expect(batcher.openedAtMs).toBeUndefined();
    expect(batcher.oldestAgeMs()).toBe(0);
    batcher.add(item("p", "a"));
    now = 1_030;
    batcher.add(item("p", "b"));
    expect(batcher.openedAtMs).toBe(1_000);
    expect(batcher.oldestAgeMs()).toBe(30);
    expect(batcher.oldestAgeMs(1_050)).toBe(50);
    expect(batcher.takeIfLingered(50, 1_049)).toBeUndefined();
    expect(batcher.takeIfLingered(50, 1_050)?.length).toBe(2);
    expect(batcher.openedAtMs).toBeUndefined();
    now = 2_000;
    batcher.add(item("p", "c"));
    expect(batcher.openedAtMs).toBe(2_000);
  });

  test("rejects an item without string pk and sk", () => {
    const batcher = new Batcher();
    expect(() => batcher.add({ pk: { S: "p" } })).toThrow(/pk\/sk/);
    expect(() => batcher.add({ pk: { N: "1" }, sk: { S: "s" } })).toThrow(/pk\/sk/);
  });

  test("refuses a batch size outside 1..25", () => {
    expect(() => new Batcher({ maxItems: 26 })).toThrow(RangeError);
    expect(() => new Batcher({ maxItems: 0 })).toThrow(RangeError);
  });
});
