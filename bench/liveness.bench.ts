/**
 * Liveness benchmark: `bun bench/liveness.bench.ts`. Prints human lines, then one JSON object of
 * figures on the last line (for BENCHMARKS.md). Runs in about a minute and a half.
 *
 * The real feed supervisor (src/exchange/bitstamp/feed-supervisor.ts) with Bun's WebSocket client,
 * the capture's defaults (--heartbeat-ms 1000, --stale-ms 3000) and 4 channels (2 pairs, orders and
 * trades), against the fake exchange in this process. RUNS runs of each, median reported:
 *
 * - detection: the exchange stops answering heartbeats (no data either, TCP open). Measured from the
 *   last frame the connection received (the watchdog's own reference: ideally exactly --stale-ms)
 *   and from the moment the exchange went silent (what an operator sees: between --stale-ms minus
 *   one heartbeat interval and --stale-ms). Silence starts at a random point of the heartbeat cycle.
 * - reconnect: the exchange drops TCP without a close frame; from the drop to every channel
 *   acknowledged on the new connection (the gap's length), and from the loss being noticed to that.
 * - switch: bts:request_reconnect; from the notice to the old connection closed, everything on the
 *   new one (make-before-break, no gap).
 *
 * `stableMs: 0` so that every loss is the first of its series (immediate reconnect, no backoff):
 * the runs follow each other faster than the capture's default stability window (--stale-ms).
 */
import { nowMicros } from "../src/base/clock.ts";
import { startFeedSupervisor, type FeedEvent, type FeedSupervisor } from "../src/exchange/bitstamp/feed-supervisor.ts";
import { createBunSocket } from "../src/runtime/bun/websocket.ts";
import { startFakeExchange, type FakeExchange } from "../tests/support/fake-exchange.ts";
import { BENCH_PAIRS, median, printResult, round } from "./harness.ts";

const RUNS = 20;
const HEARTBEAT_MS = 1_000;
/** How late the last frame before a silence may be received after the silence began (an answer in flight). */
const IN_FLIGHT_US = 50_000;
const STALE_MS = 3_000;
const WAIT_MS = 15_000;
const CHANNELS = BENCH_PAIRS.flatMap((p) => [`live_orders_${p}`, `live_trades_${p}`]);

interface Watched {
  supervisor: FeedSupervisor;
  events: FeedEvent[];
  next<T extends FeedEvent["type"]>(type: T, after: number): Promise<Extract<FeedEvent, { type: T }> & { atMs: number }>;
}

/** A supervisor whose events are kept with their arrival time (performance.now()). */
async function watch(fake: FakeExchange): Promise<Watched> {
  const events: (FeedEvent & { atMs: number })[] = [];
  const waiters = new Set<() => void>();
  const supervisor = startFeedSupervisor({
    url: fake.wsUrl,
    channels: CHANNELS,
    createSocket: createBunSocket,
    clock: nowMicros,
    subscribeTimeoutMs: 10_000,
    heartbeatMs: HEARTBEAT_MS,
    staleMs: STALE_MS,
    reconnectMaxMs: 30_000,
    stableMs: 0,
    handlers: { onData() {}, onBinary() {}, onGap() {}, onFatal: (error) => console.error(error.message) },
    onEvent(event) {
      events.push({ ...event, atMs: performance.now() });
      for (const check of [...waiters]) check();
    },
  });
  await supervisor.ready;
  return {
    supervisor,
    events,
    next(type, after) {
      type Found = Extract<FeedEvent, { type: typeof type }> & { atMs: number };
      const find = () => events.slice(after).find((e) => e.type === type) as Found | undefined;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} event within ${WAIT_MS} ms`)), WAIT_MS);
        const check = () => {
          const found = find();
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

const heartbeatsAnswered = (fake: FakeExchange) => fake.clientFrames().filter((f) => f.includes("bts:heartbeat")).length;

function summary(values: readonly number[]): { median: number; min: number; max: number } {
  return { median: round(median(values), 1), min: round(Math.min(...values), 1), max: round(Math.max(...values), 1) };
}

await using fake = await startFakeExchange({ recordSentFrames: false });
const w = await watch(fake);

const fromLastFrameMs: number[] = [];
const fromSilenceMs: number[] = [];
for (let run = 0; run < RUNS; run++) {
  // Start the silence at a random point of the heartbeat cycle, after at least one answer.
  const answered = heartbeatsAnswered(fake);
  await fake.waitFor(() => heartbeatsAnswered(fake) > answered, WAIT_MS, "a heartbeat");
  await Bun.sleep(Math.random() * HEARTBEAT_MS);
  const before = w.events.length;
  fake.configure({ ignoreHeartbeat: true });
  const silentAtMs = performance.now();
  const silentAtMicros = nowMicros();
  const lost = await w.next("lost", before);
  fake.configure({ ignoreHeartbeat: false });
  const gap = await w.next("gap", before);
  fromLastFrameMs.push((lost.atMicros - gap.gap.startMicros) / 1000);
  fromSilenceMs.push(lost.atMs - silentAtMs);
  // The gap starts at the last frame received: a heartbeat answer already on its way when the
  // silence began may arrive a moment after it (one run of `make bench` failed on that). Later is a wrong gap.
  if (lost.reason !== "stale" || gap.gap.startMicros > silentAtMicros + IN_FLIGHT_US) throw new Error(`run ${run}: unexpected ${JSON.stringify({ lost, gap, silentAtMicros })}`);
  await w.next("connected", before);
  console.log(`detection ${run + 1}/${RUNS}: ${fromLastFrameMs.at(-1)!.toFixed(1)} ms after the last frame, ${fromSilenceMs.at(-1)!.toFixed(1)} ms after the silence began`);
}

const afterDropMs: number[] = [];
const afterNoticeMs: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const before = w.events.length;
  const droppedAtMs = performance.now();
  fake.dropConnections();
  const connected = await w.next("connected", before);
  const lost = await w.next("lost", before);
  afterDropMs.push(connected.atMs - droppedAtMs);
  afterNoticeMs.push(connected.atMs - lost.atMs);
  console.log(`reconnect ${run + 1}/${RUNS}: subscribed again ${afterDropMs.at(-1)!.toFixed(1)} ms after the drop`);
}

const switchMs: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const before = w.events.length;
  const askedAtMs = performance.now();
  fake.requestReconnect();
  const finished = await w.next("overlap-finished", before);
  if (w.events.slice(before).some((e) => e.type === "gap" || e.type === "lost")) throw new Error(`switch ${run}: a gap or loss during make-before-break`);
  switchMs.push(finished.atMs - askedAtMs);
  console.log(`switch ${run + 1}/${RUNS}: ${switchMs.at(-1)!.toFixed(1)} ms`);
}
w.supervisor.close();

const result = {
  bench: "liveness",
  runs: RUNS,
  channels: CHANNELS.length,
  heartbeatMs: HEARTBEAT_MS,
  staleMs: STALE_MS,
  detectionFromLastFrameMs: summary(fromLastFrameMs),
  detectionFromSilenceMs: summary(fromSilenceMs),
  reconnectAfterDropMs: summary(afterDropMs),
  reconnectAfterNoticeMs: summary(afterNoticeMs),
  requestReconnectSwitchMs: summary(switchMs),
};
console.log(
  `detection: median ${result.detectionFromLastFrameMs.median} ms after the last frame (--stale-ms ${STALE_MS}), ` +
    `${result.detectionFromSilenceMs.median} ms after the exchange went silent; reconnect after a TCP drop: median ` +
    `${result.reconnectAfterDropMs.median} ms; make-before-break switch: median ${result.requestReconnectSwitchMs.median} ms`,
);
printResult(result);
process.exit(0);
