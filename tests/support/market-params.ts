/**
 * Per-pair parameters for the frame generator: decimals from the real trading-pairs-info fixture
 * (`base_decimals` for amounts, `counter_decimals` for prices) and a plausible starting price.
 */
import { readFileSync } from "node:fs";

/** The real 2022 REST `trading-pairs-info` body the fake exchange serves by default. */
export const PAIRS_INFO_FIXTURE_URL = new URL("../fixtures/cryptofeed_2022-01-05_rest_trading_pairs_info.json", import.meta.url);

export interface PairInfoRow {
  url_symbol: string;
  name: string;
  base_decimals: number;
  counter_decimals: number;
  trading: string;
}

export interface MarketParams {
  pair: string;
  /** Decimals of `amount_str` (`base_decimals`). */
  baseDecimals: number;
  /** Decimals of `price_str` (`counter_decimals`). */
  counterDecimals: number;
  /** Starting price in ticks of 10^-counterDecimals. */
  startPriceTicks: number;
  /** Amount units (10^-baseDecimals) worth about 500 USD. */
  typicalAmountUnits: number;
}

/**
 * Rough USD value of one unit. btc from the 2026 group=2 snapshot fixture (79715.38), eth from the 2022
 * trade in bitstamp-protocol.md §2.2; the rest are ballpark levels, good enough for realistic magnitudes.
 */
const USD_PER_UNIT: Record<string, number> = {
  btc: 79715.38, eth: 3805.44, ltc: 150, xrp: 0.83, bch: 430, link: 18, xlm: 0.3, aave: 250, uni: 9,
  ada: 0.7, sol: 180, doge: 0.2, dot: 6, matic: 0.5, slp: 0.003, gala: 0.03, sgb: 0.01, dydx: 1.5,
  usd: 1, eur: 1.17, gbp: 1.35, usdt: 1, usdc: 1, pax: 1, gusd: 1, dai: 1, eurt: 1.17,
};

const KNOWN_QUOTES = ["usdt", "usdc", "usd", "eur", "gbp", "btc", "eth", "pax"];

let cachedRows: PairInfoRow[] | undefined;

/** Rows of a trading-pairs-info body (default: the real fixture). */
export function loadPairsInfo(body?: string): PairInfoRow[] {
  if (body !== undefined) return JSON.parse(body) as PairInfoRow[];
  cachedRows ??= JSON.parse(readFileSync(PAIRS_INFO_FIXTURE_URL, "utf8")) as PairInfoRow[];
  return cachedRows;
}

function splitPair(pair: string, row: PairInfoRow | undefined): [base: string, quote: string] {
  if (row) {
    const [base = "", quote = ""] = row.name.toLowerCase().split("/");
    return [base, quote];
  }
  const symbol = pair.replace(/-perp$/, "");
  const quote = KNOWN_QUOTES.find((q) => symbol.endsWith(q) && symbol.length > q.length) ?? "usd";
  return [symbol.slice(0, symbol.length - quote.length), quote];
}

/** Market parameters of `pair`; a pair missing from the list gets 8 base decimals and 2 (fiat) or 8 counter. */
export function marketParams(pair: string, rows: readonly PairInfoRow[]): MarketParams {
  const row = rows.find((r) => r.url_symbol === pair);
  const [base, quote] = splitPair(pair, row);
  const baseDecimals = row?.base_decimals ?? 8;
  const counterDecimals = row?.counter_decimals ?? (quote === "btc" || quote === "eth" ? 8 : 2);
  const baseUsd = USD_PER_UNIT[base] ?? 1;
  const quoteUsd = USD_PER_UNIT[quote] ?? 1;
  // At least 100 ticks so that price offsets of a few ticks stay plausible.
  const startPriceTicks = Math.max(100, Math.round((baseUsd / quoteUsd) * 10 ** counterDecimals));
  const typicalAmountUnits = Math.max(1, Math.round((500 / baseUsd) * 10 ** baseDecimals));
  return { pair, baseDecimals, counterDecimals, startPriceTicks, typicalAmountUnits };
}
