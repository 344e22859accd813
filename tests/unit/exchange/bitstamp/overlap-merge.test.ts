/**
 * The merge of two connections during make-before-break: every frame passed on once, each
 * connection's order kept, the old connection's frames first.
 */
import { describe, expect, test } from "bun:test";
import { OverlapMerge } from "../../../../src/exchange/bitstamp/overlap-merge.ts";

function merged() {
  const out: string[] = [];
  const merge = new OverlapMerge((frame) => out.push(frame));
  const old = (...frames: string[]) => frames.forEach((f, i) => merge.fromOld(f, i));
  const neu = (...frames: string[]) => frames.forEach((f, i) => merge.fromNew(f, i));
  return { out, merge, old, neu };
}

describe("OverlapMerge", () => {
  test("passes old frames at once and holds new ones until the old connection is finished", () => {
    const { out, merge, old, neu } = merged();
    old("F1", "F2");
    neu("F3", "F4");
    expect(out).toEqual(["F1", "F2"]);
    expect(merge.heldFrames).toBe(2);
    merge.finish();
    expect(out).toEqual(["F1", "F2", "F3", "F4"]);
  });

  test("drops the new copy of a frame the old connection already delivered", () => {
    const { out, merge, old, neu } = merged();
    old("F1", "F2", "F3");
    neu("F2", "F3", "F4");
    merge.finish();
    expect(out).toEqual(["F1", "F2", "F3", "F4"]);
    expect(merge.duplicatesDropped).toBe(2);
  });

  test("drops a held new frame when the old connection delivers it later (new ran ahead)", () => {
    const { out, merge, old, neu } = merged();
    old("F1");
    neu("F2", "F3", "F4");
    old("F2", "F3");
    merge.finish();
    expect(out).toEqual(["F1", "F2", "F3", "F4"]);
    expect(merge.duplicatesDropped).toBe(2);
  });

  test("keeps a text the exchange really sent twice, twice", () => {
    const { out, merge, old, neu } = merged();
    old("A", "A");
    neu("A", "A", "B");
    merge.finish();
    expect(out).toEqual(["A", "A", "B"]);
    expect(merge.duplicatesDropped).toBe(2);
  });

  test("after finish, new frames pass straight through with their receive time", () => {
    const seen: [string, number][] = [];
    const merge = new OverlapMerge((frame, rx) => seen.push([frame, rx]));
    merge.fromNew("H", 7);
    merge.finish();
    merge.fromNew("L", 9);
    expect(seen).toEqual([["H", 7], ["L", 9]]);
  });

  test("abandon forgets the new connection's frames and lets old ones through", () => {
    const { out, merge, old, neu } = merged();
    neu("X1", "X2");
    merge.abandon();
    old("X1", "O2");
    expect(out).toEqual(["X1", "O2"]);
    expect(merge.heldFrames).toBe(0);
  });
});
