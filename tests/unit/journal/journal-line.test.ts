import { describe, expect, test } from "bun:test";
import { journalLine, journalLineBase64, parseRecordedLine } from "../../../src/journal/journal-line.ts";
import { orderAndTradeFrames } from "../../support/fixtures.ts";

describe("journal lines", () => {
  test("embeds every real frame byte for byte and reads it back by slicing", () => {
    for (const frame of orderAndTradeFrames()) {
      const line = journalLine(1788551766927713, frame);
      expect(line).toBe(`{"rx":1788551766927713,"m":${frame}}\n`);
      expect(parseRecordedLine(line.slice(0, -1))).toEqual({ kind: "journal", rxMicros: 1788551766927713, frame });
    }
  });

  test("a frame holding a line break is stored as a JSON string and read back unchanged", () => {
    const frame = '{"event":"x",\n"data":"not\r\nbroken"';
    const line = journalLine(5, frame);
    expect(line.slice(0, -1)).not.toContain("\n");
    expect(parseRecordedLine(line.slice(0, -1))).toEqual({ kind: "journal", rxMicros: 5, frame });
  });

  test("plain recorded frames, blank lines and CRLF endings", () => {
    const frame = orderAndTradeFrames()[0]!;
    expect(parseRecordedLine(frame)).toEqual({ kind: "frame", frame });
    expect(parseRecordedLine(`${frame}\r`)).toEqual({ kind: "frame", frame });
    expect(parseRecordedLine("   ")).toEqual({ kind: "blank" });
  });

  test("a frame that is not UTF-8 is stored in base64 and read back as its exact bytes", () => {
    const bytes = new Uint8Array([0x7b, 0xff, 0x00, 0x0a, 0x7d]);
    const line = journalLineBase64(12, bytes);
    expect(line).toBe('{"rx":12,"b64":"e/8ACn0="}\n');
    expect(parseRecordedLine(line.slice(0, -1))).toEqual({ kind: "binary", rxMicros: 12, bytes });
    expect(parseRecordedLine('{"rx":12,"b64":"e/8ACn0"}').kind).toBe("broken"); // not a multiple of 4
  });

  test("a truncated or edited journal line is broken, with the reason", () => {
    const line = journalLine(7, orderAndTradeFrames()[0]!).slice(0, 40);
    expect(parseRecordedLine(line)).toEqual({ kind: "broken", reason: "journal line does not end with '}' (truncated?)" });
    expect(parseRecordedLine('{"rx":"7","m":{}}').kind).toBe("broken");
    expect(parseRecordedLine('{"rx":7,"raw":42}').kind).toBe("broken");
  });
});
