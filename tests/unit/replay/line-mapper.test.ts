/**
 * mapRecordedLine: a replayed line becomes exactly the item the capture writes (same keys, same
 * attributes), keeps a journal line's receive time, and stores no receive time for a plain frame.
 */
import { describe, expect, test } from "bun:test";
import { mapRecordedLine } from "../../../src/replay/line-mapper.ts";
import { StoredItems } from "../../../src/pipeline/stored-item.ts";
import { journalLine } from "../../../src/journal/journal-line.ts";
import { decodeFrame } from "../../../src/exchange/bitstamp/decode.ts";
import { encodeItem } from "../../../src/store/dynamodb/event-item.ts";
import { decodeItem } from "../../../src/store/dynamodb/item-decoder.ts";
import { bookFrames, controlFrames, orderAndTradeFrameEntries, wsServerFrameEntries } from "../../support/fixtures.ts";
import { canonicalJson } from "../../support/exact-compare.ts";

const SHARDS = 4;

describe("mapRecordedLine", () => {
  test("maps every real order and trade frame to the capture's own item, without rx", () => {
    const entries = orderAndTradeFrameEntries();
    expect(entries.length).toBeGreaterThanOrEqual(24);
    for (const { where, text } of entries) {
      const outcome = mapRecordedLine(text, new StoredItems(SHARDS));
      if (outcome.kind !== "event") throw new Error(`${where}: ${JSON.stringify(outcome)}`);
      const decoded = decodeFrame(text, 0);
      if (decoded.kind !== "event") throw new Error(`${where} does not decode`);
      const { rx: _rx, ...captured } = encodeItem(decoded.event, SHARDS);
      expect(outcome.item).toEqual(captured);
      expect(outcome.item.rx).toBeUndefined();
      expect(canonicalJson(decodeItem(outcome.item))).toBe(canonicalJson(text));
    }
  });

  test("keeps the receive time of a journal line", () => {
    const { text } = orderAndTradeFrameEntries()[0]!;
    const line = journalLine(1788551766927713, text).trimEnd();
    const outcome = mapRecordedLine(line, new StoredItems(SHARDS));
    expect(outcome.kind).toBe("event");
    if (outcome.kind === "event") expect(outcome.item.rx).toEqual({ N: "1788551766927713" });
  });

  test("reads a journal line whose frame was embedded as a JSON string", () => {
    const { text } = orderAndTradeFrameEntries()[0]!;
    const line = `{"rx":5,"raw":${JSON.stringify(text)}}`;
    const outcome = mapRecordedLine(line, new StoredItems(SHARDS));
    expect(outcome.kind === "event" && outcome.item.rx).toEqual({ N: "5" });
  });

  test("skips control frames, book channels and blank lines, each under its own count", () => {
    for (const frame of controlFrames()) expect(mapRecordedLine(frame, new StoredItems(SHARDS))).toEqual({ kind: "skip", what: "control" });
    for (const frame of bookFrames().slice(0, 20)) expect(mapRecordedLine(frame, new StoredItems(SHARDS))).toEqual({ kind: "skip", what: "not-stored" });
    expect(mapRecordedLine("", new StoredItems(SHARDS))).toEqual({ kind: "skip", what: "blank" });
    expect(mapRecordedLine("  \r", new StoredItems(SHARDS))).toEqual({ kind: "skip", what: "blank" });
  });

  test("every real server frame maps to an event or a skip, never to a bad line", () => {
    for (const { where, text } of wsServerFrameEntries()) {
      const outcome = mapRecordedLine(text, new StoredItems(SHARDS));
      if (outcome.kind === "bad") throw new Error(`${where}: ${outcome.reason}`);
    }
  });

  test("gives a one-line reason naming the code for a frame that fails validation", () => {
    const { text } = orderAndTradeFrameEntries()[0]!;
    const broken = text.replace(/"price_str": ?"[^"]*"/, '"price_str":"12,5"');
    const outcome = mapRecordedLine(broken, new StoredItems(SHARDS));
    expect(outcome.kind).toBe("bad");
    if (outcome.kind === "bad") {
      expect(outcome.reason).toStartWith("E_FRAME_INVALID: ");
      expect(outcome.reason).toContain("price_str");
      expect(outcome.reason).not.toContain("\n");
    }
  });

  test("reports text that is not JSON and a truncated journal line", () => {
    const notJson = mapRecordedLine("hello world", new StoredItems(SHARDS));
    expect(notJson.kind === "bad" && notJson.reason).toStartWith("E_FRAME_JSON: ");
    const truncated = mapRecordedLine('{"rx":12,"m":{"data":{"id":1', new StoredItems(SHARDS));
    expect(truncated).toEqual({ kind: "bad", reason: "journal line does not end with '}' (truncated?)" });
  });
});
