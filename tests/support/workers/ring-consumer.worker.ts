/**
 * Test worker: consumes a ring filled by the main thread and checks every record against
 * ring-records.ts (no loss, no duplicate, no reordering, exact bytes and rxMicros).
 */
import { RingConsumer } from "../../../src/queue/ring.ts";
import { checkRecord } from "../ring-records.ts";

export interface ConsumerJob {
  ring: SharedArrayBuffer;
  seed: number;
}

export interface ConsumerReport {
  received: number;
  error?: string;
}

declare const self: Worker;

self.onmessage = async (event: MessageEvent<ConsumerJob>) => {
  const { ring, seed } = event.data;
  const consumer = new RingConsumer(ring);
  let received = 0;
  let error: string | undefined;
  const onRecord = (bytes: Uint8Array, rxMicros: number): void => {
    error ??= checkRecord(seed, received, bytes, rxMicros);
    received++;
  };
  while (error === undefined && !consumer.isClosedAndEmpty()) {
    consumer.drain(onRecord, 1000);
    await consumer.waitForData();
  }
  const report: ConsumerReport = error === undefined ? { received } : { received, error };
  self.postMessage(report);
};
