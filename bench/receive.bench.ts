/**
 * Receive benchmark: `bun bench/receive.bench.ts`. Prints human lines, then one JSON object of
 * figures on the last line (for BENCHMARKS.md). Runs in about half a minute.
 *
 * The fake exchange runs in its own process (tests/support/fake-exchange-main.ts) and plays generated
 * frames of 2 pairs (orders + trades, 4 channels, no permessage-deflate) as fast as the socket drains.
 * This process runs the real receive path of the capture:
 *
 *   Bun WebSocket (createBunSocket) -> connection (startFeedSupervisor, the capture's defaults:
 *   heartbeat 1 s, stale 3 s) -> onData -> FramePublisher -> RingProducer -> Worker
 *
 * with a Worker that only drains the ring (bench/ring-noop.worker.ts). The baseline runs the same
 * socket and supervisor with an onData that only counts: the receive ceiling of this test server and
 * Bun's client, with nothing behind it. The ratio of the two shows what the ring path costs.
 *
 * Main-thread time per frame: the socket handed to the supervisor is a thin wrapper whose `onmessage`
 * reads performance.now() before and after the connection's handler, so each sample covers everything
 * our code does for a frame on the main thread (receive-time clock, control check, onData, publish into
 * the ring), but not Bun's own frame parsing before the event. Samples go into a preallocated
 * Float64Array (no allocation while measuring). The wall time per frame (1 / rate) bounds the whole
 * cost, Bun's part included, while the main thread is saturated.
 *
 * Each mode runs REPEATS times (median), interleaved, after one short warm-up run per mode.
 */
import { nowMicros } from "../src/base/clock.ts";
import type { FeedSocket, SocketFactory } from "../src/runtime/ports.ts";
import { startFeedSupervisor } from "../src/exchange/bitstamp/feed-supervisor.ts";
import { FramePublisher } from "../src/queue/frame-publisher.ts";
import { createRing, RingProducer } from "../src/queue/ring.ts";
import { createBunSocket } from "../src/runtime/bun/websocket.ts";
import type { RingNoopReport } from "./ring-noop.worker.ts";
import { BENCH_PAIRS, collectGarbage, median, percentile, printResult, round, spawnFakeExchange } from "./harness.ts";

const COUNT_PER_PAIR = 150_000;
const WARMUP_COUNT_PER_PAIR = 20_000;
const REPEATS = 3;
/** The capture's default queue (--queue-mb 16). */
const RING_BYTES = 16 * 1024 * 1024;
const RUN_TIMEOUT_MS = 60_000;
const CHANNELS = BENCH_PAIRS.flatMap((p) => [`live_orders_${p}`, `live_trades_${p}`]);

type Mode = "ring" | "baseline";

interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  samples: number;
}

/** Percentiles in µs of samples in ms (sorts `ms` in place). */
function percentilesOf(ms: Float64Array): Percentiles {
  const sorted = ms.sort();
  const us = (v: number) => round(v * 1000, 2);
  return {
    p50: us(percentile(sorted, 50)),
    p90: us(percentile(sorted, 90)),
    p99: us(percentile(sorted, 99)),
    p999: us(percentile(sorted, 99.9)),
    max: us(sorted[sorted.length - 1] ?? NaN),
    samples: sorted.length,
  };
}

interface RunResult {
  mode: Mode;
  frames: number;
  bytes: number;
  framesPerSec: number;
  /** Main-thread time per frame in the connection's onmessage, µs, over the whole run. */
  handlerMicros: Percentiles;
  /** The same once the ring has wrapped (every page of it touched): the steady state of a long capture. */
  handlerMicrosAfterWrap: Percentiles;
  /** The same for the frames of the first pass over the fresh ring (its pages are faulted in). */
  handlerMicrosFirstPass: Percentiles;
  ring?: { consumerRecords: number; highWaterBytes: number; overflowedFrames: number; lostFrames: number };
}

/** Socket factory whose sockets time the connection's onmessage handler into `record` (ms). */
function timedSocketFactory(record: (elapsedMs: number) => void): SocketFactory {
  return (url: string): FeedSocket => {
    const socket = createBunSocket(url);
    let handler: FeedSocket["onmessage"] = null;
    return {
      get binaryType() {
        return socket.binaryType;
      },
      set binaryType(value) {
        socket.binaryType = value;
      },
      get readyState() {
        return socket.readyState;
      },
      get onopen() {
        return socket.onopen;
      },
      set onopen(value) {
        socket.onopen = value;
      },
      get onclose() {
        return socket.onclose;
      },
      set onclose(value) {
        socket.onclose = value;
      },
      get onerror() {
        return socket.onerror;
      },
      set onerror(value) {
        socket.onerror = value;
      },
      get onmessage() {
        return handler;
      },
      set onmessage(value) {
        handler = value;
        socket.onmessage =
          value === null
            ? null
            : (ev: MessageEvent) => {
                const t0 = performance.now();
                value(ev);
                record(performance.now() - t0);
              };
      },
      send: (data: string) => socket.send(data),
      close: (code?: number, reason?: string) => socket.close(code, reason),
      terminate: () => (socket.terminate ? socket.terminate() : socket.close()),
    };
  };
}

function startNoopWorker(): Worker {
  const worker = new Worker(new URL("./ring-noop.worker.ts", import.meta.url).href, { type: "module" });
  worker.onerror = (event) => {
    console.error(`ring-noop worker failed: ${event.message}`);
    process.exit(1);
  };
  return worker;
}

function nextMessage<T>(worker: Worker): Promise<T> {
  return new Promise((resolve) => {
    worker.onmessage = (event: MessageEvent<T>) => resolve(event.data);
  });
}

async function runOnce(mode: Mode, countPerPair: number): Promise<RunResult> {
  collectGarbage();
  const expected = countPerPair * BENCH_PAIRS.length;
  const samples = new Float64Array(expected);
  let sampleCount = 0;
  /** First sample after the frames so far fill the ring once (text bytes alone > ring: it has wrapped). */
  let wrapAtSample = -1;
  let measuring = false;
  let received = 0;
  let bytes = 0;
  let firstMs = 0;
  let lastMs = 0;
  const allIn = Promise.withResolvers<void>();

  let publisher: FramePublisher | undefined;
  let worker: Worker | undefined;
  let consumerDone: Promise<RingNoopReport> | undefined;
  if (mode === "ring") {
    const ring = createRing(RING_BYTES);
    publisher = new FramePublisher(new RingProducer(ring));
    worker = startNoopWorker();
    const ready = nextMessage<string>(worker);
    worker.postMessage({ ring });
    await ready;
    consumerDone = nextMessage<RingNoopReport>(worker);
  }
  const onFrame = (): void => {
    if (wrapAtSample < 0 && bytes > RING_BYTES) wrapAtSample = sampleCount + 1;
    if (received === 1) firstMs = performance.now();
    if (received === expected) {
      lastMs = performance.now();
      allIn.resolve();
    }
  };
  const onData =
    publisher === undefined
      ? (frame: string): void => {
          received++;
          bytes += frame.length;
          onFrame();
        }
      : (frame: string, rxMicros: number): void => {
          received++;
          bytes += frame.length;
          publisher.publish(frame, rxMicros);
          onFrame();
        };

  const fake = await spawnFakeExchange({ countPerPair, ratePerSec: 0 });
  const feed = startFeedSupervisor({
    url: fake.wsUrl,
    channels: CHANNELS,
    createSocket: timedSocketFactory((ms) => {
      if (measuring && sampleCount < samples.length) samples[sampleCount++] = ms;
    }),
    clock: nowMicros,
    // The capture's defaults (src/cli/capture.ts).
    subscribeTimeoutMs: 10_000,
    heartbeatMs: 1_000,
    staleMs: 3_000,
    reconnectMaxMs: 30_000,
    handlers: {
      onData,
      onBinary: () => allIn.reject(new Error("the fake exchange sent a binary frame")),
      onGap: (gap) => allIn.reject(new Error(`the connection had a gap: ${JSON.stringify(gap)}`)),
      onFatal: (error) => allIn.reject(error),
    },
    onEvent: (event) => {
      if (event.type === "lost") allIn.reject(new Error(`the connection was lost (${event.reason}: ${event.detail}); a run must be one connection`));
    },
  });
  try {
    await feed.ready;
    measuring = true;
    const timer = setTimeout(() => allIn.reject(new Error(`${mode}: ${received} of ${expected} frames within ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
    await allIn.promise.finally(() => clearTimeout(timer));
  } finally {
    measuring = false;
    feed.close();
    await fake.stop("SIGTERM");
  }

  let ring: RunResult["ring"];
  if (publisher && worker && consumerDone) {
    await publisher.close();
    const report = await consumerDone;
    worker.terminate();
    const stats = publisher.stats();
    if (report.records !== expected) throw new Error(`ring consumer saw ${report.records} records, expected ${expected}`);
    ring = {
      consumerRecords: report.records,
      highWaterBytes: stats.ringHighWaterBytes,
      overflowedFrames: stats.overflowed,
      lostFrames: stats.lostFrames,
    };
  }

  if (wrapAtSample < 0) wrapAtSample = sampleCount;
  return {
    mode,
    frames: received,
    bytes,
    framesPerSec: ((received - 1) * 1000) / (lastMs - firstMs),
    handlerMicrosFirstPass: percentilesOf(samples.slice(0, wrapAtSample)),
    handlerMicrosAfterWrap: percentilesOf(samples.slice(wrapAtSample, sampleCount)),
    handlerMicros: percentilesOf(samples.subarray(0, sampleCount)),
    ring,
  };
}

function describeRun(run: RunResult): string {
  const h = run.handlerMicros;
  const ring = run.ring ? `; ring high ${(run.ring.highWaterBytes / 1024).toFixed(0)} KiB, overflowed ${run.ring.overflowedFrames}, lost ${run.ring.lostFrames}` : "";
  return (
    `${run.mode.padEnd(8)} ${run.frames} frames (${Math.round(run.bytes / run.frames)} B avg): ${Math.round(run.framesPerSec).toLocaleString("en")} frames/s; ` +
    `handler p50 ${h.p50} µs, p99 ${h.p99} µs, p99.9 ${h.p999} µs, max ${h.max} µs ` +
    `(after the ring wrapped: p99 ${run.handlerMicrosAfterWrap.p99} µs of ${run.handlerMicrosAfterWrap.samples}; first pass p99 ${run.handlerMicrosFirstPass.p99} µs)${ring}`
  );
}

const started = performance.now();
console.log(`receive bench: fake exchange process at max rate, ${BENCH_PAIRS.join(",")} (${CHANNELS.length} channels), ${COUNT_PER_PAIR * BENCH_PAIRS.length} frames per run`);
for (const mode of ["baseline", "ring"] as const) console.log(`warm-up ${describeRun(await runOnce(mode, WARMUP_COUNT_PER_PAIR))}`);
const runs: Record<Mode, RunResult[]> = { baseline: [], ring: [] };
for (let r = 0; r < REPEATS; r++) {
  for (const mode of ["baseline", "ring"] as const) {
    const run = await runOnce(mode, COUNT_PER_PAIR);
    runs[mode].push(run);
    console.log(describeRun(run));
  }
}

/** Percentiles: the median over runs; max: the worst single frame of all runs. */
function combine(list: Percentiles[]) {
  const pick = (f: (p: Percentiles) => number) => median(list.map(f));
  return {
    p50: pick((p) => p.p50),
    p90: pick((p) => p.p90),
    p99: pick((p) => p.p99),
    p999: pick((p) => p.p999),
    max: Math.max(...list.map((p) => p.max)),
    runsP99: list.map((p) => p.p99),
    samplesPerRun: pick((p) => p.samples),
  };
}

function summarize(list: RunResult[]) {
  const pick = (f: (r: RunResult) => number) => median(list.map(f));
  const framesPerSec = pick((r) => r.framesPerSec);
  return {
    framesPerSec: Math.round(framesPerSec),
    runsFramesPerSec: list.map((r) => Math.round(r.framesPerSec)),
    wallMicrosPerFrame: round(1e6 / framesPerSec, 2),
    meanFrameBytes: Math.round(list[0]!.bytes / list[0]!.frames),
    handlerMicros: combine(list.map((r) => r.handlerMicros)),
    handlerMicrosAfterWrap: combine(list.map((r) => r.handlerMicrosAfterWrap)),
    handlerMicrosFirstPass: combine(list.map((r) => r.handlerMicrosFirstPass)),
  };
}

const baseline = summarize(runs.baseline);
const ring = summarize(runs.ring);
const ringRuns = runs.ring.map((r) => r.ring!);
const result = {
  bench: "receive",
  pairs: BENCH_PAIRS,
  channels: CHANNELS.length,
  framesPerRun: COUNT_PER_PAIR * BENCH_PAIRS.length,
  repeats: REPEATS,
  ringBytes: RING_BYTES,
  baseline,
  ring: {
    ...ring,
    highWaterBytes: Math.max(...ringRuns.map((r) => r.highWaterBytes)),
    overflowedFrames: Math.max(...ringRuns.map((r) => r.overflowedFrames)),
    lostFrames: ringRuns.reduce((s, r) => s + r.lostFrames, 0),
  },
  ringOverBaseline: round(ring.framesPerSec / baseline.framesPerSec, 3),
  targetHandlerP99Micros: 50,
  totalSeconds: round((performance.now() - started) / 1000, 1),
};
console.log(
  `median: baseline ${baseline.framesPerSec.toLocaleString("en")} frames/s, ring path ${ring.framesPerSec.toLocaleString("en")} frames/s ` +
    `(${(result.ringOverBaseline * 100).toFixed(1)}% of baseline); ring-path handler p50 ${ring.handlerMicros.p50} µs, p99 ${ring.handlerMicros.p99} µs, max ${ring.handlerMicros.max} µs`,
);
printResult(result);
process.exit(0);
