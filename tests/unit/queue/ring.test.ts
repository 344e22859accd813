/**
 * Edge cases of the SPSC ring, one thread, positions set up exactly (ws receiver.test.js style).
 * Ring of 64 KiB: records take 16 header bytes plus the payload padded to 8; the largest payload is
 * 16,368 bytes (a 16,384-byte record, a quarter of the ring). The cross-thread properties are in
 * ring-property.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { createRing, RingConsumer, RingProducer, RingRecordTooLargeError, utf8ByteLength } from "../../../src/queue/ring.ts";

const RING_BYTES = 64 * 1024;
const MAX_PAYLOAD = 16 * 1024 - 16;

function openRing(): { producer: RingProducer; consumer: RingConsumer } {
  const ring = createRing(RING_BYTES);
  return { producer: new RingProducer(ring), consumer: new RingConsumer(ring) };
}

/** Payload whose record (header + padding) takes exactly `recordBytes`. */
function payload(recordBytes: number, tag = 1): Uint8Array {
  const bytes = new Uint8Array(recordBytes - 16);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + tag) & 0xff;
  return bytes;
}

/** Moves head and tail together to `offset` (a multiple of 16) by pushing and draining records. */
function moveTo(producer: RingProducer, consumer: RingConsumer, offset: number): void {
  for (let at = 0; at < offset; ) {
    const step = Math.min(16 * 1024, offset - at);
    expect(producer.tryPushBytes(payload(step), 0)).toBe(true);
    at += step;
  }
  consumer.drain(() => {});
  expect(producer.usedBytes()).toBe(0);
}

/** Drains everything, copying each record out of the ring. */
function drainAll(consumer: RingConsumer): Array<{ bytes: Uint8Array; rxMicros: number }> {
  const out: Array<{ bytes: Uint8Array; rxMicros: number }> = [];
  consumer.drain((bytes, rxMicros) => out.push({ bytes: bytes.slice(), rxMicros }));
  return out;
}

describe("createRing", () => {
  test("accepts capacities that are multiples of 8 from 64 KiB up", () => {
    expect(createRing(RING_BYTES).byteLength).toBeGreaterThan(RING_BYTES);
    expect(new RingProducer(createRing(RING_BYTES + 8)).capacityBytes).toBe(RING_BYTES + 8);
  });

  test.each([RING_BYTES - 8, 1024 ** 3 + 8, RING_BYTES + 1, 100_000.5, Number.NaN])("rejects a capacity of %p bytes with a RangeError naming the limits", (capacityBytes) => {
    expect(() => createRing(capacityBytes)).toThrow(RangeError);
    expect(() => createRing(capacityBytes)).toThrow(/multiple of 8 between 65536 \(64 KiB\) and 1073741824 \(1 GiB\)/);
  });

  test("producer and consumer refuse a SharedArrayBuffer that createRing did not make", () => {
    expect(() => new RingProducer(new SharedArrayBuffer(RING_BYTES + 384))).toThrow(TypeError);
    expect(() => new RingConsumer(new SharedArrayBuffer(16))).toThrow(TypeError);
  });
});

describe("records", () => {
  test("bytes and rxMicros come back exactly, up to 2^53 - 1 µs", () => {
    const { producer, consumer } = openRing();
    expect(producer.tryPushBytes(payload(40, 7), Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(producer.tryPushBytes(payload(24, 9), 1_760_000_000_123_457)).toBe(true);
    expect(drainAll(consumer)).toEqual([
      { bytes: payload(40, 7), rxMicros: Number.MAX_SAFE_INTEGER },
      { bytes: payload(24, 9), rxMicros: 1_760_000_000_123_457 },
    ]);
  });

  test("each record carries its kind (frame 0 by default), across a wrap too", () => {
    const { producer, consumer } = openRing();
    moveTo(producer, consumer, RING_BYTES - 48);
    expect(producer.tryPushText("frame", 1)).toBe(true);
    expect(producer.tryPushText('{"own":1}', 2, 1)).toBe(true); // wraps to the start
    expect(producer.tryPushBytes(payload(32, 3), 3, 2)).toBe(true);
    const kinds: Array<[number, number]> = [];
    consumer.drain((_bytes, rxMicros, kind) => kinds.push([rxMicros, kind]));
    expect(kinds).toEqual([[1, 0], [2, 1], [3, 2]]);
  });

  test("an empty record is delivered with its rxMicros", () => {
    const { producer, consumer } = openRing();
    expect(producer.tryPushBytes(new Uint8Array(0), 11)).toBe(true);
    expect(producer.tryPushText("", 12)).toBe(true);
    expect(producer.usedBytes()).toBe(32);
    expect(drainAll(consumer)).toEqual([
      { bytes: new Uint8Array(0), rxMicros: 11 },
      { bytes: new Uint8Array(0), rxMicros: 12 },
    ]);
  });

  test("text is stored as the exact UTF-8 TextEncoder produces, for 1- to 4-byte characters and lone surrogates", () => {
    const { producer, consumer } = openRing();
    const texts = ['{"price_str":"58356.10"}', "é ß ø", "€ 中文", "𝄞 😀 🇨🇭", "lone \ud800 high and \udc00 low", "x".repeat(5000) + "€"];
    for (const [i, text] of texts.entries()) expect(producer.tryPushText(text, i)).toBe(true);
    const out = drainAll(consumer);
    expect(out.map((r) => r.bytes)).toEqual(texts.map((t) => new TextEncoder().encode(t)));
    expect(out.map((r) => r.rxMicros)).toEqual(texts.map((_, i) => i));
    expect(texts.map(utf8ByteLength)).toEqual(texts.map((t) => new TextEncoder().encode(t).length));
  });

  test("a record that ends exactly at the end of the ring leaves no gap: the next record starts at offset 0", () => {
    const { producer, consumer } = openRing();
    moveTo(producer, consumer, RING_BYTES - 16 * 1024);
    expect(producer.tryPushBytes(payload(16 * 1024, 3), 1)).toBe(true);
    expect(producer.tryPushBytes(payload(24, 4), 2)).toBe(true);
    expect(producer.usedBytes()).toBe(16 * 1024 + 24);
    expect(drainAll(consumer)).toEqual([
      { bytes: payload(16 * 1024, 3), rxMicros: 1 },
      { bytes: payload(24, 4), rxMicros: 2 },
    ]);
    expect(producer.usedBytes()).toBe(0);
  });

  test("a record that does not fit before the end goes to offset 0 behind a wrap marker", () => {
    const { producer, consumer } = openRing();
    moveTo(producer, consumer, RING_BYTES - 4096);
    expect(producer.tryPushBytes(payload(24, 5), 1)).toBe(true);
    expect(producer.tryPushBytes(payload(8016, 6), 2)).toBe(true); // 4072 bytes left at the end: too few
    expect(producer.usedBytes()).toBe(4096 + 8016); // the skipped end counts until it is read past
    expect(drainAll(consumer)).toEqual([
      { bytes: payload(24, 5), rxMicros: 1 },
      { bytes: payload(8016, 6), rxMicros: 2 },
    ]);
    expect(producer.usedBytes()).toBe(0);
  });

  test("text that wraps is encoded at offset 0 intact", () => {
    const { producer, consumer } = openRing();
    moveTo(producer, consumer, RING_BYTES - 64);
    const text = "€".repeat(100);
    expect(producer.tryPushText(text, 5)).toBe(true);
    expect(drainAll(consumer)).toEqual([{ bytes: new TextEncoder().encode(text), rxMicros: 5 }]);
  });
});

describe("a full ring", () => {
  test("refuses a record that would bring the head onto the tail from behind, and takes one 8 bytes smaller", () => {
    const { producer, consumer } = openRing();
    moveTo(producer, consumer, 32 * 1024); // head = tail = 32 KiB
    expect(producer.tryPushBytes(payload(16 * 1024), 1)).toBe(true);
    expect(producer.tryPushBytes(payload(16 * 1024), 2)).toBe(true); // ends at the end: head -> 0
    expect(producer.tryPushBytes(payload(16 * 1024), 3)).toBe(true); // head = 16 KiB
    expect(producer.tryPushBytes(payload(16 * 1024), 4)).toBe(false); // would end on the tail
    expect(producer.tryPushBytes(payload(16 * 1024 - 8), 5)).toBe(true);
    expect(producer.usedBytes()).toBe(RING_BYTES - 8);
    expect(producer.tryPushBytes(new Uint8Array(0), 6)).toBe(false);
    expect(drainAll(consumer).map((r) => r.rxMicros)).toEqual([1, 2, 3, 5]);
  });

  test("refuses a record that would end exactly at the end of the ring while the tail is at offset 0", () => {
    const { producer, consumer } = openRing();
    for (let i = 1; i <= 3; i++) expect(producer.tryPushBytes(payload(16 * 1024), i)).toBe(true);
    expect(producer.tryPushBytes(payload(16 * 1024), 4)).toBe(false); // head would wrap onto the tail
    expect(producer.tryPushBytes(payload(16 * 1024 - 8), 5)).toBe(true);
    expect(drainAll(consumer).map((r) => r.rxMicros)).toEqual([1, 2, 3, 5]);
  });

  test("refuses a wrapping record that would end on the tail, and takes one 8 bytes smaller", () => {
    const { producer, consumer } = openRing();
    moveTo(producer, consumer, 16 * 1024); // head = tail = 16 KiB
    expect(producer.tryPushBytes(payload(16 * 1024), 1)).toBe(true);
    expect(producer.tryPushBytes(payload(16 * 1024), 2)).toBe(true);
    expect(producer.tryPushBytes(payload(16 * 1024 - 8), 3)).toBe(true); // 8 bytes left at the end
    expect(producer.tryPushBytes(payload(16 * 1024), 4)).toBe(false); // would wrap onto the tail
    expect(producer.tryPushBytes(payload(16 * 1024 - 8), 5)).toBe(true);
    expect(producer.usedBytes()).toBe(RING_BYTES - 8);
    expect(drainAll(consumer).map((r) => r.rxMicros)).toEqual([1, 2, 3, 5]);
  });

  test("returns false for bytes and text without disturbing the records already in it", () => {
    const { producer, consumer } = openRing();
    const pushed: Uint8Array[] = [];
    for (let i = 0; ; i++) {
      const bytes = payload(24 + ((i * 104) % 2000), i);
      if (!producer.tryPushBytes(bytes, i)) break;
      pushed.push(bytes);
    }
    const used = producer.usedBytes();
    expect(producer.tryPushBytes(payload(4000), -1)).toBe(false);
    expect(producer.tryPushText("€".repeat(1000), -2)).toBe(false);
    expect(producer.usedBytes()).toBe(used);
    expect(producer.highWaterBytes()).toBe(used);
    expect(drainAll(consumer)).toEqual(pushed.map((bytes, i) => ({ bytes, rxMicros: i })));
  });

  test("accepts text that fits only when measured exactly, not at 3 bytes per character", () => {
    const { producer, consumer } = openRing();
    for (let i = 0; i < 3; i++) expect(producer.tryPushBytes(payload(16 * 1024), i)).toBe(true);
    expect(producer.tryPushBytes(payload(16 * 1024 - 1024), 3)).toBe(true);
    // 1016 bytes free before the tail (never the last 8): 900 ASCII chars fit, 2700 bytes would not.
    const text = "a".repeat(900);
    expect(producer.tryPushText(text, 4)).toBe(true);
    expect(drainAll(consumer).at(-1)).toEqual({ bytes: new TextEncoder().encode(text), rxMicros: 4 });
  });
});

describe("oversize records", () => {
  test("the largest payload (a quarter of the ring minus the header) is accepted", () => {
    const { producer, consumer } = openRing();
    expect(producer.maxPayloadBytes).toBe(MAX_PAYLOAD);
    expect(producer.tryPushBytes(new Uint8Array(MAX_PAYLOAD), 1)).toBe(true);
    expect(producer.tryPushText("€".repeat(MAX_PAYLOAD / 3), 2)).toBe(true);
    expect(drainAll(consumer).map((r) => r.bytes.length)).toEqual([MAX_PAYLOAD, MAX_PAYLOAD]);
  });

  test("a bigger one throws RingRecordTooLargeError with its size, even when the ring is empty, and changes nothing", () => {
    const { producer, consumer } = openRing();
    expect(producer.tryPushBytes(payload(40), 1)).toBe(true);
    const attempts: Array<() => boolean> = [
      () => producer.tryPushBytes(new Uint8Array(MAX_PAYLOAD + 1), 2),
      () => producer.tryPushText("a".repeat(MAX_PAYLOAD + 1), 3),
      () => producer.tryPushText("€".repeat(MAX_PAYLOAD / 3 + 1), 4), // fewer characters than bytes
    ];
    const sizes: number[] = [];
    for (const attempt of attempts) {
      try {
        attempt();
      } catch (err) {
        expect(err).toBeInstanceOf(RingRecordTooLargeError);
        expect(err).toBeInstanceOf(RangeError);
        sizes.push((err as RingRecordTooLargeError).recordBytes);
      }
    }
    expect(sizes).toEqual([MAX_PAYLOAD + 1, MAX_PAYLOAD + 1, MAX_PAYLOAD + 3]);
    expect(producer.usedBytes()).toBe(40);
    expect(drainAll(consumer)).toEqual([{ bytes: payload(40), rxMicros: 1 }]);
  });
});

describe("drain", () => {
  test("delivers at most maxRecords, oldest first, and frees only their space", () => {
    const { producer, consumer } = openRing();
    for (let i = 0; i < 5; i++) producer.tryPushBytes(payload(32, i), i);
    const seen: number[] = [];
    expect(consumer.drain((_, rx) => seen.push(rx), 2)).toBe(2);
    expect(producer.usedBytes()).toBe(3 * 32);
    expect(consumer.drain((_, rx) => seen.push(rx))).toBe(3);
    expect(consumer.drain((_, rx) => seen.push(rx))).toBe(0);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  test("a record whose callback throws counts as consumed and the next drain continues after it", () => {
    const { producer, consumer } = openRing();
    for (let i = 0; i < 3; i++) producer.tryPushBytes(payload(32, i), i);
    expect(() =>
      consumer.drain((_, rx) => {
        if (rx === 1) throw new Error("sink failed");
      }),
    ).toThrow("sink failed");
    expect(drainAll(consumer).map((r) => r.rxMicros)).toEqual([2]);
  });
});

describe("close", () => {
  test("the consumer sees closed-and-empty only after the last record is drained", () => {
    const { producer, consumer } = openRing();
    producer.tryPushText("last", 1);
    producer.close();
    expect(consumer.isClosedAndEmpty()).toBe(false);
    expect(drainAll(consumer)).toEqual([{ bytes: new TextEncoder().encode("last"), rxMicros: 1 }]);
    expect(consumer.isClosedAndEmpty()).toBe(true);
  });

  test("pushing after close throws instead of writing", () => {
    const { producer } = openRing();
    producer.close();
    expect(() => producer.tryPushText("late", 1)).toThrow(/closed/);
    expect(() => producer.tryPushBytes(new Uint8Array(1), 1)).toThrow(/closed/);
  });
});

describe("waitForData", () => {
  test("resolves after a push to a consumer that was asleep", async () => {
    const { producer, consumer } = openRing();
    let woke = false;
    const waiting = consumer.waitForData().then(() => {
      woke = true;
    });
    await Promise.resolve();
    expect(woke).toBe(false);
    producer.tryPushText("hello", 1);
    await waiting;
    expect(drainAll(consumer).length).toBe(1);
  });

  test("close() wakes a consumer that is asleep on an empty ring", async () => {
    const { producer, consumer } = openRing();
    const waiting = consumer.waitForData();
    producer.close();
    await waiting;
    expect(consumer.isClosedAndEmpty()).toBe(true);
  });

  test("resolves in a later macrotask, not synchronously, when records are already there", async () => {
    const { producer, consumer } = openRing();
    producer.tryPushText("ready", 1);
    const order: string[] = [];
    const waiting = consumer.waitForData().then(() => order.push("data"));
    setTimeout(() => order.push("timer"), 0);
    await Promise.resolve();
    order.push("microtask");
    await waiting;
    expect(order[0]).toBe("microtask");
  });
});
