/**
 * src/book/snapshot-diff.ts: the self-check names exactly the orders that differ, by value. The
 * generated-stream version (a consistent stream gives zero differences, a withheld event gives
 * exactly its order) is in snapshot-alignment.test.ts.
 */
import { expect, test } from "bun:test";
import { L3Book } from "../../../src/book/l3-book.ts";
import type { OrderBookSnapshot } from "../../../src/book/snapshot-schema.ts";

const MICROS = 1_788_551_766_754_717;

function snapshot(bids: [string, string, string][], asks: [string, string, string][]): OrderBookSnapshot {
  return { timestamp: "1788551766", microtimestamp: String(MICROS), bids, asks };
}

function book(...orders: [id: string, side: "bid" | "ask", price: string, amount: string][]): L3Book {
  const b = new L3Book();
  for (const [id, side, price, amount] of orders) b.upsertOrder(id, side, price, amount, MICROS);
  return b;
}

test("a book equal to the snapshot by value has no difference, whatever the spelling", () => {
  const b = book(["1", "bid", "58356.1", "0.1"], ["2", "ask", "58400", "1E-8"]);
  const diff = b.diffAgainstSnapshot(snapshot([["58356.10", "0.10000000", "1"]], [["58400.00", "0.00000001", "2"]]));
  expect(diff).toEqual({ count: 0, missing: [], extra: [], different: [] });
});

test("names each missing, extra and different order, with the fields that differ", () => {
  const b = book(
    ["1", "bid", "100.00", "1"], // amount differs
    ["2", "bid", "99.00", "1"], // price differs
    ["3", "ask", "101.00", "1"], // side differs
    ["4", "ask", "102.00", "1"], // extra
    ["10", "ask", "102.00", "1"], // extra (sorted by id as a number)
    ["5", "bid", "98.00", "2"], // equal
  );
  const diff = b.diffAgainstSnapshot(
    snapshot(
      [["100.00", "0.5", "1"], ["98.50", "1", "2"], ["101.00", "1", "3"], ["98.00", "2.0", "5"], ["97.00", "3", "6"]],
      [],
    ),
  );
  expect(diff.count).toBe(6);
  expect(diff.missing).toEqual([{ id: "6", side: "bid", price: "97.00", amount: "3" }]);
  expect(diff.extra.map((o) => o.id)).toEqual(["4", "10"]);
  expect(diff.different.map((d) => [d.id, d.fields])).toEqual([["1", ["amount"]], ["2", ["price"]], ["3", ["side"]]]);
  expect(diff.different[0]!.book).toEqual({ id: "1", side: "bid", price: "100.00", amount: "1", timeMicros: MICROS });
  expect(diff.different[0]!.snapshot).toEqual({ id: "1", side: "bid", price: "100.00", amount: "0.5" });
});

test("a zero-amount row counts as absent, and a repeated id counts once (last row wins)", () => {
  const b = book(["1", "bid", "100", "2"]);
  const diff = b.diffAgainstSnapshot(snapshot([["100", "1", "1"], ["100", "2", "1"], ["99", "0.00000000", "7"]], []));
  expect(diff.count).toBe(0);
});
