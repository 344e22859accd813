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

/**
 * `clock`, made strictly increasing: a reading never repeats the previous one (it is the previous plus
 * 1 µs instead). Frames of a burst can be read within one microsecond; their receive times must still
 * tell their order, because readers order the events of one exchange microtimestamp by receive time
 * (export's merge, the book): two equal receive times would leave the order to an event_id's text.
 */
export function strictlyIncreasing(clock: MicrosClock): MicrosClock {
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    const now = clock();
    last = now > last ? now : last + 1;
    return last;
  };
}
