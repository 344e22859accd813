/**
 * Bench worker: writes pre-encoded batches with BatchWriter alone, then reports the time. The same
 * raw ceiling as bench/pipeline.bench.ts measures on its main thread, but from a Worker thread, as
 * obcap's writer runs: the difference is what the thread costs, not the writer's decoding.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { BatchWriter } from "../src/store/dynamodb/batch-writer.ts";
import { createDynamoClient } from "../src/store/dynamodb/client.ts";

export interface RawWriterJob {
  endpoint: string;
  table: string;
  maxInFlight: number;
  batches: Record<string, AttributeValue>[][];
}

export interface RawWriterReport {
  seconds: number;
  written: number;
  requests: number;
}

declare const self: Worker;

self.onmessage = async (event: MessageEvent<RawWriterJob>) => {
  const { endpoint, table, maxInFlight, batches } = event.data;
  const client = createDynamoClient({ endpoint });
  const writer = new BatchWriter({ client, table, maxInFlight });
  const t0 = performance.now();
  for (const batch of batches) await writer.submit(batch);
  await writer.flush();
  const seconds = (performance.now() - t0) / 1000;
  client.destroy();
  const stats = writer.stats();
  const report: RawWriterReport = { seconds, written: stats.written, requests: stats.requests };
  self.postMessage(report);
};
