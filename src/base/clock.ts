/**
 * Receive-time clock in integer microseconds since the Unix epoch.
 *
 * `performance.timeOrigin + performance.now()` is monotonic within a process and has sub-µs
 * resolution; Date.now() only has ms, which is the exchange's own resolution and useless for
 * latency studies. The value stays below 2^53, so a double holds it exactly.
 */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** A clock as a parameter, so tests can inject one. */
export type MicrosClock = () => number;
