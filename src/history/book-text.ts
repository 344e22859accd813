/**
 * How `obcap book --at` shows a book: JSON (decimals as strings, so no reader turns them into floats)
 * or a table for a terminal. Depth and L3 (the queue of orders at each level) as asked.
 */
import type { L2Level } from "../book/price-level.ts";
import { isoOfMicros, type BookAt } from "./book-at.ts";

export interface BookViewOptions {
  depth: number;
  /** Include each level's orders in queue order. */
  l3: boolean;
}

interface LevelJson {
  price: string;
  amount: string;
  orders: number;
  queue?: { id: string; amount: string; time_us: number }[];
}

/** The JSON document of a book at an instant (one line, with its newline). */
export function bookJson(at: BookAt, view: BookViewOptions): string {
  const level = (side: "bid" | "ask") => (l: L2Level): LevelJson => {
    const out: LevelJson = { price: l.price, amount: l.amount, orders: l.orders };
    if (view.l3) out.queue = at.book.queue(side, l.price).map((o) => ({ id: o.id, amount: o.amount, time_us: o.timeMicros }));
    return out;
  };
  const doc = {
    pair: at.pair,
    at_us: at.atMicros,
    at: isoOfMicros(at.atMicros),
    source: at.source,
    snapshot: { microtimestamp: at.snapshot.microtimestamp, received_us: at.snapshot.receivedMicros, bids: at.snapshot.bids, asks: at.snapshot.asks },
    applied_from_us: at.appliedFromMicros,
    events_applied: at.eventsApplied,
    orders: at.book.orderCount,
    best_bid: at.book.bestBid()?.price ?? null,
    best_ask: at.book.bestAsk()?.price ?? null,
    spread: at.book.spread() ?? null,
    mid: at.book.mid() ?? null,
    crossed: at.book.crossed,
    bids: at.book.levels("bid", view.depth).map(level("bid")),
    asks: at.book.levels("ask", view.depth).map(level("ask")),
    gaps: at.gaps.map((g) => ({ start_us: g.startMicros, end_us: g.endMicros, reason: g.reason })),
    late_events: at.lateEvents,
    report: {
      unknown_changed: at.report.unknownChanged.count,
      unknown_deleted: at.report.unknownDeleted.count,
      rejected: at.report.rejected.count,
      crossed_times: at.report.crossedTimes,
    },
    warnings: at.warnings,
  };
  return `${JSON.stringify(doc)}\n`;
}

/** The book as a table: bids on the left, asks on the right, best first; then each level's queue with --l3. */
export function bookTable(at: BookAt, view: BookViewOptions): string {
  const bids = at.book.levels("bid", view.depth);
  const asks = at.book.levels("ask", view.depth);
  const lines: string[] = [];
  lines.push(
    `${at.pair} at ${isoOfMicros(at.atMicros)}: snapshot of ${isoOfMicros(at.snapshot.microtimestamp)} (${at.snapshot.bids} bids, ${at.snapshot.asks} asks) ` +
      `+ ${at.eventsApplied} events (${at.source}); ${at.book.orderCount} orders`,
  );
  const rows = Math.max(bids.length, asks.length);
  const cell = (l: L2Level | undefined, key: "price" | "amount" | "orders") => (l === undefined ? "" : String(l[key]));
  const table = [["orders", "bid amount", "bid price", "ask price", "ask amount", "orders"]];
  for (let i = 0; i < rows; i++) {
    table.push([cell(bids[i], "orders"), cell(bids[i], "amount"), cell(bids[i], "price"), cell(asks[i], "price"), cell(asks[i], "amount"), cell(asks[i], "orders")]);
  }
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  for (const row of table) {
    lines.push(row.map((text, c) => (c < 3 ? text.padStart(widths[c]!) : text.padEnd(widths[c]!))).join("  ").trimEnd());
  }
  lines.push(`spread ${at.book.spread() ?? "-"}, mid ${at.book.mid() ?? "-"}${at.book.crossed ? " (CROSSED)" : ""}`);
  if (view.l3) {
    for (const [side, levels] of [["bid", bids], ["ask", asks]] as const) {
      for (const l of levels) {
        lines.push(`${side} ${l.price}: ${at.book.queue(side, l.price).map((o) => `${o.id} ${o.amount}`).join(", ")}`);
      }
    }
  }
  for (const warning of at.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join("\n")}\n`;
}
