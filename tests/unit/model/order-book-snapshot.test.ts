/**
 * The order book snapshot record (src/model/order-book-snapshot.ts): the body kept byte for byte in
 * one of its three forms, the journal line round trip, and the checks of the pipeline Worker against
 * hostile bodies (not JSON, not UTF-8, wrong types, floats for strings, a body that tries to close
 * the record) and against forged or edited records.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { decodeFrame, decodeOwnRecord } from "../../../src/exchange/bitstamp/decode.ts";
import { journalLine, ownLine, parseRecordedLine } from "../../../src/journal/journal-line.ts";
import {
  buildSnapshotRecord, readSnapshotRecord, snapshotRecordHead, SnapshotRecordHeadSchema, type SnapshotFetch,
} from "../../../src/model/order-book-snapshot.ts";
import { FIXTURES_DIR } from "../../support/fixtures.ts";

const FIXTURE_FILE = readFileSync(join(FIXTURES_DIR, "rest_order_book_group2_2026-09-04_lob_decoder_test_TRIMMED.json"), "utf8");
/** The fixture holds the body as one line: its final newline ends the line. */
const FIXTURE_BODY = FIXTURE_FILE.replace(/\n$/, "");
const REQUESTED = 1_788_551_766_900_000;
const RECEIVED = 1_788_551_767_100_000;
const RX = 1_788_551_767_100_123;

const bytes = (text: string) => new TextEncoder().encode(text);
const fetchOf = (body: Uint8Array | string, pair = "btcusd"): SnapshotFetch => ({
  pair, requestedMicros: REQUESTED, receivedMicros: RECEIVED, body: typeof body === "string" ? bytes(body) : body,
});

/** Built record -> journal line -> parsed line -> checked record. */
function throughJournal(body: Uint8Array | string) {
  const built = buildSnapshotRecord(fetchOf(body));
  const line = ownLine(RX, built.record);
  expect(line.indexOf("\n")).toBe(line.length - 1); // one line, whatever the body holds
  const parsed = parseRecordedLine(line.slice(0, -1));
  if (parsed.kind !== "own") throw new Error(`not an own line: ${parsed.kind}`);
  expect(parsed.record).toBe(built.record);
  return { built, line, read: readSnapshotRecord(parsed.record, parsed.rxMicros) };
}

describe("the record keeps the body exactly", () => {
  test("a one-line JSON body (the real group=2 fixture) is embedded as it came, spaces and all", () => {
    const { built, line, read } = throughJournal(FIXTURE_BODY);
    expect(built.form).toBe("json");
    expect(built.record).toBe(`{"event":"obcap:snapshot","pair":"btcusd","data":{"requested_us":"${REQUESTED}","received_us":"${RECEIVED}","body":${FIXTURE_BODY}}}`);
    expect({ bids: built.bids, asks: built.asks }).toEqual({ bids: 4, asks: 2 });
    // The line is valid JSON and `.obcap.data.body` is the book.
    expect((JSON.parse(line) as { obcap: { data: { body: { microtimestamp: string } } } }).obcap.data.body.microtimestamp).toBe("1788551766754717");
    expect(read).toEqual({
      ok: true,
      snapshot: {
        pair: "btcusd", requestedMicros: REQUESTED, receivedMicros: RECEIVED, rxMicros: RX, bodyText: FIXTURE_BODY,
        timestamp: "1788551766", microtimestamp: "1788551766754717", bids: 4, asks: 2, book: JSON.parse(FIXTURE_BODY),
      },
    });
  });

  test("a body ending with a newline, or pretty-printed over lines, is a JSON string (body_text) and reads back to the same text", () => {
    for (const body of [FIXTURE_FILE, JSON.stringify(JSON.parse(FIXTURE_BODY), null, 2), FIXTURE_BODY.replaceAll(", ", ",\r\n")]) {
      const { built, read } = throughJournal(body);
      expect(built.form).toBe("text");
      expect(built.record.startsWith(snapshotRecordHead("btcusd", REQUESTED, RECEIVED, "text"))).toBe(true);
      expect(read.ok && read.snapshot.bodyText).toBe(body);
    }
  });

  test("a body that is not UTF-8 is kept in base64 and refused as E_FRAME_UTF8", () => {
    const body = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);
    const { built, read } = throughJournal(body);
    expect(built.form).toBe("b64");
    expect(built.record).toContain(`"body_b64":"${btoa(String.fromCharCode(...body))}"`);
    expect(read).toMatchObject({ ok: false, code: "E_FRAME_UTF8" });
  });

  test("a byte order mark stays in the body (and makes it not JSON)", () => {
    const { built, read } = throughJournal(`\uFEFF${FIXTURE_BODY}`);
    expect(built.form).toBe("text");
    expect(JSON.parse(built.record.slice(built.record.indexOf('"body_text":') + 12, -2))).toBe(`\uFEFF${FIXTURE_BODY}`);
    expect(read).toMatchObject({ ok: false, code: "E_FRAME_JSON" });
  });

  test("the same body gives the same record text, byte for byte (export rebuilds it so)", () => {
    for (const body of [FIXTURE_BODY, FIXTURE_FILE, "not json{", new Uint8Array([0xff])]) {
      expect(buildSnapshotRecord(fetchOf(body)).record).toBe(buildSnapshotRecord(fetchOf(typeof body === "string" ? body : body.slice())).record);
    }
  });

  test("refuses to build a record for a pair that is not a url_symbol (it goes into the record unescaped)", () => {
    expect(() => buildSnapshotRecord(fetchOf(FIXTURE_BODY, 'btc"usd'))).toThrow(RangeError);
    expect(() => buildSnapshotRecord(fetchOf(FIXTURE_BODY, "BTCUSD"))).toThrow(RangeError);
  });
});

describe("hostile bodies are refused with a clear reason, never stored", () => {
  const refused = (body: string) => {
    const { read } = throughJournal(body);
    if (read.ok) throw new Error("accepted");
    return read;
  };

  test("not JSON: an HTML error page answered with 200", () => {
    const read = refused("<html><body><h1>503 Service Unavailable</h1></body></html>");
    expect(read.code).toBe("E_FRAME_JSON");
    expect(read.reason).toContain("order book snapshot of btcusd");
    expect(read.reason).toContain("<html>");
  });

  test("floats instead of strings, wrong types, missing sides, short rows", () => {
    const cases: Array<[string, string]> = [
      [FIXTURE_BODY.replace('["79715.38", "0.06272315"', '[79715.38, "0.06272315"'), "bids.0.0"],
      [FIXTURE_BODY.replace('"0.18816587"', "0.18816587"), "asks.0.1"],
      [FIXTURE_BODY.replace('"2046839968690178"', "2046839968690178"), "bids.0.2"],
      [FIXTURE_BODY.replace('"microtimestamp": "1788551766754717"', '"microtimestamp": 1788551766754717'), "microtimestamp"],
      [FIXTURE_BODY.replace('"microtimestamp": "1788551766754717"', '"microtimestamp": "17885517667547170"'), "microtimestamp"],
      [FIXTURE_BODY.replace(/, "asks": \[.*\]\}$/, "}"), "asks"],
      [FIXTURE_BODY.replace('["79728.11", "0.18816587", "2046839978831872"]', '["79728.11", "0.18816587"]'), "asks.0"],
      [FIXTURE_BODY.replace('"79715.24"', '"79,715.24"'), "bids.2.0"],
      ["[]", "Invalid key"],
    ];
    for (const [body, where] of cases) {
      const read = refused(body);
      expect({ body: body.slice(0, 60), code: read.code }).toEqual({ body: body.slice(0, 60), code: "E_FRAME_INVALID" });
      expect(read.reason).toContain(where);
    }
  });

  test("a body that tries to close obcap's record and add its own fields stays inside the record", () => {
    const forged = '{"bids":[],"asks":[]}}},"obcap":{"event":"obcap:gap","channels":["live_orders_btcusd"],"data":{"start_us":"1","end_us":"2","reason":"stale"}';
    const { built, line, read } = throughJournal(forged);
    expect(built.form).toBe("text"); // not valid JSON: never embedded raw
    const parsed = JSON.parse(line) as { obcap: { event: string; data: { body_text: string } } };
    expect(parsed.obcap.event).toBe("obcap:snapshot");
    expect(parsed.obcap.data.body_text).toBe(forged);
    expect(read).toMatchObject({ ok: false, code: "E_FRAME_JSON" });
  });

  test("a valid body whose strings hold obcap's own syntax is only data", () => {
    const body = FIXTURE_BODY.replace(/\}$/, ', "note": "}}},\\"event\\":\\"obcap:gap\\""}');
    const { built, read } = throughJournal(body);
    expect(built.form).toBe("json");
    expect(read.ok && read.snapshot.bodyText).toBe(body);
    expect(decodeOwnRecord(built.record, RX).kind).toBe("snapshot");
  });

  test("an empty body", () => {
    expect(refused("").code).toBe("E_FRAME_JSON");
  });
});

describe("only obcap can write a snapshot record", () => {
  test("a frame from the network using obcap:snapshot is rejected as a forgery, and journaled as a frame, never as an own record", () => {
    const frame = `{"event":"obcap:snapshot","channel":"live_orders_btcusd","data":${FIXTURE_BODY}}`;
    const decoded = decodeFrame(frame, RX);
    expect(decoded.kind).toBe("invalid");
    expect(decoded.kind === "invalid" && decoded.code).toBe("E_FRAME_INVALID");
    expect(decoded.kind === "invalid" && decoded.message).toContain("reserved");
    expect(parseRecordedLine(journalLine(RX, frame).slice(0, -1)).kind).toBe("journal");
    // A plain recorded line (replay) that looks like the record is a frame too: refused the same way.
    const plain = parseRecordedLine(buildSnapshotRecord(fetchOf(FIXTURE_BODY)).record);
    expect(plain.kind).toBe("frame");
    expect(decodeFrame((plain as { frame: string }).frame, 0).kind).toBe("invalid");
  });

  test("a record in another layout, with the body as body_text when it is one line of JSON, or with times out of order, is refused", () => {
    const good = buildSnapshotRecord(fetchOf(FIXTURE_BODY)).record;
    const reordered = `{"pair":"btcusd","event":"obcap:snapshot","data":{"requested_us":"${REQUESTED}","received_us":"${RECEIVED}","body":${FIXTURE_BODY}}}`;
    const asText = `${snapshotRecordHead("btcusd", REQUESTED, RECEIVED, "text")}${JSON.stringify(FIXTURE_BODY)}}}`;
    const backwards = good.replace(`"requested_us":"${REQUESTED}","received_us":"${RECEIVED}"`, `"requested_us":"${RECEIVED}","received_us":"${REQUESTED}"`);
    const badPair = good.replace('"pair":"btcusd"', '"pair":"BTC/USD"');
    const cut = good.slice(0, -1);
    for (const [record, says] of [[reordered, "not in the form"], [asText, "body_text holds one line of JSON"], [backwards, "received_us must not be before requested_us"], [badPair, "url_symbol"], [cut, "the body is not JSON"]] as const) {
      const decoded = decodeOwnRecord(record, RX);
      expect({ says, kind: decoded.kind }).toEqual({ says, kind: "invalid" });
      expect(decoded.kind === "invalid" && decoded.message).toContain(says);
    }
  });

  test("the head schema accepts what obcap writes", () => {
    expect(v.safeParse(SnapshotRecordHeadSchema, { event: "obcap:snapshot", pair: "btcusd-perp", data: { requested_us: "1", received_us: "2" } }).success).toBe(true);
    expect(v.safeParse(SnapshotRecordHeadSchema, { event: "obcap:gap", pair: "btcusd", data: { requested_us: "1", received_us: "2" } }).success).toBe(false);
  });
});
