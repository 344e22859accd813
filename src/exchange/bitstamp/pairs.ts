/**
 * Pair list from the exchange, and the check of the pairs a user asked for.
 *
 * Why: Bitstamp answers `bts:subscription_succeeded` for an unknown lower-case pair and then sends
 * nothing, forever (bitstamp-protocol.md §1.2 caveat). An unchecked typo would capture silence.
 */
import * as v from "valibot";
import { obcapError } from "../../base/errors.ts";
import { PAIR_PATTERN } from "../../model/channels.ts";

/** One row of REST `GET /api/v2/trading-pairs-info/` (2021 rows lack `instant_and_market_orders`). */
const TradingPairInfoSchema = v.looseObject({
  name: v.string(),
  url_symbol: v.string(),
  base_decimals: v.pipe(v.number(), v.integer()),
  counter_decimals: v.pipe(v.number(), v.integer()),
  trading: v.string(),
  minimum_order: v.string(),
  description: v.string(),
  instant_and_market_orders: v.optional(v.string()),
});

export const TradingPairsInfoSchema = v.array(TradingPairInfoSchema);

/** Bitstamp's public REST base. */
export const DEFAULT_REST_URL = "https://www.bitstamp.net";

/** Bitstamp closes a connection silently at the 1,025th subscription (bitstamp-protocol.md §1.5). */
export const MAX_CHANNELS_PER_CONNECTION = 1024;

export interface ExchangePair {
  /** `url_symbol`, the name used in channels. */
  symbol: string;
  /** Whether the exchange lists it as trading ("Enabled"). */
  enabled: boolean;
}

/** GET `<restUrl>/api/v2/trading-pairs-info/`, bounded by `timeoutMs`. */
export async function fetchExchangePairs(restUrl: string, timeoutMs = 10_000): Promise<ExchangePair[]> {
  const url = `${restUrl.replace(/\/+$/, "")}/api/v2/trading-pairs-info/`;
  let body: unknown;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/json" } });
    if (!res.ok) {
      throw obcapError(
        "E_EXCHANGE_UNREACHABLE",
        `GET ${url} answered HTTP ${res.status}: cannot check the pairs; check --rest-url (default ${DEFAULT_REST_URL})`,
      );
    }
    body = await res.json();
  } catch (err) {
    if (err instanceof Error && err.name === "ObcapError") throw err;
    throw obcapError(
      "E_EXCHANGE_UNREACHABLE",
      `cannot read the pair list from ${url} (${err instanceof Error ? err.message : String(err)}); ` +
        `check the network or --rest-url (default ${DEFAULT_REST_URL})`,
      err,
    );
  }
  const parsed = v.safeParse(TradingPairsInfoSchema, body);
  if (!parsed.success) {
    throw obcapError(
      "E_EXCHANGE_UNREACHABLE",
      `the pair list from ${url} is not Bitstamp's trading-pairs-info format:\n${v.summarize(parsed.issues)}`,
    );
  }
  return parsed.output.map((row) => ({ symbol: row.url_symbol, enabled: row.trading === "Enabled" }));
}

/**
 * Turns `--pair` values (comma lists, or `all`) into the exchange's symbols, in the order given.
 * Throws E_USAGE for malformed names and E_PAIR_UNKNOWN for names the exchange does not list.
 */
export function resolvePairs(requested: readonly string[], available: readonly ExchangePair[]): string[] {
  const known = new Map(available.map((p) => [p.symbol, p]));
  if (requested.length === 1 && requested[0] === "all") {
    return available.filter((p) => p.enabled).map((p) => p.symbol);
  }
  const unknown: string[] = [];
  for (const pair of requested) {
    if (!known.has(pair)) unknown.push(pair);
  }
  if (unknown.length > 0) {
    const hints = unknown.map((pair) => {
      const near = closest(pair, [...known.keys()]);
      return near ? `'${pair}' (did you mean '${near}'?)` : `'${pair}'`;
    });
    throw obcapError(
      "E_PAIR_UNKNOWN",
      `unknown pair ${hints.join(", ")}: the exchange lists ${known.size} pairs (e.g. ${[...known.keys()].slice(0, 5).join(", ")}); ` +
        `use their url_symbol, or --pair all`,
    );
  }
  return [...requested];
}

/** Splits and checks the syntax of `--pair` values before any network call. */
export function parsePairList(value: string): string[] {
  const pairs = value
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (pairs.length === 0) throw obcapError("E_USAGE", "--pair is empty: give e.g. --pair btcusd,ethusd or --pair all");
  if (pairs.includes("all")) {
    if (pairs.length > 1) throw obcapError("E_USAGE", `--pair all cannot be combined with other pairs (got '${value}')`);
    return pairs;
  }
  for (const pair of pairs) {
    if (!PAIR_PATTERN.test(pair)) {
      throw obcapError(
        "E_USAGE",
        `--pair '${pair}' is not a Bitstamp pair name: use the lower-case url_symbol such as btcusd or btcusd-perp`,
      );
    }
  }
  return [...new Set(pairs)];
}

/** The nearest known name by edit distance, if it is close enough to be a likely typo. */
function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3; // more than two edits is not a typo
  for (const candidate of candidates) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
