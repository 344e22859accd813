/**
 * Bench worker: counts string messages and answers once the announced number has arrived. The
 * baseline that bench/ring.bench.ts compares the ring with.
 */
declare const self: Worker;

let expected = Number.POSITIVE_INFINITY;
let received = 0;
let bytes = 0;

self.onmessage = (event: MessageEvent<string | { expect: number }>) => {
  const data = event.data;
  if (typeof data === "string") {
    received++;
    bytes += data.length;
  } else {
    expected = data.expect;
    received = 0;
    bytes = 0;
  }
  if (received === expected) self.postMessage({ records: received, bytes });
};
