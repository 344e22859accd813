/** The records that open a run: a restart gap per channel the previous run captured, else a start marker. */
import { describe, expect, test } from "bun:test";
import { runStartRecords } from "../../../src/capture/run-start.ts";
import { RECORD_KIND } from "../../../src/queue/frame-publisher.ts";

const CHANNELS = ["live_orders_btcusd", "live_trades_btcusd", "live_orders_ethusd"];
const ack = (channel: string) => ({ live_orders_btcusd: 2_000, live_trades_btcusd: 2_100 })[channel as "live_orders_btcusd"];
const records = (previous: Parameters<typeof runStartRecords>[0]["previous"]) =>
  runStartRecords({ channels: CHANNELS, previous, startMicros: 1_500 }, ack, 3_000).map((r) => ({ kind: r.kind, rx: r.rxMicros, record: JSON.parse(r.payload as string) }));

describe("runStartRecords", () => {
  test("a first run: a start marker per channel at its subscription (now, if never acknowledged)", () => {
    expect(records(undefined).map((r) => [r.record.channels[0], r.record.data])).toEqual([
      ["live_orders_btcusd", { start_us: "2000", end_us: "2000", reason: "start" }],
      ["live_trades_btcusd", { start_us: "2100", end_us: "2100", reason: "start" }],
      ["live_orders_ethusd", { start_us: "3000", end_us: "3000", reason: "start" }],
    ]);
  });

  test("after a previous run: restart gaps from its end for the channels it captured, start markers for the others", () => {
    const r = records({ endMicros: 1_000, segment: "s", channels: ["live_orders_btcusd", "live_trades_btcusd"] });
    expect(r.map((x) => [x.record.channels[0], x.record.data])).toEqual([
      ["live_orders_btcusd", { start_us: "1000", end_us: "2000", reason: "restart" }],
      ["live_trades_btcusd", { start_us: "1000", end_us: "2100", reason: "restart" }],
      ["live_orders_ethusd", { start_us: "3000", end_us: "3000", reason: "start" }],
    ]);
  });

  test("unknown previous channels (a journal of an older obcap): a restart gap for every channel", () => {
    expect(records({ endMicros: 1_000, segment: "s" }).every((r) => r.record.data.reason === "restart")).toBe(true);
  });

  test("they are own records received at the run's start, before any frame of the run", () => {
    for (const r of records(undefined)) expect({ kind: r.kind, rx: r.rx }).toEqual({ kind: RECORD_KIND.own, rx: 1_500 });
  });
});
