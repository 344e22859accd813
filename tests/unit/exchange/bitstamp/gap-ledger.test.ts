/**
 * The gap ledger alone: which channels a lost connection leaves uncovered, from when, and the gap
 * each gets when it is covered again or the capture stops.
 */
import { describe, expect, test } from "bun:test";
import { GapLedger } from "../../../../src/exchange/bitstamp/gap-ledger.ts";
import type { FeedGap } from "../../../../src/model/gap-record.ts";

const ORDERS = "live_orders_btcusd";
const TRADES = "live_trades_btcusd";
const CHANNELS = [ORDERS, TRADES];
const NOW = 9_000_000;

/** A connection as the ledger sees it: when each channel was acknowledged, and its last frames. */
function carrier(acks: Record<string, number>, lastFrameMicros: number, lastDataFrame?: string) {
  return {
    subscribedAtMicros: (channel: string) => acks[channel],
    lastFrameMicros: () => lastFrameMicros,
    lastDataFrame: () => lastDataFrame,
  };
}

function ledger() {
  const gaps: FeedGap[] = [];
  return { gaps, ledger: new GapLedger(CHANNELS, () => NOW, (gap) => gaps.push(gap)) };
}

describe("GapLedger", () => {
  test("a lost connection's channels are uncovered from its last frame until each is acknowledged again", () => {
    const { gaps, ledger: l } = ledger();
    l.uncover(carrier({ [ORDERS]: 1, [TRADES]: 1 }, 5_000_000), undefined, "dropped");
    expect(gaps).toEqual([]);
    l.covered(TRADES, 6_000_000);
    l.covered(ORDERS, 6_500_000);
    l.covered(ORDERS, 7_000_000); // already covered: no second gap
    expect(gaps).toEqual([
      { channel: TRADES, startMicros: 5_000_000, endMicros: 6_000_000, reason: "dropped" },
      { channel: ORDERS, startMicros: 5_000_000, endMicros: 6_500_000, reason: "dropped" },
    ]);
  });

  test("a channel the other live connection carries, or the lost one never had, is not uncovered", () => {
    const { gaps, ledger: l } = ledger();
    l.uncover(carrier({ [ORDERS]: 1, [TRADES]: 1 }, 5_000_000), carrier({ [TRADES]: 2 }, 5_000_000), "closed");
    l.uncover(carrier({}, 5_000_000), undefined, "stale");
    l.endAll(NOW);
    expect(gaps).toEqual([{ channel: ORDERS, startMicros: 5_000_000, endMicros: NOW, reason: "closed" }]);
  });

  test("the gap starts at the last event's exchange time when it is earlier than its receive time", () => {
    const { gaps, ledger: l } = ledger();
    const frame = '{"data":{"microtimestamp":"4000000"},"channel":"live_trades_btcusd","event":"trade"}';
    l.uncover(carrier({ [TRADES]: 1 }, 5_000_000, frame), undefined, "stale");
    l.covered(TRADES, 6_000_000);
    expect(gaps).toEqual([{ channel: TRADES, startMicros: 4_000_000, endMicros: 6_000_000, reason: "stale" }]);
  });

  test("a connection that received nothing is uncovered from now", () => {
    const { gaps, ledger: l } = ledger();
    l.uncover(carrier({ [ORDERS]: 1 }, 0), undefined, "dropped");
    l.covered(ORDERS, NOW + 1);
    expect(gaps).toEqual([{ channel: ORDERS, startMicros: NOW, endMicros: NOW + 1, reason: "dropped" }]);
  });

  test("an undrained switch leaves a stale gap up to each new acknowledgement that is later than the old last frame", () => {
    const { gaps, ledger: l } = ledger();
    l.undrained(carrier({}, 5_000_000), carrier({ [ORDERS]: 5_500_000, [TRADES]: 4_000_000 }, 0));
    expect(gaps).toEqual([{ channel: ORDERS, startMicros: 5_000_000, endMicros: 5_500_000, reason: "stale" }]);
  });

  test("endAll reports every channel still uncovered once", () => {
    const { gaps, ledger: l } = ledger();
    l.uncover(carrier({ [ORDERS]: 1, [TRADES]: 1 }, 5_000_000), undefined, "dropped");
    l.endAll(NOW);
    l.endAll(NOW + 1);
    expect(gaps.map((g) => [g.channel, g.endMicros])).toEqual([[ORDERS, NOW], [TRADES, NOW]]);
  });
});
