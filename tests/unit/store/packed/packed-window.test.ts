/**
 * packWindow / unpackWindow: a window's items are a function of its set of events (any order, any
 * repeats), chunks cut deterministically, and every way a stored window can be wrong (a chunk missing,
 * damaged, counts that disagree, another version) is a RangeError naming the item.
 */
import { describe, expect, test } from "bun:test";
import { decodeFrame } from "../../../../src/exchange/bitstamp/decode.ts";
import { encodeItem } from "../../../../src/store/dynamodb/event-item.ts";
import type { Item } from "../../../../src/store/dynamodb/item.ts";
import {
  CHUNK_ITEM_BYTES, headKey, headOf, packMsProblem, packWindow, uniqueEvents, unpackWindow, windowKeyOfItem, windowStartOf,
} from "../../../../src/store/packed/packed-window.ts";
import { FrameGenerator } from "../../../support/frame-generator.ts";
import { seededRandom } from "../../../support/seeded-random.ts";

const PACK_MS = 60_000;

function orderItems(count: number, seed = 1): Item[] {
  const items: Item[] = [];
  let rx = 1_788_551_771_000_000;
  for (const frame of new FrameGenerator({ pairs: ["btcusd"], countPerPair: count, seed, meanGapMs: 2, trades: false })) {
    const decoded = decodeFrame(frame, (rx += 100));
    if (decoded.kind === "event") items.push(encodeItem(decoded.event, 4));
  }
  const key = windowKeyOfItem(items[0]!, PACK_MS);
  return items.filter((i) => windowKeyOfItem(i, PACK_MS).startMicros === key.startMicros);
}

function shuffled<T>(list: readonly T[], seed: number): T[] {
  const rand = seededRandom(seed);
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe("packed windows", () => {
  test("the same set of events in any order, with repeats, gives the same items, and unpacks to them in (sk, pk) order", () => {
    const events = orderItems(500);
    const key = windowKeyOfItem(events[0]!, PACK_MS);
    const a = packWindow(key, events, PACK_MS);
    const b = packWindow(key, [...shuffled(events, 3), ...events.slice(0, 40)], PACK_MS);
    expect(b.digest).toBe(a.digest);
    expect(b.head.sk).toEqual(a.head.sk);
    expect(Buffer.from(b.head.b!.B!).equals(Buffer.from(a.head.b!.B!))).toBe(true);
    const back = unpackWindow(a.head, a.overflow);
    expect(back).toEqual(uniqueEvents(events));
    expect(back.length).toBe(new Set(events.map((e) => `${e.pk!.S}|${e.sk!.S}`)).size);
    for (let i = 1; i < back.length; i++) expect(`${back[i - 1]!.sk!.S}|${back[i - 1]!.pk!.S}` <= `${back[i]!.sk!.S}|${back[i]!.pk!.S}`).toBe(true);
  });

  test("keys: pk <pair>#<stream>#<hour>#p, head sk the window start, overflow <start>#<digest>#<k>", () => {
    const events = orderItems(50);
    const key = windowKeyOfItem(events[0]!, PACK_MS);
    expect(key.startMicros).toBe(windowStartOf(Number(events[0]!.sk!.S!.slice(0, 16)), PACK_MS));
    const { head } = packWindow(key, events, PACK_MS);
    expect(head.pk!.S).toBe(`btcusd#orders#${events[0]!.pk!.S!.split("#")[2]}#p`);
    expect(head.sk!.S).toBe(String(key.startMicros).padStart(16, "0"));
    expect(headKey(key)).toEqual({ pk: head.pk!.S!, sk: head.sk!.S! });
  });

  test("a busy window is cut into chunks of at most CHUNK_ITEM_BYTES of events, by the set alone", () => {
    const base = orderItems(400);
    // Inflate the items so a few hundred events pass a chunk: an unknown-field attribute of 2 KB each.
    const events = base.map((e, i) => ({ ...e, xd: { S: `{"note":"${"x".repeat(1500 + (i % 700))}"}` } }));
    const key = windowKeyOfItem(events[0]!, PACK_MS);
    const packed = packWindow(key, events, PACK_MS);
    expect(packed.overflow.length).toBeGreaterThan(0);
    expect(headOf(packed.head).chunks).toBe(packed.overflow.length + 1);
    for (const [k, chunk] of packed.overflow.entries()) expect(chunk.sk!.S).toBe(`${packed.head.sk!.S}#${packed.digest}#${k + 1}`);
    expect(unpackWindow(packed.head, packed.overflow)).toEqual(uniqueEvents(events));
    expect(packWindow(key, shuffled(events, 8), PACK_MS).overflow.map((c) => c.sk!.S)).toEqual(packed.overflow.map((c) => c.sk!.S));
    expect(CHUNK_ITEM_BYTES).toBeLessThan(400 * 1024);
  });

  test("an event of another window or channel is refused", () => {
    const events = orderItems(20);
    const key = windowKeyOfItem(events[0]!, PACK_MS);
    expect(() => packWindow({ ...key, startMicros: key.startMicros + PACK_MS * 1000 }, events, PACK_MS)).toThrow(/is not in window/);
    expect(() => packWindow({ ...key, pair: "ethusd" }, events, PACK_MS)).toThrow(/is not in window/);
    expect(() => packWindow(key, [], PACK_MS)).toThrow(/no events/);
    expect(() => windowKeyOfItem({ pk: { S: "obcap#meta" }, sk: { S: "table" } }, PACK_MS)).toThrow(/not an event item/);
  });

  test("a stored window that is wrong reads as a RangeError naming it", () => {
    const events = orderItems(300).map((e, i) => ({ ...e, xd: { S: "y".repeat(1200 + i) } }));
    const key = windowKeyOfItem(events[0]!, PACK_MS);
    const { head, overflow } = packWindow(key, events, PACK_MS);
    expect(overflow.length).toBeGreaterThan(0);
    expect(() => unpackWindow(head, overflow.slice(1))).toThrow(/overflow chunk\(s\) expected/);
    const damaged = { ...head, b: { B: Uint8Array.from(head.b!.B!, (x, i) => (i === 20 ? x ^ 0xff : x)) } };
    expect(() => unpackWindow(damaged, overflow)).toThrow(RangeError);
    expect(() => unpackWindow({ ...head, n: { N: "5" } }, overflow)).toThrow(/holds \d+ events, its head says 5/);
    expect(() => unpackWindow({ ...head, v: { N: "2" } }, overflow)).toThrow(/version 2.*upgrade obcap/);
    expect(() => headOf({ ...head, dg: { S: "zz" } })).toThrow(/not a valid window head/);
  });

  test("--pack-ms must be whole ms in [100, 3,600,000] dividing an hour", () => {
    for (const ok of [100, 1000, 2000, 5000, 10_000, 60_000, 3_600_000]) expect(packMsProblem(ok)).toBeUndefined();
    for (const bad of [99, 7000, 1500.5, 0, -1000, 7_200_000]) expect(packMsProblem(bad)).toBeString();
    expect(packMsProblem(7000)).toContain("must divide an hour");
  });
});
