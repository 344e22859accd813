import { describe, expect, test } from "bun:test";
import { LineBuffer } from "../../../src/journal/line-buffer.ts";
import { journalLine, parseRecordedLine } from "../../../src/journal/journal-line.ts";
import { orderAndTradeFrames } from "../../support/fixtures.ts";

const utf8 = new TextEncoder();
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("journal lines from frame bytes", () => {
  test("embeds every real frame byte for byte, exactly as journalLine does from text", () => {
    const buffer = new LineBuffer(64); // small on purpose: it must grow
    const frames = orderAndTradeFrames();
    const expected = frames.map((frame, i) => journalLine(1788551766927713 + i, frame)).join("");
    frames.forEach((frame, i) => expect(buffer.appendFrame(utf8.encode(frame), 1788551766927713 + i)).toBe("m"));
    expect(text(buffer.view())).toBe(expected);
    expect(buffer.lines).toBe(frames.length);
  });

  test("a frame with non-ASCII UTF-8 is still embedded as is", () => {
    const buffer = new LineBuffer();
    const frame = '{"event":"x","channel":"live_orders_btcusd","data":{"note":"€ ü 𝄞"}}';
    expect(buffer.appendFrame(utf8.encode(frame), 7)).toBe("m");
    expect(parseRecordedLine(text(buffer.view()).slice(0, -1))).toEqual({ kind: "journal", rxMicros: 7, frame });
  });

  test("a frame holding a line break becomes one line with the frame as a JSON string", () => {
    const buffer = new LineBuffer();
    const frame = '{"event":"trade",\r\n"data":{}}';
    expect(buffer.appendFrame(utf8.encode(frame), 9)).toBe("raw");
    const line = text(buffer.view());
    expect(line.slice(0, -1)).not.toMatch(/[\r\n]/);
    expect(parseRecordedLine(line.slice(0, -1))).toEqual({ kind: "journal", rxMicros: 9, frame });
  });

  test("bytes that are not UTF-8 are kept exactly, in base64", () => {
    const buffer = new LineBuffer();
    const bytes = new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x0a, 0xc3, 0x28, 0x7d]);
    expect(buffer.appendFrame(bytes, 11)).toBe("b64");
    const line = text(buffer.view());
    expect(line).toMatch(/^\{"rx":11,"b64":"[A-Za-z0-9+/=]+"\}\n$/);
    const parsed = parseRecordedLine(line.slice(0, -1));
    expect(parsed.kind).toBe("binary");
    if (parsed.kind === "binary") expect([...parsed.bytes]).toEqual([...bytes]);
  });

  test("clear empties the buffer and gives back memory grown by a huge frame", () => {
    const buffer = new LineBuffer(1024);
    buffer.appendFrame(new Uint8Array(100_000).fill(0x61), 1);
    expect(buffer.byteLength).toBeGreaterThan(100_000);
    buffer.clear();
    expect(buffer.byteLength).toBe(0);
    expect(buffer.lines).toBe(0);
    buffer.appendFrame(utf8.encode("{}"), 2);
    expect(text(buffer.view())).toBe('{"rx":2,"m":{}}\n');
  });
});
