/**
 * The hand-written shape checks answer exactly as valibot (the source of truth) does: on every real
 * order and trade frame, on generated and edge-case frames, and on thousands of mutations of them.
 */
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { parseJsonExact } from "../../../../src/base/exact-json.ts";
import { isDecimalText, isIntegerText, isOrderFrame, isTradeFrame } from "../../../../src/exchange/bitstamp/frame-shape.ts";
import { DECIMAL_STRING_RE, INTEGER_STRING_RE, ORDER_EVENTS, OrderFrameSchema, TradeFrameSchema } from "../../../../src/model/schemas.ts";
import { orderAndTradeFrameEntries } from "../../../support/fixtures.ts";
import { baseFrames, objectMutations } from "../../../support/frame-mutations.ts";
import { seededRandom } from "../../../support/seeded-random.ts";

/** The hand check and valibot on one frame whose event and channel are already right for `stream`. */
function bothAnswers(frame: Record<string, unknown>): { hand: boolean; valibot: boolean } {
  const orders = (ORDER_EVENTS as readonly unknown[]).includes(frame.event);
  return {
    hand: orders ? isOrderFrame(frame) : isTradeFrame(frame),
    valibot: v.safeParse(orders ? OrderFrameSchema : TradeFrameSchema, frame).success,
  };
}

describe("isIntegerText and isDecimalText", () => {
  test("agree with INTEGER_STRING_RE and DECIMAL_STRING_RE on edge cases and 50,000 random strings (seed 17)", () => {
    const edges = ["", "0", "007", "-1", "1.5", "1e5", "1E-8", "-1.5e+3", "1.", ".5", "-", "1e", "1e+", "--1", "1.5.5", "12,5", " 1", "1 ", "1\n", "٣"];
    const rand = seededRandom(17);
    const alphabet = "0123456789-+.eE x";
    const strings = [...edges];
    for (let i = 0; i < 50_000; i++) {
      let s = "";
      for (let n = Math.floor(rand() * 9); n > 0; n--) s += alphabet[Math.floor(rand() * alphabet.length)];
      strings.push(s);
    }
    let decimals = 0;
    for (const s of strings) {
      if (isIntegerText(s) !== INTEGER_STRING_RE.test(s)) throw new Error(`isIntegerText(${JSON.stringify(s)}) disagrees`);
      if (isDecimalText(s) !== DECIMAL_STRING_RE.test(s)) throw new Error(`isDecimalText(${JSON.stringify(s)}) disagrees`);
      if (DECIMAL_STRING_RE.test(s)) decimals++;
    }
    // Both answers must occur often, or the comparison says little.
    expect(decimals).toBeGreaterThan(2_000);
    expect(strings.length - decimals).toBeGreaterThan(2_000);
  });
});

describe("isOrderFrame and isTradeFrame", () => {
  test("accept every real order and trade frame, as valibot does", () => {
    const frames = orderAndTradeFrameEntries();
    expect(frames.length).toBe(24);
    for (const { where, text } of frames) {
      const answers = bothAnswers(parseJsonExact(text) as Record<string, unknown>);
      if (!answers.hand || !answers.valibot) throw new Error(`${where}: ${JSON.stringify(answers)}`);
    }
  });

  test("answer as valibot does on every mutation of real, edge-case and generated frames", () => {
    const counts = { accepted: 0, rejected: 0 };
    const disagreements: string[] = [];
    for (const text of baseFrames(40)) {
      const frame = parseJsonExact(text) as Record<string, unknown>;
      for (const { what, frame: mutated } of [{ what: "as is", frame }, ...objectMutations(frame)]) {
        const { hand, valibot } = bothAnswers(mutated);
        if (hand !== valibot) disagreements.push(`${what} in ${text.slice(0, 120)}: hand ${hand}, valibot ${valibot}`);
        counts[valibot ? "accepted" : "rejected"]++;
      }
    }
    expect(disagreements.slice(0, 5)).toEqual([]);
    expect(counts.accepted).toBeGreaterThan(5_000);
    expect(counts.rejected).toBeGreaterThan(50_000);
  });
});
