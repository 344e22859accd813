/**
 * Bench worker: drains a ring as fast as it can, touching only each record's length, until the
 * producer closes it; then reports what it saw. Posts "ready" first, so the producer's clock
 * starts once the worker runs. Used by bench/ring.bench.ts.
 */
import { RingConsumer } from "../src/queue/ring.ts";

export interface RingNoopReport {
  records: number;
  bytes: number;
  /** drain() calls that found nothing: the consumer had caught up and went to sleep. */
  idleWaits: number;
}

declare const self: Worker;

self.onmessage = async (event: MessageEvent<{ ring: SharedArrayBuffer }>) => {
  const consumer = new RingConsumer(event.data.ring);
  self.postMessage("ready");
  const report: RingNoopReport = { records: 0, bytes: 0, idleWaits: 0 };
  const onRecord = (bytes: Uint8Array): void => {
    report.records++;
    report.bytes += bytes.length;
  };
  while (!consumer.isClosedAndEmpty()) {
    if (consumer.drain(onRecord) === 0) report.idleWaits++;
    await consumer.waitForData();
  }
  self.postMessage(report);
};
