/**
 * The fake Bitstamp exchange as its own process, for `make demo` and the benchmarks (so the capture and
 * the exchange do not share one event loop).
 *
 *   bun tests/support/fake-exchange-main.ts --port 0 --pairs btcusd,ethusd --count 5000 --rate 2000 [--loop] [--fixtures]
 *
 * Prints one JSON line `{"wsUrl":..,"restUrl":..,"port":..}` on stdout once listening. When the client
 * has subscribed (every live_orders/live_trades channel of --pairs, or any one of them plus --settle-ms),
 * it plays the real fixture frames of those pairs (--fixtures, channels unchanged: re-labelling a btcusd
 * frame as another pair would give it the wrong precision), then generated frames: --count per pair, or
 * endlessly with --loop, at --rate frames/s (0 = as fast as the socket drains). REST order_book answers
 * come from the generator's simulated book. Progress goes to stderr; SIGTERM/SIGINT stop it (exit 0).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { channelOf } from "./fake-exchange-protocol.ts";
import { startFakeExchange, type FakeExchange, type PlayResult } from "./fake-exchange.ts";
import { FrameGenerator } from "./frame-generator.ts";

/** Real frames in exchange-time order (2021 trades, 2022 order, 2026 orders and trade). */
const FIXTURE_FILES = [
  "cryptofeed_2021-04-17_ws_server.ndjson",
  "crypto-msg-parser_ws_raw.ndjson",
  "live_orders_2026-08-09_te_recorder_test.ndjson",
  "live_orders_2026-09-04_lob_decoder_test_with_recv_ns.ndjson",
];

const log = (line: string) => process.stderr.write(`[fake-exchange] ${line}\n`);

/** live_orders/live_trades lines of the fixtures for `pairs`, as the server sent them. */
function fixtureFrames(pairs: readonly string[]): string[] {
  const wanted = new Set(pairs.flatMap((p) => [`live_orders_${p}`, `live_trades_${p}`]));
  return FIXTURE_FILES.flatMap((file) =>
    readFileSync(new URL(`../fixtures/${file}`, import.meta.url), "utf8")
      .split("\n")
      // The recorder of that capture appended its own receive time; the server never sent it.
      .map((line) => line.replace(/,"_recv_ns":\d+\}$/, "}"))
      .filter((line) => wanted.has(channelOf(line) ?? "") && !/"event":\s*"bts:/.test(line)),
  );
}

function parseCli() {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      pairs: { type: "string", default: "btcusd" },
      count: { type: "string", default: "5000" },
      rate: { type: "string", default: "0" },
      seed: { type: "string", default: "1" },
      "start-ms": { type: "string" },
      "settle-ms": { type: "string", default: "1000" },
      loop: { type: "boolean", default: false },
      fixtures: { type: "boolean", default: false },
      "huge-ids": { type: "boolean", default: false },
      "no-trades": { type: "boolean", default: false },
      "no-deflate": { type: "boolean", default: false },
    },
    strict: true,
  });
  const int = (name: string, text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: expected a non-negative integer, got "${text}"`);
    return n;
  };
  const pairs = values.pairs.split(",").map((p) => p.trim().toLowerCase()).filter(Boolean);
  if (pairs.length === 0) throw new Error(`--pairs: expected url symbols such as btcusd,ethusd, got "${values.pairs}"`);
  return {
    port: int("port", values.port),
    pairs,
    count: int("count", values.count),
    ratePerSec: int("rate", values.rate),
    seed: int("seed", values.seed),
    startMs: values["start-ms"] === undefined ? Date.now() : int("start-ms", values["start-ms"]),
    settleMs: int("settle-ms", values["settle-ms"]),
    loop: values.loop,
    fixtures: values.fixtures,
    hugeIds: values["huge-ids"],
    trades: !values["no-trades"],
    perMessageDeflate: !values["no-deflate"],
  };
}

/** Waits (unbounded) for the first wanted subscription, then for the rest at most `settleMs`. */
async function waitForClient(fake: FakeExchange, channels: string[], settleMs: number): Promise<void> {
  const anySubscribed = () => fake.subscriptions().some((c) => channels.includes(c));
  while (!anySubscribed()) await fake.waitFor(anySubscribed, 3_600_000, "subscription").catch(() => undefined);
  await fake.whenSubscribed(channels, settleMs).catch(() => undefined);
}

async function main(): Promise<void> {
  const cli = parseCli();
  const generator = new FrameGenerator({
    pairs: cli.pairs,
    countPerPair: cli.loop ? Infinity : cli.count,
    seed: cli.seed,
    startMicros: cli.startMs * 1000,
    // Keep simulated exchange time close to wall time when paced.
    meanGapMs: cli.ratePerSec > 0 ? Math.max(1, 1000 / cli.ratePerSec) : 20,
    trades: cli.trades,
    hugeIds: cli.hugeIds,
  });
  const fake = await startFakeExchange({
    port: cli.port,
    orderBookBody: (pair) => generator.bookSnapshot(pair),
    recordSentFrames: false,
    perMessageDeflate: cli.perMessageDeflate,
  });
  const aborter = new AbortController();
  const shutdown = async (signal: string) => {
    log(`${signal}: stopping`);
    aborter.abort();
    await fake.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.stdout.write(`${JSON.stringify({ wsUrl: fake.wsUrl, restUrl: fake.restUrl, port: fake.port })}\n`);
  log(`listening on ${fake.wsUrl}; pairs ${cli.pairs.join(",")}, ${cli.loop ? "endless" : `${cli.count}/pair`}, rate ${cli.ratePerSec || "max"}/s`);

  const channels = cli.pairs.flatMap((p) => (cli.trades ? [`live_orders_${p}`, `live_trades_${p}`] : [`live_orders_${p}`]));
  await waitForClient(fake, channels, cli.settleMs);
  log(`client subscribed: ${fake.subscriptions().join(", ")}`);

  const total: PlayResult = { sent: 0, notSent: 0 };
  const startedMs = performance.now();
  let counted = 0;
  const counter = function* (frames: Iterable<string>) {
    for (const frame of frames) {
      counted++;
      yield frame;
    }
  };
  const progress = setInterval(() => {
    const seconds = (performance.now() - startedMs) / 1000;
    log(`played ${counted} frames in ${seconds.toFixed(1)} s (${Math.round(counted / seconds)}/s), connections ${fake.connections()}`);
  }, 2_000);
  for (const [name, frames] of [
    ["fixtures", cli.fixtures ? fixtureFrames(cli.pairs) : []],
    ["generated", generator],
  ] as const) {
    const result = await fake.play(counter(frames), { ratePerSec: cli.ratePerSec || undefined, signal: aborter.signal });
    total.sent += result.sent;
    total.notSent += result.notSent;
    if (name === "fixtures" && cli.fixtures) log(`fixture frames: ${result.sent} sent, ${result.notSent} not subscribed`);
  }
  clearInterval(progress);
  const seconds = (performance.now() - startedMs) / 1000;
  log(`done ${JSON.stringify({ ...total, seconds: Number(seconds.toFixed(3)) })}; serving until SIGTERM`);
}

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
