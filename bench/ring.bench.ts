/**
 * Ring benchmark: `bun bench/ring.bench.ts`. Prints human lines, then one JSON object of figures
 * on the last line (for BENCHMARKS.md). Runs in well under 30 s.
 *
 * 1. Ring throughput: 200-byte text frames pushed with tryPushText from the main thread into a
 *    16 MiB ring (the capture default), drained by a Worker that only counts (bench/ring-noop.worker.ts).
 * 2. The same frames sent with plain postMessage to a Worker that counts (bench/postmessage-noop.worker.ts).
 * 3. Producer cost of one tryPushText, timed in batches of 1,000 while a Worker drains concurrently,
 *    and in one thread (push a batch, drain it untimed).
 * Single runs on a shared machine are noisy: each throughput figure is the median of 3 runs.
 */
import { createRing, RingConsumer, RingProducer } from "../src/queue/ring.ts";
import type { RingNoopReport } from "./ring-noop.worker.ts";

const FRAME_CHARS = 200;
const RING_BYTES = 16 * 1024 * 1024;
const RING_RECORDS = 5_000_000;
const POST_RECORDS = 500_000;
const REPEATS = 3;
const BATCH_PUSHES = 1000;
const BATCHES = 2000;

/** 64 distinct 200-character frames shaped like Bitstamp order events. */
const FRAMES = Array.from({ length: 64 }, (_, i) => {
  const head = `{"data":{"id":${1_900_000_000_000 + i},"amount_str":"0.01000000","price_str":"58356.${i}","order_type":${i & 1},"microtimestamp":"17600000000${i}"},"channel":"live_orders_btcusd","event":"order_created","pad":"`;
  return head + "x".repeat(FRAME_CHARS - head.length - 2) + '"}';
});

function startWorker(file: string): Worker {
  const worker = new Worker(new URL(file, import.meta.url).href, { type: "module" });
  worker.onerror = (event) => {
    console.error(`${file} failed: ${event.message}`);
    process.exit(1);
  };
  return worker;
}

/** Resolves with the next message of `worker`. */
function nextMessage<T>(worker: Worker): Promise<T> {
  return new Promise((resolve) => {
    worker.onmessage = (event: MessageEvent<T>) => resolve(event.data);
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Pushes `records` frames to a no-op Worker consumer; returns records/s and the consumer's report. */
async function ringThroughput(records: number): Promise<{ recordsPerSec: number; mbPerSec: number; fullSpins: number; report: RingNoopReport }> {
  const ring = createRing(RING_BYTES);
  const producer = new RingProducer(ring);
  const worker = startWorker("./ring-noop.worker.ts");
  const ready = nextMessage<string>(worker);
  worker.postMessage({ ring });
  await ready;
  const done = nextMessage<RingNoopReport>(worker);
  let fullSpins = 0;
  const t0 = performance.now();
  for (let i = 0; i < records; i++) {
    const frame = FRAMES[i & 63] as string;
    while (!producer.tryPushText(frame, i)) fullSpins++; // the consumer is another thread
  }
  producer.close();
  const report = await done;
  const seconds = (performance.now() - t0) / 1000;
  worker.terminate();
  if (report.records !== records) throw new Error(`ring consumer saw ${report.records} records, expected ${records}`);
  return { recordsPerSec: records / seconds, mbPerSec: report.bytes / seconds / 1e6, fullSpins, report };
}

/** Posts `records` frames as strings to a counting Worker; returns records/s until it has them all. */
async function postMessageThroughput(records: number): Promise<number> {
  const worker = startWorker("./postmessage-noop.worker.ts");
  const done = nextMessage<{ records: number }>(worker);
  worker.postMessage({ expect: records });
  const t0 = performance.now();
  for (let i = 0; i < records; i++) worker.postMessage(FRAMES[i & 63]);
  const report = await done;
  const seconds = (performance.now() - t0) / 1000;
  worker.terminate();
  if (report.records !== records) throw new Error(`postMessage worker saw ${report.records} records, expected ${records}`);
  return records / seconds;
}

interface PushCost {
  p50Ns: number;
  p99Ns: number;
  maxNs: number;
  batches: number;
  batchesThatHitFull: number;
}

function summarize(perPushNs: number[], batchesThatHitFull: number): PushCost {
  const sorted = [...perPushNs].sort((a, b) => a - b);
  return { p50Ns: percentile(sorted, 50), p99Ns: percentile(sorted, 99), maxNs: sorted.at(-1) as number, batches: sorted.length, batchesThatHitFull };
}

/** Per-push cost in batches while a Worker drains concurrently (batches that met a full ring are left out). */
async function pushCostConcurrent(): Promise<PushCost> {
  const ring = createRing(RING_BYTES);
  const producer = new RingProducer(ring);
  const worker = startWorker("./ring-noop.worker.ts");
  const ready = nextMessage<string>(worker);
  worker.postMessage({ ring });
  await ready;
  const done = nextMessage<RingNoopReport>(worker);
  const perPushNs: number[] = [];
  let hitFull = 0;
  for (let b = 0, i = 0; b < BATCHES; b++) {
    let full = false;
    const t0 = performance.now();
    for (const end = i + BATCH_PUSHES; i < end; i++) {
      if (!producer.tryPushText(FRAMES[i & 63] as string, i)) {
        full = true;
        i--;
      }
    }
    const elapsedNs = (performance.now() - t0) * 1e6;
    if (full) hitFull++;
    else perPushNs.push(elapsedNs / BATCH_PUSHES);
  }
  producer.close();
  await done;
  worker.terminate();
  return summarize(perPushNs, hitFull);
}

/** Per-push cost in one thread: each batch goes into an empty ring, then is drained untimed. */
function pushCostSingleThread(): PushCost {
  const ring = createRing(RING_BYTES);
  const producer = new RingProducer(ring);
  const consumer = new RingConsumer(ring);
  const perPushNs: number[] = [];
  const noop = (): void => {};
  for (let b = 0, i = 0; b < BATCHES; b++) {
    const t0 = performance.now();
    for (const end = i + BATCH_PUSHES; i < end; i++) producer.tryPushText(FRAMES[i & 63] as string, i);
    perPushNs.push(((performance.now() - t0) * 1e6) / BATCH_PUSHES);
    consumer.drain(noop);
  }
  return summarize(perPushNs, 0);
}

const started = performance.now();
console.log(`ring bench: ${FRAME_CHARS}-byte frames, ring ${RING_BYTES / 1024 / 1024} MiB, ${navigator.hardwareConcurrency} CPUs, ${navigator.userAgent}`);

await ringThroughput(300_000); // warm-up: JIT and page faults of a fresh ring
const ringRuns = [];
for (let r = 0; r < REPEATS; r++) ringRuns.push(await ringThroughput(RING_RECORDS));
const ringRecordsPerSec = median(ringRuns.map((r) => r.recordsPerSec));
const ringMbPerSec = median(ringRuns.map((r) => r.mbPerSec));
for (const run of ringRuns) {
  console.log(`ring: ${(run.recordsPerSec / 1e6).toFixed(2)} M records/s, ${run.mbPerSec.toFixed(0)} MB/s (producer spins on full ring: ${run.fullSpins}, consumer idle waits: ${run.report.idleWaits})`);
}

await postMessageThroughput(50_000); // warm-up
const postRuns = [];
for (let r = 0; r < REPEATS; r++) postRuns.push(await postMessageThroughput(POST_RECORDS));
const postMessageRecordsPerSec = median(postRuns);
console.log(`postMessage: ${postRuns.map((v) => (v / 1e6).toFixed(2)).join(", ")} M records/s`);

const concurrent = await pushCostConcurrent();
const singleThread = pushCostSingleThread();
const fmt = (c: PushCost) => `p50 ${c.p50Ns.toFixed(0)} ns, p99 ${c.p99Ns.toFixed(0)} ns, max ${c.maxNs.toFixed(0)} ns per push (${c.batches} batches of ${BATCH_PUSHES}${c.batchesThatHitFull ? `, ${c.batchesThatHitFull} left out: ring full` : ""})`;
console.log(`tryPushText with a Worker draining: ${fmt(concurrent)}`);
console.log(`tryPushText in one thread:          ${fmt(singleThread)}`);

const ratio = ringRecordsPerSec / postMessageRecordsPerSec;
const target = 1_000_000;
console.log(`ring median ${(ringRecordsPerSec / 1e6).toFixed(2)} M/s vs postMessage median ${(postMessageRecordsPerSec / 1e6).toFixed(2)} M/s: ${ratio.toFixed(1)}x; target >= 1 M/s ${ringRecordsPerSec >= target ? "met" : "NOT met"}`);
console.log(
  JSON.stringify({
    bench: "ring",
    frameBytes: FRAME_CHARS,
    ringBytes: RING_BYTES,
    cpus: navigator.hardwareConcurrency,
    runtime: navigator.userAgent,
    ringRecordsPerSec: Math.round(ringRecordsPerSec),
    ringMBPerSec: Math.round(ringMbPerSec),
    ringRunsRecordsPerSec: ringRuns.map((r) => Math.round(r.recordsPerSec)),
    postMessageRecordsPerSec: Math.round(postMessageRecordsPerSec),
    postMessageRunsRecordsPerSec: postRuns.map(Math.round),
    ringOverPostMessage: Number(ratio.toFixed(2)),
    pushNsConcurrent: { p50: round1(concurrent.p50Ns), p99: round1(concurrent.p99Ns), max: round1(concurrent.maxNs), batchesLeftOut: concurrent.batchesThatHitFull },
    pushNsSingleThread: { p50: round1(singleThread.p50Ns), p99: round1(singleThread.p99Ns), max: round1(singleThread.maxNs) },
    targetRecordsPerSec: target,
    targetMet: ringRecordsPerSec >= target,
    totalSeconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  }),
);

function round1(value: number): number {
  return Number(value.toFixed(1));
}
