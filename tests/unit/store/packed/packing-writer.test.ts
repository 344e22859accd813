/**
 * PackingWriter with a fake BatchWriter and a recording stand-in for PackedWriter. Invariants
 * attacked: a batch is written (its onWritten, which moves the checkpoint) only once every window
 * holding one of its events is stored and its other items are acknowledged; windows close by exchange
 * time, by the wall clock and at flush, never before; the windows being written never pass the bound;
 * an event too large to pack is refused without stopping the rest; a failed window stops the writer.
 */
import { describe, expect, test } from "bun:test";
import { obcapError } from "../../../../src/base/errors.ts";
import { decodeFrame } from "../../../../src/exchange/bitstamp/decode.ts";
import { encodeItem } from "../../../../src/store/dynamodb/event-item.ts";
import type { Item } from "../../../../src/store/dynamodb/item.ts";
import { encodeGapItem } from "../../../../src/store/dynamodb/gap-item.ts";
import { windowId, windowKeyOfItem, type WindowKey } from "../../../../src/store/packed/packed-window.ts";
import type { PackedWriter } from "../../../../src/store/packed/packed-writer.ts";
import { CLOSE_GRACE_MS, PackingWriter } from "../../../../src/store/packed/packing-writer.ts";
import { FakeBatchWriter } from "../../../support/fake-batch-writer.ts";
import { generateFrames } from "../../../support/frame-generator.ts";

const PACK_MS = 1000;

/** Order events of one channel (so windows follow one another in exchange time). */
function events(count: number, meanGapMs: number): Item[] {
  return generateFrames({ pairs: ["btcusd"], countPerPair: count, seed: 5, meanGapMs, trades: false }).flatMap((f, i) => {
    const d = decodeFrame(f, 1_788_551_771_000_000 + i);
    return d.kind === "event" ? [encodeItem(d.event, 4)] : [];
  });
}

/** Records each window write; a write finishes when the test says (`finish`), or at once with `auto`. */
class RecordingPacked {
  readonly writes: Array<{ key: WindowKey; events: readonly Item[]; done: () => void; fail: (err: Error) => void }> = [];
  active = 0;
  highest = 0;
  constructor(private readonly auto = false) {}
  write(key: WindowKey, events: readonly Item[]): Promise<{ events: number; merged: boolean; alreadyStored: boolean }> {
    this.active++;
    this.highest = Math.max(this.highest, this.active);
    return new Promise((resolve, reject) => {
      const done = () => {
        this.active--;
        resolve({ events: events.length, merged: false, alreadyStored: false });
      };
      this.writes.push({ key, events, done, fail: (err) => { this.active--; reject(err); } });
      if (this.auto) queueMicrotask(done);
    });
  }
  stats() {
    return { windows: 0, merged: 0, alreadyStored: 0, headPuts: 0, conditionFailures: 0, chunksWritten: 0, chunksDeleted: 0, retries: 0 };
  }
}

function setup(options: { auto?: boolean; maxWindowsInFlight?: number; refused?: Item[] } = {}) {
  let now = 1_000_000;
  const inner = new FakeBatchWriter({ table: "t" }, { autoAck: true });
  const packed = new RecordingPacked(options.auto ?? true);
  const writer = new PackingWriter({
    inner: inner.asBatchWriter(),
    packed: packed as unknown as PackedWriter,
    packMs: PACK_MS,
    maxWindowsInFlight: options.maxWindowsInFlight ?? 4,
    nowMs: () => now,
    onRefused: (item) => options.refused?.push(item),
  });
  return { writer, packed, inner, advance: (ms: number) => (now += ms) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("PackingWriter", () => {
  test("a batch is written once its windows are stored and its other items acknowledged, not before", async () => {
    const { writer, packed } = setup({ auto: false });
    const all = events(60, 40); // about 2.4 s of exchange time: 3 windows
    const gap = encodeGapItem({ pair: "btcusd", stream: "orders", channel: "live_orders_btcusd", startMicros: 1, endMicros: 2, reason: "dropped", rxMicros: 3 });
    let written = 0;
    await writer.submit([...all.slice(0, 20), gap], () => written++);
    await writer.submit(all.slice(20, 60), () => written++);
    await settle();
    // Exchange time passed the first windows' ends: those are being written, the last is still open.
    const firstWindows = packed.writes.length;
    expect(firstWindows).toBeGreaterThan(0);
    expect(writer.holdsOpenWork()).toBe(true);
    expect(written).toBe(0);
    for (const w of packed.writes) w.done();
    await settle();
    // The first batch's events lie in written windows: it is written; the second waits for the open window.
    expect(written).toBe(1);
    const flushing = writer.flush();
    await settle();
    for (const w of packed.writes.slice(firstWindows)) w.done();
    await flushing;
    expect(written).toBe(2);
    // Every event went to exactly one window write, each window of one window key.
    expect(packed.writes.flatMap((w) => w.events).length).toBe(all.length);
    for (const w of packed.writes) for (const e of w.events) expect(windowId(windowKeyOfItem(e, PACK_MS))).toBe(windowId(w.key));
    expect(writer.stats()).toMatchObject({ written: all.length + 1, pendingItems: 0 });
  });

  test("a quiet feed: the open window closes by the wall clock, pack-ms + grace after it opened", async () => {
    const { writer, packed, advance } = setup();
    await writer.submit(events(3, 10));
    await writer.tick();
    expect(packed.writes.length).toBe(0);
    advance(PACK_MS + CLOSE_GRACE_MS - 1);
    await writer.tick();
    expect(packed.writes.length).toBe(0);
    advance(1);
    await writer.tick();
    expect(packed.writes.length).toBe(1);
    expect(writer.holdsOpenWork()).toBe(false);
  });

  test("an event of a window already written opens it again (a late frame): a second write of that window", async () => {
    const { writer, packed } = setup();
    const all = events(80, 40);
    await writer.submit(all.slice(0, 50));
    await writer.submit(all.slice(50, 80));
    await settle();
    const late = all[0]!;
    await writer.submit([late]);
    await writer.flush();
    const keyOfLate = windowId(windowKeyOfItem(late, PACK_MS));
    expect(packed.writes.filter((w) => windowId(w.key) === keyOfLate).length).toBe(2);
  });

  test("the windows being written never pass maxWindowsInFlight", async () => {
    const { writer, packed } = setup({ auto: false, maxWindowsInFlight: 2 });
    const all = events(200, 50); // ~10 windows
    const submitting = (async () => {
      for (let i = 0; i < all.length; i += 20) await writer.submit(all.slice(i, i + 20));
      await writer.flush();
    })();
    let finished = false;
    void submitting.then(() => (finished = true));
    while (!finished) {
      await settle();
      expect(packed.active).toBeLessThanOrEqual(2);
      for (const w of packed.writes.splice(0)) w.done();
    }
    expect(packed.highest).toBe(2);
  });

  test("an event too large to pack is refused and counted; the rest of its batch is written", async () => {
    const refused: Item[] = [];
    const { writer, packed } = setup({ refused });
    const all = events(10, 10);
    const huge = { ...all[0]!, sk: { S: `${all[0]!.sk!.S}x` }, xd: { S: "x".repeat(310 * 1024) } };
    let written = 0;
    await writer.submit([...all, huge], () => written++);
    await writer.flush();
    expect(refused).toEqual([huge]);
    expect(written).toBe(1);
    expect(packed.writes.flatMap((w) => w.events).length).toBe(all.length);
    expect(writer.stats().refusedItems).toBe(1);
  });

  test("a window that fails stops the writer: flush rejects with the error, and so does the next submit", async () => {
    const { writer, packed } = setup({ auto: false });
    await writer.submit(events(10, 10));
    const flushing = writer.flush();
    await settle();
    packed.writes[0]!.fail(obcapError("E_AWS_ACCESS_DENIED", "PutItem denied"));
    for (const w of packed.writes.slice(1)) w.done();
    await expect(flushing).rejects.toThrow("PutItem denied");
    expect(writer.fatal()?.code).toBe("E_AWS_ACCESS_DENIED");
    await expect(writer.submit(events(1, 10))).rejects.toThrow("PutItem denied");
  });
});
