import { describe, expect, test } from "bun:test";
import { parseCsv } from "../../support/csv-reader.ts";
import { decodeFrame } from "../../../src/exchange/bitstamp/decode.ts";
import { CSV_COLUMNS, csvCell, csvHeader, csvRow } from "../../../src/export/csv-rows.ts";
import type { MarketEvent } from "../../../src/model/events.ts";
import { toPlainDecimal } from "../../../src/store/dynamodb/decimal.ts";
import { orderAndTradeFrames } from "../../support/fixtures.ts";

function eventOf(frame: string, rx = 1_788_551_766_927_713): MarketEvent {
  const result = decodeFrame(frame, rx);
  if (result.kind !== "event") throw new Error(`not an event: ${frame}`);
  return result.event;
}


const ORDER_2026 =
  '{"data":{"id":2046839978799111,"id_str":"2046839978799111","order_type":0,"order_subtype":5,"datetime":"1788551766","microtimestamp":"1788551766357000","amount":0.00137276,"amount_str":"0.00137276","amount_traded":"0","amount_at_create":"0.00137276","price":71743.85,"price_str":"71743.85","is_liquidation":false},"channel":"live_orders_btcusd","event":"order_created","event_id":"00065aad-a8b2-3408-0000-000102000020","pre_event_id":"00065aad-a8b2-14c8-0000-000101000020","order_source":"orderbook"}';
const TRADE_2022 =
  '{"data":{"id":216000477,"timestamp":"1641343699","amount":0.0792,"amount_str":"0.07920000","price":3805.44,"price_str":"3805.44","type":0,"microtimestamp":"1641343699596000","buy_order_id":1443875737346049,"sell_order_id":1443875731320832},"channel":"live_trades_ethusd","event":"trade"}';
/** 19-digit ids above 2^53, an exponent amount, a 2022-era order without amount_traded. */
const ORDER_EXACT =
  '{"data":{"id":9223372036854775807,"order_type":1,"datetime":"1641343699","microtimestamp":"1641343699596001","amount":1e-8,"amount_str":"1E-8","price":0.000012345678901,"price_str":"0.000012345678901"},"channel":"live_orders_shibusd","event":"order_changed"}';

describe("csv rows", () => {
  test("the header names every column once, and every row has as many cells", () => {
    const rows = parseCsv(csvHeader() + csvRow(eventOf(ORDER_2026)) + csvRow(eventOf(TRADE_2022)) + csvRow(eventOf(ORDER_EXACT)));
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(new Set(rows[0]).size).toBe(CSV_COLUMNS.length);
    for (const row of rows) expect(row.length).toBe(CSV_COLUMNS.length);
  });

  test("an order event: exact strings, side from order_type, chain id", () => {
    const [, row] = parseCsv(csvHeader() + csvRow(eventOf(ORDER_2026)));
    const cell = Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, row![i]]));
    expect(cell).toEqual({
      exchange_time_us: "1788551766357000",
      receive_time_us: "1788551766927713",
      pair: "btcusd",
      stream: "orders",
      event: "order_created",
      id: "2046839978799111",
      side: "bid",
      price: "71743.85",
      amount: "0.00137276",
      amount_traded: "0",
      amount_at_create: "0.00137276",
      order_subtype: "5",
      buy_order_id: "",
      sell_order_id: "",
      event_id: "00065aad-a8b2-3408-0000-000102000020",
    });
  });

  test("a trade: the taker's side, both order ids, trailing zeros kept", () => {
    const [, row] = parseCsv(csvHeader() + csvRow(eventOf(TRADE_2022)));
    const cell = Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, row![i]]));
    expect(cell.side).toBe("buy");
    expect(cell.amount).toBe("0.07920000");
    expect(cell.price).toBe("3805.44");
    expect(cell.buy_order_id).toBe("1443875737346049");
    expect(cell.sell_order_id).toBe("1443875731320832");
    expect(cell.id).toBe("216000477");
    expect(cell.amount_traded).toBe("");
  });

  test("ids above 2^53 keep every digit; exponent decimals are written out; fields an era lacks stay empty", () => {
    const [, row] = parseCsv(csvHeader() + csvRow(eventOf(ORDER_EXACT)));
    const cell = Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, row![i]]));
    expect(cell.id).toBe("9223372036854775807");
    expect(cell.amount).toBe("0.00000001");
    expect(cell.price).toBe("0.000012345678901");
    expect(cell.side).toBe("ask");
    expect(cell.amount_traded).toBe("");
    expect(cell.order_subtype).toBe("");
    expect(cell.event_id).toBe("");
  });

  test("every recorded order and trade frame gives a row whose decimals equal the frame's strings (exponent forms written out)", () => {
    const plain = (text: string) => (/e/i.test(text) ? toPlainDecimal(text) : text);
    const frames = orderAndTradeFrames();
    expect(frames.length).toBeGreaterThan(20);
    const rows = parseCsv(csvHeader() + frames.map((f) => csvRow(eventOf(f))).join("")).slice(1);
    frames.forEach((frame, i) => {
      const data = (JSON.parse(frame) as { data: { price_str: string; amount_str: string } }).data;
      const row = rows[i]!;
      expect(row[CSV_COLUMNS.indexOf("price")]).toBe(plain(data.price_str));
      expect(row[CSV_COLUMNS.indexOf("amount")]).toBe(plain(data.amount_str));
    });
  });

  test("a cell with a comma, a quote or a line break is quoted so the row stays whole", () => {
    expect(csvCell("plain")).toBe("plain");
    expect(parseCsv(`${csvCell('a,"b"\r\nc')},x\r\n`)).toEqual([['a,"b"\r\nc', "x"]]);
  });
});
