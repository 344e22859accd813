/**
 * The pair check before a capture: the exchange's pair list (fetchExchangePairs, against a local
 * server answering with real recorded trading-pairs-info bodies or with failures) and the check of
 * the pairs asked for (resolvePairs, parsePairList).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EXIT, isObcapError, type ObcapError } from "../../../../src/base/errors.ts";
import { DEFAULT_REST_URL, fetchExchangePairs, parsePairList, resolvePairs, type ExchangePair } from "../../../../src/exchange/bitstamp/pairs.ts";
import { restBodies } from "../../../support/fixtures.ts";

const PATH = "/api/v2/trading-pairs-info/";

/** The recorded bodies: 2021-04-17 (57 pairs, `eth2eth` not trading) and 2022-01-05 (140 pairs). */
const [BODY_2021, BODY_2022] = restBodies()
  .filter((b) => b.kind === "trading-pairs-info")
  .map((b) => b.text);

/** What the local exchange answers, by path: `/<case>/api/v2/trading-pairs-info/`. */
const ROUTES: Record<string, () => Response | Promise<Response>> = {
  "2021": () => new Response(BODY_2021, { headers: { "content-type": "application/json" } }),
  "2022": () => new Response(BODY_2022, { headers: { "content-type": "application/json" } }),
  "http-500": () => new Response("upstream broke", { status: 500 }),
  "not-json": () => new Response("<html>maintenance</html>", { headers: { "content-type": "text/html" } }),
  "not-a-list": () => Response.json({ error: "nope" }),
  "bad-row": () => Response.json([{ name: "BTC/USD", url_symbol: "btcusd", trading: "Enabled" }]),
  // Never answers: only the time bound ends the request.
  silent: () => new Promise<Response>(() => {}),
};

let server: ReturnType<typeof Bun.serve>;
let base: string;
/** Requests the server saw: path and Accept header. */
const seen: Array<{ path: string; accept: string | null }> = [];

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      seen.push({ path, accept: req.headers.get("accept") });
      const [, route, ...rest] = path.split("/");
      const answer = rest.length > 0 && `/${rest.join("/")}` === PATH ? ROUTES[route ?? ""] : undefined;
      return answer ? answer() : new Response("not found", { status: 404 });
    },
  });
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(() => {
  server.stop(true);
});

/** The ObcapError `promise` rejects with (fails the test if it resolves or rejects with anything else). */
async function rejection(promise: Promise<unknown>): Promise<ObcapError> {
  try {
    await promise;
  } catch (err) {
    if (isObcapError(err)) return err;
    throw new Error(`expected an ObcapError, got ${String(err)}`);
  }
  throw new Error("expected a rejection");
}

describe("fetchExchangePairs", () => {
  test("reads a real 2021 body: every url_symbol in order, trading status as `enabled`", async () => {
    const pairs = await fetchExchangePairs(`${base}/2021`);
    expect(pairs).toHaveLength(57);
    expect(pairs.slice(0, 3)).toEqual([
      { symbol: "btcusd", enabled: true },
      { symbol: "btceur", enabled: true },
      { symbol: "btcgbp", enabled: true },
    ]);
    expect(pairs.filter((p) => !p.enabled).map((p) => p.symbol)).toEqual(["eth2eth"]);
  });

  test("reads a real 2022 body (with instant_and_market_orders)", async () => {
    const pairs = await fetchExchangePairs(`${base}/2022`);
    expect(pairs).toHaveLength(140);
    expect(pairs.every((p) => p.enabled)).toBe(true);
    expect(pairs.map((p) => p.symbol)).toContain("btcusd");
  });

  test("GETs /api/v2/trading-pairs-info/ under the REST URL, trailing slashes dropped, asking for JSON", async () => {
    seen.length = 0;
    await fetchExchangePairs(`${base}/2021///`);
    expect(seen).toEqual([{ path: `/2021${PATH}`, accept: "application/json" }]);
  });

  test("HTTP 500: E_EXCHANGE_UNREACHABLE naming the URL and the status", async () => {
    const err = await rejection(fetchExchangePairs(`${base}/http-500`));
    expect(err.code).toBe("E_EXCHANGE_UNREACHABLE");
    expect(err.exitCode).toBe(EXIT.transient);
    expect(err.message).toBe(`GET ${base}/http-500${PATH} answered HTTP 500: cannot check the pairs; check --rest-url (default ${DEFAULT_REST_URL})`);
  });

  test("HTTP 404 (a wrong --rest-url): the same error with its status", async () => {
    const err = await rejection(fetchExchangePairs(`${base}/elsewhere`));
    expect(err.code).toBe("E_EXCHANGE_UNREACHABLE");
    expect(err.message).toStartWith(`GET ${base}/elsewhere${PATH} answered HTTP 404:`);
  });

  test("unreachable URL: E_EXCHANGE_UNREACHABLE with the cause", async () => {
    // A port that was just free: nothing listens there now.
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const url = `http://127.0.0.1:${closed.port}`;
    closed.stop(true);
    const err = await rejection(fetchExchangePairs(url));
    expect(err.code).toBe("E_EXCHANGE_UNREACHABLE");
    expect(err.message).toStartWith(`cannot read the pair list from ${url}${PATH} (`);
    expect(err.message).toEndWith(`); check the network or --rest-url (default ${DEFAULT_REST_URL})`);
    expect(err.cause).toBeInstanceOf(Error);
  });

  test("no answer within the time bound: E_EXCHANGE_UNREACHABLE", async () => {
    const started = performance.now();
    const err = await rejection(fetchExchangePairs(`${base}/silent`, 200));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(err.code).toBe("E_EXCHANGE_UNREACHABLE");
    expect(err.message).toStartWith(`cannot read the pair list from ${base}/silent${PATH} (`);
    expect((err.cause as Error).name).toBe("TimeoutError");
  });

  test("a body that is not JSON: E_EXCHANGE_UNREACHABLE (read error)", async () => {
    const err = await rejection(fetchExchangePairs(`${base}/not-json`));
    expect(err.code).toBe("E_EXCHANGE_UNREACHABLE");
    expect(err.message).toStartWith(`cannot read the pair list from ${base}/not-json${PATH} (`);
  });

  test("JSON that fails the schema: E_EXCHANGE_UNREACHABLE saying which fields", async () => {
    const notList = await rejection(fetchExchangePairs(`${base}/not-a-list`));
    expect(notList.code).toBe("E_EXCHANGE_UNREACHABLE");
    expect(notList.message).toStartWith(`the pair list from ${base}/not-a-list${PATH} is not Bitstamp's trading-pairs-info format:\n`);

    const badRow = await rejection(fetchExchangePairs(`${base}/bad-row`));
    expect(badRow.code).toBe("E_EXCHANGE_UNREACHABLE");
    expect(badRow.message).toStartWith(`the pair list from ${base}/bad-row${PATH} is not Bitstamp's trading-pairs-info format:\n`);
    for (const field of ["base_decimals", "counter_decimals", "minimum_order", "description"]) expect(badRow.message).toContain(field);
  });
});

const AVAILABLE: ExchangePair[] = [
  { symbol: "btcusd", enabled: true },
  { symbol: "ethusd", enabled: true },
  { symbol: "eth2eth", enabled: false },
  { symbol: "btcusd-perp", enabled: true },
  { symbol: "xrpeur", enabled: true },
  { symbol: "ltcbtc", enabled: true },
];

/** The ObcapError `fn` throws. */
function thrown(fn: () => unknown): ObcapError {
  try {
    fn();
  } catch (err) {
    if (isObcapError(err)) return err;
    throw new Error(`expected an ObcapError, got ${String(err)}`);
  }
  throw new Error("expected a throw");
}

describe("resolvePairs", () => {
  test("known pairs come back in the order given", () => {
    expect(resolvePairs(["ethusd", "btcusd-perp", "btcusd"], AVAILABLE)).toEqual(["ethusd", "btcusd-perp", "btcusd"]);
  });

  test('"all" is every pair the exchange lists as trading, in its order', () => {
    expect(resolvePairs(["all"], AVAILABLE)).toEqual(["btcusd", "ethusd", "btcusd-perp", "xrpeur", "ltcbtc"]);
  });

  test("a pair that is listed but not trading is accepted when named", () => {
    expect(resolvePairs(["eth2eth"], AVAILABLE)).toEqual(["eth2eth"]);
  });

  test("an unknown pair: E_PAIR_UNKNOWN with a did-you-mean for a near name, and examples", () => {
    const err = thrown(() => resolvePairs(["btcusd", "btcsud"], AVAILABLE));
    expect(err.code).toBe("E_PAIR_UNKNOWN");
    expect(err.exitCode).toBe(EXIT.usage);
    expect(err.message).toBe(
      "unknown pair 'btcsud' (did you mean 'btcusd'?): the exchange lists 6 pairs (e.g. btcusd, ethusd, eth2eth, btcusd-perp, xrpeur); " +
        "use their url_symbol, or --pair all",
    );
  });

  test("every unknown pair is named; no hint when nothing is within two edits", () => {
    const err = thrown(() => resolvePairs(["dogeusd", "ethus"], AVAILABLE));
    expect(err.code).toBe("E_PAIR_UNKNOWN");
    expect(err.message).toStartWith("unknown pair 'dogeusd', 'ethus' (did you mean 'ethusd'?): ");
  });

  test('"all" beside other pairs is not special here (parsePairList refuses it before)', () => {
    expect(thrown(() => resolvePairs(["all", "btcusd"], AVAILABLE)).code).toBe("E_PAIR_UNKNOWN");
  });

  test("against a real pair list", async () => {
    const available = await fetchExchangePairs(`${base}/2021`);
    expect(resolvePairs(["all"], available)).not.toContain("eth2eth");
    expect(resolvePairs(["all"], available)).toHaveLength(56);
    // The 2021 list has no perpetuals: too far from every name for a hint.
    expect(thrown(() => resolvePairs(["btcusd-perp"], available)).message).toBe(
      "unknown pair 'btcusd-perp': the exchange lists 57 pairs (e.g. btcusd, btceur, btcgbp, btcpax, btcusdc); use their url_symbol, or --pair all",
    );
  });
});

describe("parsePairList", () => {
  test("splits, trims and dedupes, keeping the first order", () => {
    expect(parsePairList(" btcusd, ethusd ,,btcusd,btcusd-perp ")).toEqual(["btcusd", "ethusd", "btcusd-perp"]);
    expect(parsePairList("all")).toEqual(["all"]);
  });

  test("E_USAGE for an empty list, all beside other pairs, or a name that is not a pair's", () => {
    const cases: Array<[string, string]> = [
      [" , ", "--pair is empty: give e.g. --pair btcusd,ethusd or --pair all"],
      ["all,btcusd", "--pair all cannot be combined with other pairs (got 'all,btcusd')"],
      ["BTCUSD", "--pair 'BTCUSD' is not a Bitstamp pair name: use the lower-case url_symbol such as btcusd or btcusd-perp"],
      ["btc/usd", "--pair 'btc/usd' is not a Bitstamp pair name: use the lower-case url_symbol such as btcusd or btcusd-perp"],
    ];
    for (const [value, message] of cases) {
      const err = thrown(() => parsePairList(value));
      expect(err.code).toBe("E_USAGE");
      expect(err.message).toBe(message);
    }
  });
});
