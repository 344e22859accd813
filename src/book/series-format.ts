/**
 * Text renderings of series rows (book-series.ts), decimals exactly as the book shows them.
 *
 * CSV (RFC 4180: comma-separated, CRLF line ends, a header line): `time_us`, then `bid_price_1`,
 * `bid_amount_1`, ..., `bid_price_N`, `bid_amount_N`, then the same for asks; a level that does not
 * exist gives two empty cells. No cell ever needs quoting (integers and plain decimals only).
 * NDJSON: one JSON object per line, `{"time_us":...,"bids":[{"price","amount","orders"}...],"asks":[...]}`,
 * decimals as strings so that no JSON reader turns them into floats.
 */
import type { SeriesRow } from "./book-series.ts";
import type { L2Level } from "./price-level.ts";

const CRLF = "\r\n";

/** The CSV header line for `depth` levels per side (with its line end). */
export function seriesCsvHeader(depth: number): string {
  const cells = ["time_us"];
  for (const side of ["bid", "ask"]) for (let i = 1; i <= depth; i++) cells.push(`${side}_price_${i}`, `${side}_amount_${i}`);
  return cells.join(",") + CRLF;
}

/** One CSV line (with its line end); `depth` must be the header's. */
export function seriesCsvRow(row: SeriesRow, depth: number): string {
  let line = String(row.timeMicros);
  line += levelCells(row.bids, depth);
  line += levelCells(row.asks, depth);
  return line + CRLF;
}

function levelCells(levels: readonly L2Level[], depth: number): string {
  let cells = "";
  for (let i = 0; i < depth; i++) {
    const level = levels[i];
    cells += level === undefined ? ",," : `,${level.price},${level.amount}`;
  }
  return cells;
}

/** One NDJSON line (with its "\n"). */
export function seriesNdjsonRow(row: SeriesRow): string {
  return JSON.stringify({ time_us: row.timeMicros, bids: row.bids, asks: row.asks }) + "\n";
}
