/**
 * Decode + item benchmark: `bun bench/decode.bench.ts`. Prints human lines, then one JSON object of
 * figures on the last line (for BENCHMARKS.md). Runs in a few seconds.
 *
 * Frames (generated in the exact byte layout of the real 2026 frames, tests/support/frame-generator.ts):
 * - fast path: 16-digit ids, plain numbers (what btcusd sends today): read by the layout parser
 *   (frame-layouts.ts) and encoded by the item templates (item-templates.ts);
 * - exact path: 19-digit ids above 2^53 and Python exponent numbers (`6.112e-05`): reviver path,
 *   valibot-backed shape check and the table-driven item encoder.
 * For each: decodeFrame alone, decodeFrame + encodeItem (the upload stage's per-frame work), and
 * decodeItem (export). Each figure is the median of 5 runs over the whole set, after a warm-up.
 */
import { hasRiskyNumberToken } from "../src/base/exact-json.ts";
import { parseKnownLayout } from "../src/exchange/bitstamp/frame-layouts.ts";
import { decodeFrame } from "../src/exchange/bitstamp/decode.ts";
import type { MarketEvent } from "../src/model/events.ts";
import { encodeItem } from "../src/store/dynamodb/event-item.ts";
import { decodeItem } from "../src/store/dynamodb/item-decoder.ts";
import type { Item } from "../src/store/dynamodb/item.ts";
import { generateFrames } from "../tests/support/frame-generator.ts";

const FRAMES = 50_000;
const REPEATS = 5;
const SHARDS = 4;

/** Full GC between runs when the runtime offers one (Bun.gc), so one run does not pay for another's garbage. */
function collectGarbage(): void {
  (globalThis as { Bun?: { gc(force: boolean): void } }).Bun?.gc(true);
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Frames per second of `work` over all frames, median of REPEATS runs after one warm-up run. */
function rate<T>(inputs: readonly T[], work: (input: T) => unknown): number {
  const runs: number[] = [];
  let sink = 0;
  for (let r = 0; r <= REPEATS; r++) {
    collectGarbage(); // start each run with a clean heap: the generator and earlier runs leave garbage
    const start = performance.now();
    for (const input of inputs) if (work(input) !== undefined) sink++;
    const seconds = (performance.now() - start) / 1000;
    if (r > 0) runs.push(inputs.length / seconds);
  }
  if (sink === 0) throw new Error("nothing decoded");
  return Math.round(median(runs));
}

function eventOf(frame: string): MarketEvent {
  const result = decodeFrame(frame, 1);
  if (result.kind !== "event") throw new Error(`bench frame is not an event: ${frame.slice(0, 120)}`);
  return result.event;
}

function measure(name: string, frames: string[]): Record<string, number> {
  const bytes = new TextEncoder();
  const encoded = frames.map((f) => bytes.encode(f));
  const items: Item[] = frames.map((f) => encodeItem(eventOf(f), SHARDS));
  const risky = frames.filter(hasRiskyNumberToken).length;
  const known = frames.filter((f) => parseKnownLayout(f) !== undefined).length;
  const figures = {
    frames: frames.length,
    exactPathShare: Number((risky / frames.length).toFixed(3)),
    knownLayoutShare: Number((known / frames.length).toFixed(3)),
    meanFrameBytes: Math.round(encoded.reduce((s, b) => s + b.length, 0) / encoded.length),
    decodePerSec: rate(encoded, (b) => decodeFrame(b, 1)),
    decodeEncodeItemPerSec: rate(encoded, (b) => {
      const result = decodeFrame(b, 1);
      return result.kind === "event" ? encodeItem(result.event, SHARDS) : undefined;
    }),
    decodeItemPerSec: rate(items, decodeItem),
  };
  console.log(
    `${name}: ${figures.frames} frames of ~${figures.meanFrameBytes} B (exact path ${(figures.exactPathShare * 100).toFixed(0)}%, ` +
      `layout parser ${(figures.knownLayoutShare * 100).toFixed(0)}%): ` +
      `decode ${figures.decodePerSec.toLocaleString("en")}/s, decode+encodeItem ${figures.decodeEncodeItemPerSec.toLocaleString("en")}/s, ` +
      `decodeItem ${figures.decodeItemPerSec.toLocaleString("en")}/s`,
  );
  return figures;
}

const fast = generateFrames({ pairs: ["btcusd", "ethusd", "usdteur"], countPerPair: Math.ceil(FRAMES / 3) });
const exact = generateFrames({ pairs: ["btcusd", "ethusd", "usdteur"], countPerPair: Math.ceil(FRAMES / 3), hugeIds: true, exponentNumbers: true });

const result = {
  bench: "decode",
  runtime: typeof Bun !== "undefined" ? `bun ${Bun.version}` : "unknown",
  fastPath: measure("fast path ", fast),
  exactPath: measure("exact path", exact),
};
console.log(JSON.stringify(result));
