/**
 * The event_id / pre_event_id chain: continuity, duplicates (overlap, replay), breaks as gaps with the
 * right interval, and bounded memory. Chains come from the frame generator, which links every
 * live_orders event to the previous one of its channel as Bitstamp does.
 */
import { describe, expect, test } from "bun:test";
import { ChainTracker } from "../../../src/pipeline/chain-tracker.ts";
import { decodeFrame } from "../../../src/exchange/bitstamp/decode.ts";
import type { MarketEvent } from "../../../src/model/events.ts";
import { generateFrames } from "../../support/frame-generator.ts";

/** The generator's live_orders events of btcusd and ethusd, decoded. */
function orderEvents(countPerPair: number, seed: number): MarketEvent[] {
  return generateFrames({ pairs: ["btcusd", "ethusd"], countPerPair, seed, trades: false }).map((frame) => {
    const result = decodeFrame(frame, 0);
    if (result.kind !== "event") throw new Error(`not an event: ${frame}`);
    return result.event;
  });
}

const check = (tracker: ChainTracker, e: MarketEvent) => tracker.check(e.channel, e.eventId, e.preEventId, e.data.microtimestamp);

describe("ChainTracker", () => {
  test("finds every event of an unbroken chain ok, across interleaved channels", () => {
    const events = orderEvents(500, 1);
    expect(new Set(events.map((e) => e.channel)).size).toBe(2);
    const tracker = new ChainTracker();
    expect(events.map((e) => check(tracker, e).kind)).toEqual(events.map(() => "ok"));
  });

  test("reports a break with the last event's and the next event's microtimestamps", () => {
    const events = orderEvents(300, 2).filter((e) => e.channel === "live_orders_btcusd");
    const tracker = new ChainTracker();
    const missing = events.slice(100, 103);
    const verdicts = [...events.slice(0, 100), ...events.slice(103)].map((e) => check(tracker, e));
    const gaps = verdicts.filter((v) => v.kind === "gap");
    expect(gaps).toEqual([
      {
        kind: "gap",
        reason: "chain",
        startMicros: Number(events[99]!.data.microtimestamp),
        endMicros: Number(events[103]!.data.microtimestamp),
        missingEventId: missing.at(-1)!.eventId!,
      },
    ]);
    expect(verdicts.filter((v) => v.kind === "ok").length).toBe(events.length - 3 - 1);
  });

  test("calls an event seen again a duplicate and keeps the chain going (connection overlap)", () => {
    const events = orderEvents(200, 3).filter((e) => e.channel === "live_orders_ethusd");
    const tracker = new ChainTracker();
    const first = events.slice(0, 60).map((e) => check(tracker, e).kind);
    const again = events.slice(40, 60).map((e) => check(tracker, e).kind);
    const rest = events.slice(60).map((e) => check(tracker, e).kind);
    expect(first.every((k) => k === "ok")).toBe(true);
    expect(again.every((k) => k === "duplicate")).toBe(true);
    expect(rest.every((k) => k === "ok")).toBe(true);
  });

  test("accepts an event that chains to a recent one rather than the last (late copy)", () => {
    const events = orderEvents(100, 4).filter((e) => e.channel === "live_orders_btcusd");
    const tracker = new ChainTracker();
    for (const e of events.slice(0, 10)) check(tracker, e);
    // events[11] arrives before events[10]: its pre_event_id (events[10]) is unseen: a gap...
    expect(check(tracker, events[11]!).kind).toBe("gap");
    // ...then events[10], which chains to events[9] (recent), is ok, and so is what follows.
    expect(check(tracker, events[10]!).kind).toBe("ok");
    expect(events.slice(12).map((e) => check(tracker, e).kind).every((k) => k === "ok")).toBe(true);
  });

  test("does not check frames without event_id, and starts a chain at the first event of a channel", () => {
    const tracker = new ChainTracker();
    expect(tracker.check("live_trades_btcusd", undefined, undefined, "1")).toEqual({ kind: "ok" });
    expect(tracker.check("live_trades_btcusd", undefined, undefined, "2")).toEqual({ kind: "ok" });
    expect(tracker.channels).toBe(0);
    expect(tracker.check("live_orders_btcusd", "b", "a", "10")).toEqual({ kind: "ok" });
    expect(tracker.check("live_orders_btcusd", "c", "b", "11")).toEqual({ kind: "ok" });
  });

  test("remembers at most recentIds ids per channel, forgetting the oldest", () => {
    const tracker = new ChainTracker({ recentIds: 8 });
    for (let i = 1; i <= 1_000; i++) tracker.check("live_orders_btcusd", `e${i}`, `e${i - 1}`, i);
    expect(tracker.rememberedIds("live_orders_btcusd")).toBe(8);
    // e993..e1000 are remembered, e992 is forgotten: it is no longer recognised as a duplicate.
    expect(tracker.check("live_orders_btcusd", "e993", "e992", 993).kind).toBe("duplicate");
    expect(tracker.check("live_orders_btcusd", "e992", "e991", 992).kind).toBe("gap");
  });

  test("rejects a window that holds no id", () => {
    expect(() => new ChainTracker({ recentIds: 0 })).toThrow(RangeError);
  });
});
