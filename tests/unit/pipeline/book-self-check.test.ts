import { describe, expect, test } from "bun:test";
import { parseOrderBookSnapshot, type OrderBookSnapshot } from "../../../src/book/snapshot-schema.ts";
import { decodeFrame } from "../../../src/exchange/bitstamp/decode.ts";
import { BookSelfCheck, type SelfCheckOutcome } from "../../../src/pipeline/book-self-check.ts";
import { generateFramesIter } from "../../support/frame-generator.ts";
import { seededRandom } from "../../support/seeded-random.ts";

const PAIRS = ["btcusd", "ethusd"];

function snapshotOf(body: string): OrderBookSnapshot {
  const parsed = parseOrderBookSnapshot(body);
  if (!parsed.success) throw new Error(parsed.reason);
  return parsed.snapshot;
}

/**
 * Feeds a generated two-pair feed to the check the way the upload stage does: frames in receive order
 * (rx = exchange time + up to 20 ms), and every `every` frames a snapshot of one pair's true book whose
 * record comes `delayMicros` later (after the frames received meanwhile).
 */
function run(options: { seed: number; frames: number; every: number; delayMicros: (n: number) => number; withhold?: (frame: string) => boolean }): SelfCheckOutcome[] {
  const rand = seededRandom(options.seed);
  const gen = generateFramesIter({ pairs: PAIRS, countPerPair: options.frames, seed: options.seed, initialOrdersPerPair: 60 });
  const check = new BookSelfCheck();
  const outcomes: SelfCheckOutcome[] = [];
  const pending: { rx: number; pair: string; snapshot: OrderBookSnapshot }[] = [];
  let rx = 0;
  let n = 0;
  for (const frame of gen) {
    const micros = Number(/"microtimestamp":"(\d+)"/.exec(frame)![1]);
    rx = Math.max(rx + 1, micros + Math.floor(rand() * 20_000));
    while (pending.length > 0 && pending[0]!.rx <= rx) {
      const s = pending.shift()!;
      outcomes.push(check.onSnapshot(s.pair, s.snapshot, s.rx));
    }
    const decoded = decodeFrame(frame, rx);
    if (decoded.kind === "event" && decoded.event.stream === "orders" && !options.withhold?.(frame)) {
      check.onEvent({ pair: decoded.event.pair, event: decoded.event.event, data: decoded.event.data, rxMicros: rx });
    }
    if (++n % options.every === 0) {
      const pair = PAIRS[(n / options.every) % PAIRS.length]!;
      pending.push({ rx: rx + options.delayMicros(n), pair, snapshot: snapshotOf(gen.bookSnapshot(pair)!) });
      pending.sort((a, b) => a.rx - b.rx);
    }
  }
  return outcomes;
}

describe("the capture's book self-check", () => {
  test("a clean feed: each pair anchored once, then every snapshot equals the book (0 differences)", () => {
    const outcomes = run({ seed: 81, frames: 4000, every: 300, delayMicros: () => 150_000 });
    expect(outcomes.filter((o) => o.kind === "anchored").map((o) => o.pair).sort()).toEqual(["btcusd", "ethusd"]);
    const checked = outcomes.filter((o) => o.kind === "checked");
    expect(checked.length).toBeGreaterThanOrEqual(20);
    for (const o of checked) expect({ pair: o.pair, at: o.snapshotMicros, differences: o.kind === "checked" ? o.differences : -1 }).toEqual({ pair: o.pair, at: o.snapshotMicros, differences: 0 });
    expect(outcomes.some((o) => o.kind === "late")).toBe(false);
  });

  test("one order event withheld: the next snapshot of that pair names its order, the check after is clean again", () => {
    const gen = generateFramesIter({ pairs: PAIRS, countPerPair: 4000, seed: 82, initialOrdersPerPair: 60 });
    const frames = [...gen];
    const idOf = (f: string) => /"id_str":"(\d+)"/.exec(f)?.[1];
    const index = frames.findIndex((f, i) => i > 3000 && f.includes('"order_created"') && f.includes("live_orders_btcusd") && !frames.slice(i + 1).some((g) => g.includes(`"${idOf(f)}"`)));
    const withheld = frames[index]!;
    const outcomes = run({ seed: 82, frames: 4000, every: 300, delayMicros: () => 150_000, withhold: (f) => f === withheld });
    const micros = Number(/"microtimestamp":"(\d+)"/.exec(withheld)![1]);
    const btc = outcomes.filter((o) => o.pair === "btcusd" && o.kind === "checked");
    const firstAfter = btc.findIndex((o) => o.snapshotMicros >= micros);
    expect(firstAfter).toBeGreaterThan(0);
    const hit = btc[firstAfter]!;
    expect(hit.kind === "checked" && [hit.differences, hit.missing]).toEqual([1, [idOf(withheld)!]]);
    for (const o of btc.filter((_, i) => i !== firstAfter)) expect(o.kind === "checked" && o.differences).toBe(0);
  });

  test("a snapshot whose record comes after the book passed its time is `late`: not compared, the book goes on and later checks are clean", () => {
    const outcomes = run({ seed: 83, frames: 3000, every: 250, delayMicros: (n) => (n % 1000 === 0 ? 12_000_000 : 150_000) });
    const late = outcomes.filter((o) => o.kind === "late");
    expect(late.length).toBeGreaterThan(0);
    for (const o of late) expect(o.kind === "late" && o.bookMicros > o.snapshotMicros).toBe(true);
    for (const o of outcomes) if (o.kind === "checked") expect(o.differences).toBe(0);
  });

  test("after a gap the pair waits for the next snapshot to start again", () => {
    const check = new BookSelfCheck();
    const body = '{"timestamp":"1788551766","microtimestamp":"1788551766754717","bids":[["79715.38","0.06272315","2046839968690178"]],"asks":[["79728.11","0.18816587","2046839978831872"]]}';
    expect(check.onSnapshot("btcusd", snapshotOf(body), 1788551767000000).kind).toBe("anchored");
    expect(check.onSnapshot("btcusd", snapshotOf(body), 1788551767100000)).toMatchObject({ kind: "checked", differences: 0 });
    check.onGap("btcusd");
    expect(check.onSnapshot("btcusd", snapshotOf(body), 1788551768000000).kind).toBe("anchored");
  });
});
