/**
 * Test worker: fills a ring with records 0..count-1 from ring-records.ts, then closes it. The main
 * thread consumes and checks them (the reverse direction of ring-consumer.worker.ts).
 */
import { RingProducer } from "../../../src/queue/ring.ts";
import { makeRecord, nextMacrotask, pushRecord } from "../ring-records.ts";

export interface ProducerJob {
  ring: SharedArrayBuffer;
  seed: number;
  count: number;
}

export interface ProducerReport {
  pushed: number;
  /** Pushes that found the ring full at least once. */
  fullRetries: number;
}

declare const self: Worker;

self.onmessage = async (event: MessageEvent<ProducerJob>) => {
  const { ring, seed, count } = event.data;
  const producer = new RingProducer(ring);
  let fullRetries = 0;
  for (let seq = 0; seq < count; seq++) {
    const record = makeRecord(seed, seq);
    if (pushRecord(producer, record)) continue;
    fullRetries++;
    // Spin briefly (the consumer runs on another thread), then give the event loop a turn.
    for (let spins = 1; !pushRecord(producer, record); spins++) {
      if (spins % 256 === 0) await nextMacrotask();
    }
  }
  producer.close();
  const report: ProducerReport = { pushed: count, fullRetries };
  self.postMessage(report);
};
