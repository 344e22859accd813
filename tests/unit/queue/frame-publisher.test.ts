/**
 * The full-queue policy of FramePublisher, with a manual clock and timers: the consumer side is
 * drained by hand in the same thread, so every state (ring full, overflow full, drained) is set up
 * exactly and no test depends on speed.
 */
import { describe, expect, test } from "bun:test";
import { FramePublisher, type FramePublisherOptions, type LossInfo, type OversizeInfo, type PublisherTimers } from "../../../src/queue/frame-publisher.ts";
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
  const drain = (maxRecords?: number): number => consumer.drain((bytes, rxMicros) => received.push({ text: decoder.decode(bytes), rxMicros }), maxRecords);
  return { publisher, consumer, timers, losses, oversize, received, drain };
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
    const { publisher, received, drain, losses } = setup({ overflowBytes: 0 });
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

  test("counts frames published after the ring was closed as lost instead of throwing", async () => {
    const { publisher, losses } = setup();
    await publisher.close();
    publisher.publish("late", 42);
    expect(publisher.stats()).toMatchObject({ lostFrames: 1, lostBytes: 4 });
    expect(losses.map((l) => [l.phase, l.firstLostRxMicros])).toEqual([["started", 42], ["ended", 42]]);
  });

  test("returns the same promise when called twice", () => {
    const { publisher } = setup();
    expect(publisher.close()).toBe(publisher.close());
  });
});
