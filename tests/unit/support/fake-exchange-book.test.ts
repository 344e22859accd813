/**
 * The fake exchange's true book (tests/support/fake-exchange-book.ts): it starts from resting orders
 * never sent as events, follows every order frame, and answers the REST order book with the book at
 * that instant. Checked against the frame generator's own simulated book, and through the fake's HTTP
 * side (bids high to low, asks low to high, strings, the microtimestamp of the last change).
 */
import { describe, expect, test } from "bun:test";
import { compareDecimal, TrueBook } from "../../support/fake-exchange-book.ts";
import { startFakeExchange } from "../../support/fake-exchange.ts";
import { FrameGenerator } from "../../support/frame-generator.ts";
import { orderBookBody, orderFrame } from "../../support/frame-text.ts";

const PAIRS = ["btcusd", "ethusd"];

describe("TrueBook", () => {
  test("initial resting orders plus every order frame give the generator's book, after every frame", () => {
    const generator = new FrameGenerator({ pairs: PAIRS, countPerPair: 600, seed: 21, initialOrdersPerPair: 30 });
    const initial = Object.fromEntries(PAIRS.map((pair) => [pair, generator.bookSnapshot(pair)!]));
    const book = new TrueBook(initial);
    for (const pair of PAIRS) expect(book.body(pair)).toBe(initial[pair]!);
    let frames = 0;
    let changesAndDeletesOfRestingOrders = 0;
    const restingIds = new Set(PAIRS.flatMap((pair) => (JSON.parse(initial[pair]!) as { bids: string[][]; asks: string[][] }).bids.concat(JSON.parse(initial[pair]!).asks).map((r) => r[2]!)));
    // 50 frames at a time, to the end of a simulation step (the generator's book is that of its last step).
    for (let batch = generator.nextFrames(50); batch.length > 0; batch = generator.nextFrames(50)) {
      for (const frame of [...batch, ...generator.restOfStep()]) {
        book.observe(frame);
        frames++;
        const id = /"id_str":"(\d+)"/.exec(frame)?.[1];
        if (id !== undefined && restingIds.has(id) && /"event":"order_(changed|deleted)"/.test(frame)) changesAndDeletesOfRestingOrders++;
      }
      for (const pair of PAIRS) expect(book.body(pair)).toBe(generator.bookSnapshot(pair)!);
    }
    expect(frames).toBe(1200);
    for (const pair of PAIRS) expect(book.body(pair)).toBe(generator.bookSnapshot(pair)!);
    // The reason snapshots exist: the stream changes and deletes orders it never created.
    expect(changesAndDeletesOfRestingOrders).toBeGreaterThan(0);
  });

  test("bids go high to low and asks low to high by value, each level in arrival order; a price change moves an order to the back", () => {
    const book = new TrueBook({ btcusd: orderBookBody(1_000_000, [["99.5", "1", "1"], ["99.50", "2", "2"]], [["100.1", "3", "3"]]) });
    const frame = (event: "order_created" | "order_changed" | "order_deleted", id: number, side: 0 | 1, price: string, amount: string, micros: number) =>
      orderFrame({
        pair: "btcusd", event, id: BigInt(id), orderType: side, micros, amountStr: amount, amountTradedStr: "0", amountAtCreateStr: amount,
        priceStr: price, eventId: "e", preEventId: "p", exponentNumbers: false,
      });
    book.observe(frame("order_created", 4, 0, "100.00", "4", 2_000_000));
    book.observe(frame("order_changed", 1, 0, "99.5", "0.5", 3_000_000)); // same price: keeps its place
    book.observe(frame("order_created", 5, 1, "100.1", "5", 4_000_000));
    book.observe(frame("order_changed", 3, 1, "100.2", "3", 5_000_000)); // new price: back of its new level
    book.observe(frame("order_deleted", 2, 0, "99.50", "2", 6_000_000));
    book.observe(frame("order_deleted", 99, 0, "1", "1", 7_000_000)); // unknown: nothing to remove
    expect(book.body("btcusd")).toBe(orderBookBody(7_000_000, [["100.00", "4", "4"], ["99.5", "0.5", "1"]], [["100.1", "5", "5"], ["100.2", "3", "3"]]));
  });

  test("compares decimals by value, not as text", () => {
    expect(compareDecimal("100", "99.99")).toBeGreaterThan(0);
    expect(compareDecimal("64839", "64839.00")).toBe(0);
    expect(compareDecimal("0.1", "0.09")).toBeGreaterThan(0);
  });
});

test("the fake exchange answers GET order_book/<pair>/?group=2 with the true book of that instant, and logs what it served", async () => {
  const generator = new FrameGenerator({ pairs: ["btcusd"], countPerPair: 200, seed: 5 });
  const initial = generator.bookSnapshot("btcusd")!;
  await using fake = await startFakeExchange({ trueBook: { initial: { btcusd: initial } } });
  const get = async (query: string) => (await fetch(`${fake.restUrl}/api/v2/order_book/btcusd/${query}`)).text();
  expect(await get("?group=2&_=1")).toBe(initial);
  const frames = generator.nextFrames(200);
  await fake.play(frames); // nobody subscribed: the book changes all the same
  expect(await get("?group=2&_=2")).toBe(generator.bookSnapshot("btcusd")!);
  expect(fake.trueBook!.servedBooks().map((s) => [s.path, s.body, s.framesBefore])).toEqual([
    ["/api/v2/order_book/btcusd/?group=2&_=1", initial, 0],
    ["/api/v2/order_book/btcusd/?group=2&_=2", generator.bookSnapshot("btcusd")!, frames.filter((f) => f.includes('"live_orders_btcusd"')).length],
  ]);
  // A pair the exchange does not list is still nginx's 404.
  expect((await fetch(`${fake.restUrl}/api/v2/order_book/nosuchpair/?group=2`)).status).toBe(404);
});
