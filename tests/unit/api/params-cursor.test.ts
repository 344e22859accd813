/**
 * The API's query parameters (src/api/params.ts) and cursors (src/api/cursor.ts), without a table:
 * each bad value is a 400 naming its parameter; a cursor survives its round trip and anything else
 * in its place is refused; a request through the handler with a bad parameter never reaches the table.
 */
import { describe, expect, test } from "bun:test";
import { ApiError } from "../../../src/api/api-error.ts";
import { obcapError } from "../../../src/base/errors.ts";
import { createApi } from "../../../src/api/app.ts";
import { decodeCursor, encodeCursor } from "../../../src/api/cursor.ts";
import { BookQuery, EventsQuery, parseQuery } from "../../../src/api/params.ts";

const url = (query: string) => new URL(`http://x/v1/events?${query}`);

function refusal(run: () => unknown): ApiError {
  try {
    run();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("not refused");
}

describe("parameters", () => {
  test("times in every accepted form come out as the same µs; limit defaults to 100", () => {
    for (const from of ["2026-09-04T20:00:00Z", "2026-09-04T20:00", "1788552000", "1788552000000", "1788552000000000"]) {
      expect(parseQuery(EventsQuery, url(`pair=btcusd&from=${encodeURIComponent(from)}&to=1788552060`))).toEqual({ pair: "btcusd", from: 1_788_552_000_000_000, to: 1_788_552_060_000_000, limit: 100 });
    }
  });

  test("each bad value names its parameter and says why", () => {
    const cases: [string, string, RegExp][] = [
      ["from=2026-09-04", "pair", /pair is required/],
      ["pair=BTC&from=2026-09-04", "pair", /not a Bitstamp pair/],
      ["pair=btcusd&from=noon", "from", /from "noon" is not a time/],
      ["pair=btcusd&limit=1001", "limit", /above 1000/],
      ["pair=btcusd&limit=-1", "limit", /whole number/],
      ["pair=btcusd&type=trade", "type", /order_created/],
      ["pair=btcusd&frm=1", "frm", /unknown parameter frm/],
      ["pair=btcusd&limit=1&limit=2", "limit", /given twice/],
    ];
    for (const [query, parameter, message] of cases) {
      const error = refusal(() => parseQuery(EventsQuery, url(query)));
      expect({ status: error.status, parameter: error.parameter }).toEqual({ status: 400, parameter });
      expect(error.message).toMatch(message);
    }
    expect(refusal(() => parseQuery(BookQuery, url("pair=btcusd&at=1788552000&level=1"))).parameter).toBe("level");
  });
});

describe("cursors", () => {
  test("a cursor comes back as it was made", () => {
    const cursor = { v: 1 as const, r: "events" as const, p: "btcusd", o: 1_788_552_000_000_000, t: 1_788_555_600_000_000, n: 1_788_552_345_678_000, y: "order_deleted" };
    const text = encodeCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(text)).toEqual(cursor);
  });

  test("anything else is a 400 on cursor: garbage, other JSON, a position outside its range", () => {
    const b64 = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    for (const text of ["", "$$$", "bm90IGEgY3Vyc29y", b64("{}"), b64('{"v":1,"r":"events","p":"btcusd","o":10,"t":20,"n":30}'), b64('{"v":2,"r":"events","p":"btcusd","o":10,"t":20,"n":15}')]) {
      const error = refusal(() => decodeCursor(text));
      expect({ status: error.status, parameter: error.parameter }).toEqual({ status: 400, parameter: "cursor" });
    }
  });
});

describe("the handler before any read", () => {
  const never = () => Promise.reject(new Error("the table must not be read"));
  test("a bad parameter is a 400 JSON answer without touching the table; an unknown route a 404", async () => {
    const api = createApi({ reader: never });
    const bad = await api(new Request("http://x/v1/events?pair=btcusd&from=x&to=y"));
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "E_BAD_PARAMETER", parameter: "from" } });
    expect((await api(new Request("http://x/v1/nope"))).status).toBe(404);
  });

  test("a cursor carries the range and type: the next request may leave them out, or repeat them, but not change them", async () => {
    const down = () => Promise.reject(obcapError("E_DDB_UNREACHABLE", "test: the table is not read here"));
    const api = createApi({ reader: down });
    const cursor = encodeCursor({ v: 1, r: "events", p: "btcusd", o: 1_788_552_000_000_000, t: 1_788_555_600_000_000, n: 1_788_552_345_678_000, y: "order_deleted" });
    // 503: the parameters were accepted and the table was asked.
    expect((await api(new Request(`http://x/v1/events?pair=btcusd&cursor=${cursor}`))).status).toBe(503);
    expect((await api(new Request(`http://x/v1/events?pair=btcusd&type=order_deleted&from=1788552000&cursor=${cursor}`))).status).toBe(503);
    for (const changed of ["type=order_created", "from=1788552001", "to=2026-09-05"]) {
      const response = await api(new Request(`http://x/v1/events?pair=btcusd&${changed}&cursor=${cursor}`));
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { parameter: "cursor" } });
    }
    expect((await api(new Request(`http://x/v1/trades?pair=btcusd&cursor=${cursor}`))).status).toBe(400);
    expect((await api(new Request(`http://x/v1/events?pair=ethusd&cursor=${cursor}`))).status).toBe(400);
  });

  test("with a token: 401 before anything else, /health excepted", async () => {
    const api = createApi({ reader: never, token: "0123456789abcdef" });
    const response = await api(new Request("http://x/v1/events?pair=btcusd"));
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe("Bearer");
    const health = await api(new Request("http://x/health"));
    expect(health.status).toBe(503); // it tried the table: /health needs no token
  });
});
