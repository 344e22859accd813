/**
 * src/book/series-format.ts: the CSV is read back by an RFC 4180 parser written here (quoted fields,
 * doubled quotes, CRLF records), and every decimal digit must come back; the NDJSON is read back with
 * JSON.parse, decimals as strings.
 */
import { describe, expect, test } from "bun:test";
import { bookSeries, type SeriesRow } from "../../../src/book/book-series.ts";
import { L3Book } from "../../../src/book/l3-book.ts";
import { seriesCsvHeader, seriesCsvRow, seriesNdjsonRow } from "../../../src/book/series-format.ts";

/** RFC 4180: records end in CRLF; a field is plain (no comma, quote, CR, LF) or quoted with "" for a quote. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error("unterminated quoted field");
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text[i++];
      }
    } else {
      while (i < text.length && text[i] !== "," && text[i] !== "\r" && text[i] !== "\n") {
        if (text[i] === '"') throw new Error(`quote inside an unquoted field at ${i}`);
        field += text[i++];
      }
    }
    record.push(field);
    if (text[i] === ",") {
      i++;
    } else if (text.startsWith("\r\n", i)) {
      records.push(record);
      record = [];
      i += 2;
    } else if (i < text.length) {
      throw new Error(`expected a comma or CRLF at ${i}, found ${JSON.stringify(text[i])}`);
    }
  }
  if (record.length > 0) throw new Error("the last record has no CRLF");
  return records;
}

test("the test's CSV parser reads quoting and refuses a bare LF (it can fail)", () => {
  expect(parseCsv('a,"b,""c""",\r\n1,2,3\r\n')).toEqual([["a", 'b,"c"', ""], ["1", "2", "3"]]);
  expect(() => parseCsv("a,b\n")).toThrow();
  expect(() => parseCsv("a,b")).toThrow();
});

/** A book whose levels need every kind of digit: 30 decimals, sums beyond 2^53 units, exponent input. */
function rows(): SeriesRow[] {
  const book = new L3Book();
  const at = 1_788_551_766_000_000;
  book.upsertOrder("1", "bid", "79715.38", "0.06272315", at);
  book.upsertOrder("2", "bid", "79715.38", "0.39542753", at);
  book.upsertOrder("3", "bid", "0.000000000000000000000000000001", "123456789012.12345678", at);
  book.upsertOrder("4", "bid", "0.000000000000000000000000000001", "0.000000000000000000000000000001", at);
  book.upsertOrder("5", "ask", "7.9730E+4", "1E-8", at);
  return [...bookSeries({ events: [], start: book, fromMicros: at, toMicros: at + 1000, everyMicros: 1000, depth: 3 })];
}

describe("CSV", () => {
  test("header, one record per step, exact decimals, empty cells for missing levels", () => {
    const text = seriesCsvHeader(3) + rows().map((r) => seriesCsvRow(r, 3)).join("");
    const records = parseCsv(text);
    expect(records[0]).toEqual([
      "time_us",
      "bid_price_1", "bid_amount_1", "bid_price_2", "bid_amount_2", "bid_price_3", "bid_amount_3",
      "ask_price_1", "ask_amount_1", "ask_price_2", "ask_amount_2", "ask_price_3", "ask_amount_3",
    ]);
    expect(records.slice(1)).toEqual([
      [
        "1788551766000000",
        "79715.38", "0.45815068", "0.000000000000000000000000000001", "123456789012.123456780000000000000000000001", "", "",
        "79730", "0.00000001", "", "", "", "",
      ],
      [
        "1788551766001000",
        "79715.38", "0.45815068", "0.000000000000000000000000000001", "123456789012.123456780000000000000000000001", "", "",
        "79730", "0.00000001", "", "", "", "",
      ],
    ]);
  });

  test("every cell is the book's own text, byte for byte", () => {
    const [row] = rows();
    const cells = parseCsv(seriesCsvRow(row!, 3))[0]!;
    const fromBook = [String(row!.timeMicros), ...[...row!.bids, ...row!.asks].flatMap((l) => [l.price, l.amount])];
    expect(cells.filter((c) => c !== "")).toEqual(fromBook);
  });
});

describe("NDJSON", () => {
  test("one JSON object per line; decimals are strings, unchanged", () => {
    const lines = rows().map(seriesNdjsonRow);
    expect(lines.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n"))).toBe(true);
    const first = JSON.parse(lines[0]!) as { time_us: number; bids: { price: string; amount: string; orders: number }[]; asks: unknown[] };
    expect(first.time_us).toBe(1_788_551_766_000_000);
    expect(first.bids[1]).toEqual({ price: "0.000000000000000000000000000001", amount: "123456789012.123456780000000000000000000001", orders: 2 });
    expect(first.asks).toEqual([{ price: "79730", amount: "0.00000001", orders: 1 }]);
  });
});
