/**
 * The full-queue policy of FramePublisher, with a manual clock and timers: the consumer side is
 * drained by hand in the same thread, so every state (ring full, overflow full, drained) is set up
 * exactly and no test depends on speed.
 */
import { describe, expect, test } from "bun:test";
import {
  decodeLoss, FramePublisher, RECORD_KIND, type FramePublisherOptions, type LossInfo, type LossRun, type OversizeInfo, type PublisherTimers, type QueueRecord,
} from "../../../src/queue/frame-publisher.ts";
import { createRing, RingConsumer, RingProducer } from "../../../src/queue/ring.ts";

const RING_BYTES = 64 * 1024;

/** Timers that only fire when the test advances the clock. */
class ManualTimers implements PublisherTimers {
  nowMs = 0;
  readonly #pending = new Map<number, { callback: () => void; dueMs: number }>();
  #nextId = 1;

  setTimeout(callback: () => void, delayMs: number): unknown {
    const id = this.#nextId++;
    this.#pending.set(id, { callback, dueMs: this.nowMs + delayMs });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  advance(ms: number): void {
    this.nowMs += ms;
    for (;;) {
      const due = [...this.#pending].filter(([, t]) => t.dueMs <= this.nowMs).sort((a, b) => a[1].dueMs - b[1].dueMs)[0];
      if (!due) return;
      this.#pending.delete(due[0]);
      due[1].callback();
    }
  }
}

/** A ~200-byte frame that names its sequence number. */
function frame(seq: number): string {
  return `{"seq":${seq},"data":"${"x".repeat(180)}"}`;
}

function setup(options: FramePublisherOptions = {}) {
  const ring = createRing(RING_BYTES);
  const timers = new ManualTimers();
  const losses: LossInfo[] = [];
  const oversize: OversizeInfo[] = [];
  const publisher = new FramePublisher(new RingProducer(ring), {
    timers,
    nowMs: () => timers.nowMs,
    onLoss: (info) => losses.push(info),
    onOversize: (info) => oversize.push(info),
    ...options,
  });
  const consumer = new RingConsumer(ring);
  const decoder = new TextDecoder();
  /** Frames taken out of the ring so far, decoded. */
  const received: Array<{ text: string; rxMicros: number }> = [];
  /** Every record taken out of the ring, in order: frames, own records, loss markers. */
  const records: Array<{ kind: number; text: string; rxMicros: number; loss?: LossRun }> = [];
  const drain = (maxRecords?: number): number =>
    consumer.drain((bytes, rxMicros, kind) => {
      if (kind === RECORD_KIND.loss) {
        records.push({ kind, text: "", rxMicros, loss: decodeLoss(bytes) });
        return;
      }
      const entry = { kind, text: decoder.decode(bytes), rxMicros };
      records.push(entry);
      if (kind === RECORD_KIND.frame) received.push({ text: entry.text, rxMicros });
    }, maxRecords);
  return { publisher, consumer, timers, losses, oversize, received, records, drain };
}

/** Publishes frames seq from..to-1 with rxMicros = seq. */
function publishRange(publisher: FramePublisher, from: number, to: number): void {
  for (let seq = from; seq < to; seq++) publisher.publish(frame(seq), seq);
}

function seqs(received: Array<{ rxMicros: number }>): number[] {
  return received.map((r) => r.rxMicros);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

describe("FramePublisher", () => {
  test("writes frames straight into the ring while it has room", () => {
    const { publisher, received, drain } = setup();
    publishRange(publisher, 0, 10);
    expect(publisher.stats()).toMatchObject({ published: 10, overflowed: 0, overflowDepthFrames: 0, lostFrames: 0 });
    drain();
    expect(received.map((r) => r.text)).toEqual(range(0, 10).map(frame));
  });

  test("keeps frames in the overflow, in order, while the ring is full, and moves them on later publishes", () => {
    const { publisher, received, drain, timers } = setup();
    publishRange(publisher, 0, 1000);
    const full = publisher.stats();
    expect(full.overflowDepthFrames).toBeGreaterThan(0);
    expect(full.published + full.overflowDepthFrames).toBe(1000);
    expect(full.overflowed).toBe(full.overflowDepthFrames);
    expect(full.overflowBytes).toBe(full.overflowHighWaterBytes);
    expect(timers.pendingCount).toBe(1);
    // The consumer frees some space; each new frame first moves older ones, then queues behind them.
    for (let seq = 1000; seq < 1400; seq++) {
      drain(1);
      publisher.publish(frame(seq), seq);
    }
    expect(publisher.stats().overflowDepthFrames).toBeGreaterThan(0);
    while (publisher.stats().overflowDepthFrames > 0) {
      drain();
      timers.advance(2);
    }
    drain();
    expect(seqs(received)).toEqual(range(0, 1400));
    expect(publisher.stats()).toMatchObject({ published: 1400, lostFrames: 0 });
  });

  test("a small frame that would fit in the ring does not overtake a bigger one waiting in the overflow", () => {
    const { publisher, received, drain, timers } = setup();
    publishRange(publisher, 0, 400); // the ring is full, a few frames wait
    const { overflowDepthFrames } = publisher.stats();
    while (publisher.stats().overflowDepthFrames > 0) {
      drain(1);
      timers.advance(2);
    }
    expect(overflowDepthFrames).toBeGreaterThan(0);
    publisher.publish(`{"big":"${"b".repeat(5000)}"}`, 400);
    drain(2); // frees ~450 bytes: enough for a small frame, not for the big one
    publisher.publish(frame(401), 401);
    while (publisher.stats().overflowDepthFrames > 0) {
      drain();
      timers.advance(2);
    }
    drain();
    expect(seqs(received)).toEqual(range(0, 402));
  });

  test("moves the overflow into the ring on its timer when no frame arrives, then disarms the timer", () => {
    const { publisher, received, drain, timers } = setup({ retryIntervalMs: 5 });
    publishRange(publisher, 0, 1000);
    while (publisher.stats().overflowDepthFrames > 0) {
      expect(timers.pendingCount).toBe(1);
      drain();
      timers.advance(5);
    }
    expect(timers.pendingCount).toBe(0);
    drain();
    expect(seqs(received)).toEqual(range(0, 1000));
    expect(publisher.stats()).toMatchObject({ published: 1000, overflowDepthFrames: 0, overflowBytes: 0, lostFrames: 0 });
  });

  test("drops and counts frames once the overflow is full, reporting the episode when it starts, every second, and when it ends", () => {
    const { publisher, received, drain, timers, losses } = setup({ overflowBytes: 10_000 });
    publishRange(publisher, 0, 500);
    const atFirstLoss = publisher.stats();
    expect(atFirstLoss.lostFrames).toBeGreaterThan(0);
    expect(atFirstLoss.overflowBytes).toBeLessThanOrEqual(10_000);
    expect(losses.map((l) => l.phase)).toEqual(["started"]); // one report, not one per frame
    const firstLost = atFirstLoss.published + atFirstLoss.overflowDepthFrames;
    expect(losses[0]).toMatchObject({ lostFrames: 1, firstLostRxMicros: firstLost, lastLostRxMicros: firstLost });

    timers.nowMs += 999;
    publisher.publish(frame(500), 500);
    expect(losses.length).toBe(1);
    timers.nowMs += 1;
    publisher.publish(frame(501), 501);
    expect(losses.map((l) => l.phase)).toEqual(["started", "continuing"]);
    expect(losses[1]).toMatchObject({ firstLostRxMicros: firstLost, lastLostRxMicros: 501 });

    while (publisher.stats().overflowDepthFrames > 0) {
      drain();
      timers.advance(2);
    }
    const lostCount = 502 - firstLost;
    const lostBytes = range(firstLost, 502).reduce((sum, seq) => sum + frame(seq).length, 0);
    expect(losses.map((l) => l.phase)).toEqual(["started", "continuing", "ended"]);
    expect(losses[2]).toMatchObject({ lostFrames: lostCount, lostBytes, firstLostRxMicros: firstLost, lastLostRxMicros: 501 });
    expect(publisher.stats()).toMatchObject({ lostFrames: lostCount, lostBytes });
    drain();
    // Everything before the gap arrived, in order, and nothing inside it.
    expect(seqs(received)).toEqual(range(0, firstLost));
  });

  test("with no overflow, frames are lost as soon as the ring is full and the episode ends when the ring takes one again", () => {
    const { publisher, received, records, drain, losses } = setup({ overflowBytes: 0 });
    publishRange(publisher, 0, 400);
    const { published, lostFrames } = publisher.stats();
    expect(published + lostFrames).toBe(400);
    expect(lostFrames).toBeGreaterThan(0);
    drain();
    publisher.publish(frame(400), 400);
    expect(losses.map((l) => l.phase)).toEqual(["started", "ended"]);
    expect(losses[1]).toMatchObject({ firstLostRxMicros: published, lastLostRxMicros: 399, lostFrames });
    drain();
    expect(seqs(received)).toEqual([...range(0, published), 400]);
    // The frame after the drops comes behind a loss marker that covers exactly them.
    const marker = records.findIndex((r) => r.kind === RECORD_KIND.loss);
    expect(records[marker]!.loss).toEqual({ firstRxMicros: published, lastRxMicros: 399, frames: lostFrames, bytes: range(published, 400).reduce((n, seq) => n + frame(seq).length, 0) });
    expect(records[marker + 1]).toMatchObject({ kind: RECORD_KIND.frame, rxMicros: 400 });
  });

  test("counts oversize frames and reports their first 200 characters without queueing them, whether or not the overflow is empty", () => {
    const { publisher, received, drain, oversize } = setup();
    const huge = "y".repeat(20_000);
    publisher.publish(huge, 1);
    publishRange(publisher, 10, 1000); // fills the ring and the overflow
    publisher.publish(huge, 2);
    publisher.publishBytes(new Uint8Array(20_000).fill(0x7a), 3);
    expect(publisher.stats()).toMatchObject({ oversizeFrames: 3, lostFrames: 0 });
    expect(oversize.map((o) => [o.rxMicros, o.frameBytes, o.preview, o.totalOversizeFrames])).toEqual([
      [1, 20_000, "y".repeat(200), 1],
      [2, 20_000, "y".repeat(200), 2],
      [3, 20_000, "z".repeat(200), 3],
    ]);
    drain();
    expect(received.every((r) => r.rxMicros >= 10)).toBe(true);
  });

  test("keeps its own copy of binary frames waiting in the overflow", () => {
    const { publisher, received, drain, timers } = setup();
    publishRange(publisher, 0, 1000);
    const reused = new TextEncoder().encode("first");
    publisher.publishBytes(reused, 5000);
    reused.set(new TextEncoder().encode("XXXXX"));
    while (publisher.stats().overflowDepthFrames > 0) {
      drain();
      timers.advance(2);
    }
    drain();
    expect(received.at(-1)).toEqual({ text: "first", rxMicros: 5000 });
  });
});

describe("FramePublisher.close", () => {
  test("closes the ring at once when the overflow is empty", async () => {
    const { publisher, consumer, drain, received } = setup();
    publishRange(publisher, 0, 3);
    await publisher.close();
    drain();
    expect(seqs(received)).toEqual([0, 1, 2]);
    expect(consumer.isClosedAndEmpty()).toBe(true);
  });

  test("waits until the overflow has drained into the ring, then closes it", async () => {
    const { publisher, consumer, drain, received, timers } = setup();
    publishRange(publisher, 0, 1000);
    let closed = false;
    const closing = publisher.close().then(() => {
      closed = true;
    });
    await Promise.resolve();
    expect(closed).toBe(false);
    publisher.publish(frame(1000), 1000); // still accepted while flushing, behind the overflow
    while (publisher.stats().overflowDepthFrames > 0) {
      expect(consumer.isClosedAndEmpty()).toBe(false);
      drain();
      timers.advance(2);
    }
    await closing;
    drain();
    expect(seqs(received)).toEqual(range(0, 1001));
    expect(consumer.isClosedAndEmpty()).toBe(true);
    expect(publisher.stats().lostFrames).toBe(0);
  });

  test("counts the frames still waiting as lost when the deadline passes, then closes the ring", async () => {
    const { publisher, consumer, drain, received, timers, losses } = setup();
    publishRange(publisher, 0, 1000);
    const { published, overflowDepthFrames } = publisher.stats();
    const closing = publisher.close(3000);
    timers.advance(3000);
    await closing;
    expect(publisher.stats()).toMatchObject({ lostFrames: overflowDepthFrames, overflowDepthFrames: 0, overflowBytes: 0 });
    expect(losses.map((l) => l.phase)).toEqual(["started", "ended"]);
    expect(losses[1]).toMatchObject({ lostFrames: overflowDepthFrames, firstLostRxMicros: published, lastLostRxMicros: 999 });
    drain();
    expect(seqs(received)).toEqual(range(0, published));
    expect(consumer.isClosedAndEmpty()).toBe(true);
  });

  test("counts frames published after the ring was closed as lost instead of throwing, without reports that could feed back", async () => {
    const { publisher, losses } = setup();
    await publisher.close();
    publisher.publish("late", 42);
    expect(publisher.stats()).toMatchObject({ lostFrames: 1, lostBytes: 4, lostAfterClose: 1 });
    expect(losses).toEqual([]);
    expect(publisher.publishOwn('{"event":"obcap:gap"}', 43)).toBe(false);
  });

  test("returns the same promise when called twice", () => {
    const { publisher } = setup();
    expect(publisher.close()).toBe(publisher.close());
  });
});

describe("FramePublisher: own records, loss markers, holding", () => {
  const gap = (n: number) => `{"event":"obcap:gap","channels":["live_orders_btcusd"],"data":{"start_us":"${n}","end_us":"${n}","reason":"stale"}}`;

  test("own records are never dropped: they wait behind the overflow beyond its bound, in order", () => {
    const { publisher, records, drain, timers } = setup({ overflowBytes: 2_000 });
    publishRange(publisher, 0, 400); // ring full, overflow full, drops
    for (let n = 0; n < 50; n++) expect(publisher.publishOwn(gap(n), 1_000 + n)).toBe(true);
    expect(publisher.stats().overflowBytes).toBeGreaterThan(2_000);
    while (publisher.stats().overflowBytes > 0) {
      drain();
      timers.advance(2);
    }
    drain();
    const own = records.filter((r) => r.kind === RECORD_KIND.own);
    expect(own.map((r) => r.text)).toEqual(range(0, 50).map(gap));
  });

  test("a holding publisher keeps everything until release, then puts the released records first", () => {
    const { publisher, records, drain, timers } = setup({ holding: true });
    publishRange(publisher, 0, 5);
    publisher.publishOwn(gap(1), 10);
    drain();
    expect(records).toEqual([]);
    const first: QueueRecord[] = [{ kind: RECORD_KIND.own, rxMicros: 7, payload: gap(7) }];
    publisher.release(first);
    timers.advance(2);
    drain();
    expect(records.map((r) => [r.kind, r.rxMicros])).toEqual([[1, 7], [0, 0], [0, 1], [0, 2], [0, 3], [0, 4], [1, 10]]);
  });

  // The review's case 2: the session queued a gap frame per channel at every "ended" report; after the
  // close, publishing one was itself a loss that started and ended an episode, which queued more.
  test("a stop while frames are being lost ends: gap records published the way the session does cannot feed back", async () => {
    const { publisher, consumer, drain, timers } = setup({
      overflowBytes: 4_000,
      onLoss: (info) => {
        if (info.phase === "ended") queueMicrotask(() => ["live_orders_btcusd", "live_trades_btcusd"].forEach((_, n) => publisher.publishOwn(gap(n), info.lastLostRxMicros)));
      },
    });
    publishRange(publisher, 0, 600);
    const closing = publisher.close(100);
    publishRange(publisher, 600, 700); // the feed is not quite closed yet
    timers.advance(100);
    const { leftovers } = await closing;
    for (let i = 0; i < 10; i++) await Promise.resolve(); // let queued microtasks run
    const stats = publisher.stats();
    expect(consumer.isClosedAndEmpty()).toBe(false); // the ring is closed, with frames left to drain
    drain();
    expect(consumer.isClosedAndEmpty()).toBe(true);
    // One loss marker in the leftovers covers every frame dropped here, whatever the order of drops.
    const losses = leftovers.filter((r) => r.kind === RECORD_KIND.loss).map((r) => decodeLoss(r.payload as Uint8Array)!);
    expect(losses.length).toBe(1);
    expect(losses[0]!.frames).toBe(stats.lostFrames);
    expect(stats.lostFrames).toBeGreaterThan(0);
    expect(stats.published + stats.lostFrames).toBe(700);
  });

  test("at the close deadline the records still queued come back as leftovers, in order, with one marker for all drops", async () => {
    const { publisher, records, drain, timers } = setup({ overflowBytes: 3_000 });
    publishRange(publisher, 0, 350); // drops start
    publisher.publishOwn(gap(1), 1);
    publishRange(publisher, 350, 360); // more drops
    const closing = publisher.close(50);
    timers.advance(50);
    const { leftovers } = await closing;
    drain();
    const framesReceived = records.filter((r) => r.kind === RECORD_KIND.frame).length;
    expect(leftovers.map((r) => r.kind)).toEqual([RECORD_KIND.own, RECORD_KIND.loss]);
    const ringLosses = records.filter((r) => r.kind === RECORD_KIND.loss).map((r) => r.loss!.frames).reduce((a, b) => a + b, 0);
    const leftLoss = decodeLoss(leftovers[1]!.payload as Uint8Array)!;
    expect(framesReceived + ringLosses + leftLoss.frames).toBe(360);
    expect(publisher.stats().lostFrames).toBe(ringLosses + leftLoss.frames);
  });

  /**
   * The guarantee a kill at any moment relies on: whenever the consumer has a frame, every frame
   * dropped before it (in publish order) is covered by a loss marker the consumer met earlier; and at
   * the end every dropped frame is covered by a marker in the ring or in the leftovers. Random bursts,
   * random consumer speed, random own records, random overflow sizes, a close with a random deadline.
   */
  test("every dropped frame is covered by a loss marker met before any later frame (random schedules)", async () => {
    for (let seed = 1; seed <= 60; seed++) {
      let state = seed;
      const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const overflowBytes = [0, 500, 3_000, 20_000][seed % 4]!;
      const { publisher, records, drain, timers } = setup({ overflowBytes });
      let seq = 0;
      const steps = 300 + Math.floor(random() * 300);
      for (let step = 0; step < steps; step++) {
        const burst = Math.floor(random() * 20);
        for (let i = 0; i < burst; i++, seq++) publisher.publish(frame(seq), seq);
        if (random() < 0.05) publisher.publishOwn(gap(seq), seq);
        if (random() < 0.5) drain(Math.floor(random() * 30));
        timers.advance(Math.floor(random() * 4));
      }
      const closing = publisher.close(Math.floor(random() * 20));
      for (let i = 0; i < 5; i++) {
        drain(Math.floor(random() * 30));
        timers.advance(5);
      }
      timers.advance(100);
      const { leftovers } = await closing;
      drain();

      // Frames the consumer got; the rest were dropped somewhere.
      const got = new Set(records.filter((r) => r.kind === RECORD_KIND.frame).map((r) => r.rxMicros));
      const covered = new Set<number>();
      const cover = (loss: LossRun) => {
        for (let s = loss.firstRxMicros; s <= loss.lastRxMicros; s++) if (!got.has(s)) covered.add(s);
      };
      let droppedBefore = 0;
      for (const r of records) {
        if (r.kind === RECORD_KIND.loss) cover(r.loss!);
        if (r.kind !== RECORD_KIND.frame) continue;
        // Every frame dropped before this one is covered already.
        for (let s = droppedBefore; s < r.rxMicros; s++) {
          if (!got.has(s)) expect({ seed, frame: r.rxMicros, uncovered: s, covered: covered.has(s) }).toEqual({ seed, frame: r.rxMicros, uncovered: s, covered: true });
        }
        droppedBefore = r.rxMicros;
      }
      for (const r of leftovers) if (r.kind === RECORD_KIND.loss) cover(decodeLoss(r.payload as Uint8Array)!);
      const dropped = range(0, seq).filter((s) => !got.has(s));
      expect({ seed, uncovered: dropped.filter((s) => !covered.has(s)) }).toEqual({ seed, uncovered: [] });
      const stats = publisher.stats();
      expect(stats.published + stats.lostFrames).toBe(seq);
      expect(got.size).toBe(stats.published);
    }
  });
});
