/** Per-channel counting for the metrics: exchange frames only, under the channel they name. */
import { describe, expect, test } from "bun:test";
import { decodeFrame } from "../../../src/exchange/bitstamp/decode.ts";
import { countChannelFrame, emptyPipelineStats } from "../../../src/pipeline/pipeline-stats.ts";
import { bookFrames, controlFrames, orderAndTradeFrames } from "../../support/fixtures.ts";
import { generateFrames } from "../../support/frame-generator.ts";

/** The channel a frame names, read with a regex (the code under test must not be the oracle). */
function channelOf(frame: string): string {
  return /"channel":\s*"([^"]*)"/.exec(frame)![1]!;
}

describe("countChannelFrame", () => {
  test("counts generated order and trade frames per channel, with the latest receive time", () => {
    const frames = generateFrames({ pairs: ["btcusd", "ethusd"], countPerPair: 200, seed: 9 });
    const stats = emptyPipelineStats();
    const expected: Record<string, { frames: number; lastRxMicros: number }> = {};
    frames.forEach((frame, i) => {
      const rxMicros = 1_000_000 + i;
      countChannelFrame(stats, decodeFrame(frame, rxMicros), rxMicros);
      const channel = channelOf(frame);
      expected[channel] = { frames: (expected[channel]?.frames ?? 0) + 1, lastRxMicros: rxMicros };
    });
    expect(Object.keys(expected).length).toBe(4);
    expect({ ...stats.channels }).toEqual(expected);
  });

  test("counts recorded frames of every kind the exchange sends: events, control, book channels", () => {
    const frames = [...orderAndTradeFrames(), ...controlFrames(), ...bookFrames()];
    const stats = emptyPipelineStats();
    for (const frame of frames) countChannelFrame(stats, decodeFrame(frame, 1), 1);
    const total = Object.values(stats.channels ?? {}).reduce((a, c) => a + c.frames, 0);
    expect(total).toBe(frames.length);
  });

  test("leaves rejected frames out: they name no channel anyone can trust", () => {
    const stats = emptyPipelineStats();
    for (const frame of ["not json{", '{"event":"trade"}', "[]"]) {
      const decoded = decodeFrame(frame, 1);
      expect(decoded.kind).toBe("invalid");
      countChannelFrame(stats, decoded, 1);
    }
    expect(stats.channels).toBeUndefined();
  });

  test("a channel named __proto__ is an ordinary entry, not the prototype", () => {
    const stats = emptyPipelineStats();
    const frame = '{"data":{},"channel":"__proto__","event":"something_new"}';
    countChannelFrame(stats, decodeFrame(frame, 5), 5);
    countChannelFrame(stats, decodeFrame(frame, 6), 6);
    expect(Object.entries(stats.channels!)).toEqual([["__proto__", { frames: 2, lastRxMicros: 6 }]]);
    expect(({} as Record<string, unknown>).frames).toBeUndefined();
  });
});
