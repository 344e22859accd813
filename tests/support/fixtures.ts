/**
 * Raw readers for tests/fixtures (real recorded Bitstamp messages; README.md there gives provenance).
 * Everything comes back as the recorded text: never JSON.parse then stringify, so tests compare
 * against the exchange's own bytes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURES_DIR = fileURLToPath(new URL("../fixtures", import.meta.url));

/** Server-sent WebSocket frames, one per line (the 2026-09-04 file has `_recv_ns` appended by its recorder). */
const WS_SERVER_FILES = [
  "cryptofeed_2021-04-17_ws_server.ndjson",
  "crypto-msg-parser_ws_raw.ndjson",
  "crypto-msg-parser_ws_reserialized.ndjson",
  "live_orders_2026-08-09_te_recorder_test.ndjson",
  "live_orders_2026-09-04_lob_decoder_test_with_recv_ns.ndjson",
] as const;

/** A fixture line with where it came from (`file:line`), for test names and failure messages. */
export interface FixtureFrame {
  where: string;
  text: string;
}

export type RestBodyKind = "trading-pairs-info" | "order-book-group1" | "order-book-group2";

export interface RestBody extends FixtureFrame {
  kind: RestBodyKind;
}

/** The lines of one fixture file, exactly as stored (no trailing empty line). */
export function fixtureLines(name: string): string[] {
  const text = readFileSync(join(FIXTURES_DIR, name), "utf8");
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/**
 * Removes the recorder's `,"_recv_ns":<digits>` from the end of a line (2026-09-04 fixture, see its
 * README row): what is left is the server's frame.
 */
export function stripRecvNs(line: string): string {
  return line.replace(/,"_recv_ns":\d+\}$/, "}");
}

function entries(name: string): FixtureFrame[] {
  return fixtureLines(name).map((text, i) => ({ where: `${name}:${i + 1}`, text: stripRecvNs(text) }));
}

/** Every real server-sent WS frame across the fixture files, with `where`. */
export function wsServerFrameEntries(): FixtureFrame[] {
  return WS_SERVER_FILES.flatMap(entries);
}

/** Every real server-sent WS frame (including the one re-serialized by Python, with spaces and `1e-08`). */
export function allWsServerFrames(): string[] {
  return wsServerFrameEntries().map((f) => f.text);
}

const STORED_CHANNEL_RE = /"channel": ?"live_(?:orders|trades)_/;
const CONTROL_EVENT_RE = /"event": ?"bts:/;

/** `live_orders` and `live_trades` event frames (what obcap stores), with `where`. */
export function orderAndTradeFrameEntries(): FixtureFrame[] {
  return wsServerFrameEntries().filter((f) => STORED_CHANNEL_RE.test(f.text) && !CONTROL_EVENT_RE.test(f.text));
}

/** `live_orders` and `live_trades` event frames. */
export function orderAndTradeFrames(): string[] {
  return orderAndTradeFrameEntries().map((f) => f.text);
}

/** Real `bts:*` frames (all are `bts:subscription_succeeded`: nothing else was recorded byte-exact). */
export function controlFrames(): string[] {
  return wsServerFrameEntries()
    .filter((f) => CONTROL_EVENT_RE.test(f.text))
    .map((f) => f.text);
}

/** Book channel frames (`order_book`, `diff_order_book`, ...): valid, not stored. */
export function bookFrames(): string[] {
  return wsServerFrameEntries()
    .filter((f) => /"channel": ?"(?:detail_|diff_)?order_book_/.test(f.text) && !CONTROL_EVENT_RE.test(f.text))
    .map((f) => f.text);
}

/** Client frames cryptofeed sent (subscribe), byte-exact. */
export function clientSentFrames(): string[] {
  return fixtureLines("cryptofeed_2021-04-17_ws_client_sent.ndjson");
}

/** Real REST bodies with their kind (some trimmed by their authors, see README). */
export function restBodies(): RestBody[] {
  const of = (name: string, kind: RestBodyKind): RestBody[] => entries(name).map((e) => ({ ...e, kind }));
  return [
    ...of("cryptofeed_2021-04-17_rest_trading_pairs_info.json", "trading-pairs-info"),
    ...of("cryptofeed_2022-01-05_rest_trading_pairs_info.json", "trading-pairs-info"),
    ...of("cryptofeed_rest_order_book_group1.ndjson", "order-book-group1"),
    ...of("crypto-msg-parser_rest_order_book_group1_truncated.json", "order-book-group1"),
    ...of("rest_order_book_group2_2026-09-04_lob_decoder_test_TRIMMED.json", "order-book-group2"),
  ];
}
