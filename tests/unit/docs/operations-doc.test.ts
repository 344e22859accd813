/**
 * docs/operations.md stays true: its exit-code tables match src/base/errors.ts, and its metrics table
 * lists exactly the families a capture serves.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ERROR_CODES, EXIT } from "../../../src/base/errors.ts";
import { renderCaptureMetrics } from "../../../src/metrics/capture-metrics.ts";
import { parsePrometheusText } from "../../../src/metrics/parse.ts";
import { emptyPipelineStats } from "../../../src/pipeline/pipeline-stats.ts";

const DOC = readFileSync(join(import.meta.dir, "../../../docs/operations.md"), "utf8");
const rows = DOC.split("\n").filter((line) => line.startsWith("| "));

test("every error code is documented once, with its exit code", () => {
  const documented: Record<string, number> = {};
  for (const row of rows) {
    const match = /^\| (`E_[A-Z0-9_]+`(?:, `E_[A-Z0-9_]+`)*) \| (\d) \|/.exec(row);
    if (!match) continue;
    for (const code of match[1]!.match(/E_[A-Z0-9_]+/g)!) {
      expect(documented[code]).toBeUndefined();
      documented[code] = Number(match[2]);
    }
  }
  expect(documented).toEqual({ ...ERROR_CODES });
});

test("every exit code has a row in the exit table", () => {
  const exits = rows.map((row) => /^\| (\d) \| /.exec(row)?.[1]).filter((x) => x !== undefined).map(Number);
  expect(exits.sort()).toEqual(Object.values(EXIT).sort());
});

test("the metrics table lists exactly the families a capture serves", () => {
  const served = parsePrometheusText(
    renderCaptureMetrics({
      version: "0.0.0",
      startMicros: 0,
      nowMicros: 1,
      receivedFrames: 0,
      writer: { ...emptyPipelineStats(), channels: { live_orders_btcusd: { frames: 1, lastRxMicros: 0 } }, rejected: { E_FRAME_JSON: 1 }, unknown: { "x@y": 1 }, bookChecks: { btcusd: { anchored: 1, checked: 1, differing: 0, differences: 0, late: 0 } } },
      queue: { published: 0, ownPublished: 0, overflowed: 0, overflowDepthFrames: 0, overflowBytes: 0, overflowHighWaterBytes: 0, lostFrames: 0, lostBytes: 0, lostAfterClose: 0, oversizeFrames: 0, ringUsedBytes: 0, ringHighWaterBytes: 0, ringCapacityBytes: 1 },
      journal: { backlogBytes: 0, backlogFrames: 0 },
      disk: { journalBytes: 0, budgetBytes: 1, freeBytes: 1, minFreeBytes: 0, hoursLeft: 1, compressedSegments: 0, deletedSegments: 0, evictedSegments: 0 },
      connection: { reconnects: 0, gaps: 0, connected: true, lastFrameAgeMs: 0, lastDataAgeMs: 0 },
      snapshots: { fetched: 0, failed: 0, retries: 0, lastFetchedMicros: { btcusd: 0 } },
    }),
  );
  const documented = rows.filter((row) => row.startsWith("| `obcap_")).flatMap((row) => row.split(" | ")[0]!.match(/obcap_[a-z_]+/g)!);
  expect(documented.sort()).toEqual([...served.keys()].sort());
});
