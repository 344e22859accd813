/** The order-book engine (docs/book.md): re-exports only. */
export { L3Book, type BookEvent, type BookOptions, type Depth, type OrderView, type UpsertResult } from "./l3-book.ts";
export { DEFAULT_MAX_REPORTED_IDS, type BookReport, type IdTally, type RejectedEvent } from "./book-report.ts";
export type { L2Level, Side } from "./price-level.ts";
export { OrderBookSnapshotSchema, SnapshotRowSchema, parseOrderBookSnapshot, snapshotMicros, type OrderBookSnapshot, type SnapshotParseResult, type SnapshotRow } from "./snapshot-schema.ts";
export { bookFromSnapshot } from "./snapshot-book.ts";
export { diffBookAgainstSnapshot, snapshotOrders, type OrderDifference, type SnapshotDiff, type SnapshotOrder } from "./snapshot-diff.ts";
export { DEFAULT_MARGIN_MICROS, alignToSnapshot, rebuildBookAt, type AlignOptions, type AlignedStart } from "./snapshot-alignment.ts";
export { bookSeries, type SeriesOptions, type SeriesRow } from "./book-series.ts";
export { seriesCsvHeader, seriesCsvRow, seriesNdjsonRow } from "./series-format.ts";
