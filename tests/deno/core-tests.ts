/**
 * The one list of test files that `make test-deno` runs under Deno (paths from the repository root).
 * They test the core (src/ less src/cli/ and src/runtime/bun/), which promises web-standard APIs and
 * node: builtins only. tests/deno/run.ts fails if a listed file is missing, listed twice or runs no
 * test: when a test file moves, move its line here.
 *
 * Not listed, and why:
 * - tests/unit/replay/input-stream.test.ts: Deno 2.9's DecompressionStream("gzip") rejects
 *   concatenated gzip members ("failed to write whole buffer"), which src/replay/input-stream.ts
 *   relies on; Bun and Node read them. A core portability gap, reported, not hidden in the shim.
 * - tests/unit/journal/checkpoint.test.ts: uses spyOn on node:fs, which the shim does not provide.
 * - tests that import src/runtime/bun/ or src/cli/, or serve HTTP/WebSocket with Bun.serve or
 *   Bun.spawn a fake exchange: capture/lock-and-metrics, capture/session (its local REST server),
 *   journal/lock, exchange/bitstamp/feed-supervisor, exchange/bitstamp/pairs (its local REST server),
 *   cli/*, support/fake-exchange*.
 * - tests of the test helpers themselves (tests/unit/support/) and of the docs: not core.
 */
export const CORE_TESTS: readonly string[] = [
  // base and model
  "tests/unit/base/exact-json.test.ts",
  "tests/unit/base/atomic-file.test.ts",
  "tests/unit/base/errors.test.ts",
  "tests/unit/base/clock.test.ts",
  "tests/unit/base/log-throttle.test.ts",
  "tests/unit/base/sha256.test.ts",
  "tests/unit/model/gap-record.test.ts",
  "tests/unit/model/order-book-snapshot.test.ts",
  // queue
  "tests/unit/queue/ring.test.ts",
  "tests/unit/queue/ring-property.test.ts",
  "tests/unit/queue/frame-publisher.test.ts",
  // exchange
  "tests/unit/exchange/bitstamp/channels.test.ts",
  "tests/unit/exchange/bitstamp/connection.test.ts",
  "tests/unit/exchange/bitstamp/decode.test.ts",
  "tests/unit/exchange/bitstamp/frame-layouts.test.ts",
  "tests/unit/exchange/bitstamp/frame-shape.test.ts",
  "tests/unit/exchange/bitstamp/gap-ledger.test.ts",
  "tests/unit/exchange/bitstamp/hostile-frames.test.ts",
  "tests/unit/exchange/bitstamp/overlap-merge.test.ts",
  "tests/unit/exchange/bitstamp/reconnect-policy.test.ts",
  "tests/unit/exchange/bitstamp/schemas.test.ts",
  "tests/unit/exchange/bitstamp/snapshot-fetcher.test.ts",
  // pipeline
  "tests/unit/pipeline/batcher.test.ts",
  "tests/unit/pipeline/chain-tracker.test.ts",
  "tests/unit/pipeline/coverage-tracker.test.ts",
  "tests/unit/pipeline/book-self-check.test.ts",
  "tests/unit/pipeline/pipeline-stats.test.ts",
  "tests/unit/pipeline/snapshot-lines.test.ts",
  "tests/unit/pipeline/stored-item.test.ts",
  "tests/unit/pipeline/upload-stage.test.ts",
  "tests/unit/pipeline/uploader.test.ts",
  // store
  "tests/unit/store/dynamodb/aws-errors.test.ts",
  "tests/unit/store/dynamodb/backoff.test.ts",
  "tests/unit/store/dynamodb/batch-writer.test.ts",
  "tests/unit/store/dynamodb/coverage.test.ts",
  "tests/unit/store/dynamodb/write-concurrency.test.ts",
  "tests/unit/store/dynamodb/decimal.test.ts",
  "tests/unit/store/dynamodb/item-codec.test.ts",
  "tests/unit/store/dynamodb/item-identity.test.ts",
  "tests/unit/store/dynamodb/item-limits.test.ts",
  "tests/unit/store/dynamodb/keys.test.ts",
  "tests/unit/store/dynamodb/snapshot-item.test.ts",
  "tests/unit/store/dynamodb/table.test.ts",
  "tests/unit/store/dynamodb/order-item-reader.test.ts",
  "tests/unit/store/packed/item-columns.test.ts",
  "tests/unit/store/packed/packed-window.test.ts",
  "tests/unit/store/packed/packing-writer.test.ts",
  // book
  "tests/unit/book/book-property.test.ts",
  "tests/unit/book/book-series.test.ts",
  "tests/unit/book/decimal.test.ts",
  "tests/unit/book/event-time.test.ts",
  "tests/unit/book/l3-book.test.ts",
  "tests/unit/book/recorded-fixtures.test.ts",
  "tests/unit/book/series-format.test.ts",
  "tests/unit/book/snapshot-alignment.test.ts",
  "tests/unit/book/snapshot-book.test.ts",
  "tests/unit/book/snapshot-diff.test.ts",
  "tests/unit/book/snapshot-schema.test.ts",
  // journal
  "tests/unit/journal/appender.test.ts",
  "tests/unit/journal/disk-budget.test.ts",
  "tests/unit/journal/journal-keeper.test.ts",
  "tests/unit/journal/journal-line.test.ts",
  "tests/unit/journal/journal-stage.test.ts",
  "tests/unit/journal/journal-stage-snapshots.test.ts",
  "tests/unit/journal/line-buffer.test.ts",
  "tests/unit/journal/previous-run.test.ts",
  "tests/unit/journal/quarantine.test.ts",
  "tests/unit/journal/retention.test.ts",
  "tests/unit/journal/segment-compression.test.ts",
  "tests/unit/journal/segment-tail.test.ts",
  "tests/unit/journal/segments.test.ts",
  "tests/unit/journal/tee-output.test.ts",
  // capture, metrics, replay, export
  "tests/unit/capture/run-start.test.ts",
  "tests/unit/metrics/capture-metrics.test.ts",
  "tests/unit/metrics/http-handler.test.ts",
  "tests/unit/metrics/parse.test.ts",
  "tests/unit/metrics/registry.test.ts",
  "tests/unit/metrics/status-summary.test.ts",
  "tests/unit/replay/inputs.test.ts",
  "tests/unit/replay/line-mapper.test.ts",
  "tests/unit/replay/line-splitter.test.ts",
  "tests/unit/replay/progress.test.ts",
  "tests/unit/replay/replay-checkpoint.test.ts",
  "tests/unit/replay/replay-run.test.ts",
  "tests/unit/export/csv-rows.test.ts",
  // history (the book from stored data)
  "tests/unit/history/event-order.test.ts",
  "tests/unit/history/journal-history.test.ts",
  "tests/unit/export/export-run.test.ts",
  "tests/unit/export/time-range.test.ts",
  "tests/unit/export/snapshot-stream.test.ts",
  // api (the REST API's handler, parameters and cursors)
  "tests/unit/api/params-cursor.test.ts",
];

/**
 * Deno-only checks, run with the list: the shim's own (shim-selftest.ts runs must-fail.ts itself),
 * and core-modules.ts, which loads every core module, including those no listed test reaches.
 */
export const DENO_ONLY_TESTS: readonly string[] = ["tests/deno/shim-selftest.ts", "tests/deno/core-modules.ts"];
