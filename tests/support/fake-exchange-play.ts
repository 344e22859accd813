/**
 * The pacing loop behind `FakeExchange.play()`: pulls frames from a sync or async source in batches and
 * hands each batch to `deliver`, either as fast as the sockets drain or on a fixed schedule.
 */

export interface PlayOptions {
  /** Frames per second over all connections; undefined or 0 = as fast as the sockets drain. */
  ratePerSec?: number | undefined;
  /** Stops playing early; the result counts what was played so far. */
  signal?: AbortSignal | undefined;
}

export interface PlayResult {
  /** Frames delivered to at least one subscribed connection. */
  sent: number;
  /** Frames whose channel no connection was subscribed to (or that had no channel). */
  notSent: number;
}

/**
 * Frames per batch: each socket is corked once per batch, so one write carries up to this many frames
 * (one write per frame capped a loopback client at ~70k frames/s; batched it is several times faster).
 */
export const PLAY_BATCH = 256;

/**
 * Feeds `frames` to `deliver` in batches. `deliver` returns a promise when a socket pushed back; the loop
 * waits on it before the next batch. Resolves when the source ends or `signal` aborts.
 */
export async function playInBatches(
  frames: Iterable<string> | AsyncIterable<string>,
  opts: PlayOptions,
  deliver: (batch: readonly string[]) => Promise<void> | undefined,
): Promise<void> {
  const { signal } = opts;
  const ratePerSec = opts.ratePerSec !== undefined && opts.ratePerSec > 0 ? opts.ratePerSec : undefined;
  const sync = Symbol.iterator in frames ? frames[Symbol.iterator]() : undefined;
  const async = Symbol.asyncIterator in frames ? frames[Symbol.asyncIterator]() : undefined;
  const startMs = performance.now();
  let played = 0;
  let exhausted = false;
  while (!exhausted && !signal?.aborted) {
    let room = PLAY_BATCH;
    if (ratePerSec !== undefined) {
      // Frames due by now on a fixed schedule (start + i / rate): sleeping between bursts keeps the
      // average exact although timers only have millisecond resolution.
      const due = Math.floor(((performance.now() - startMs) * ratePerSec) / 1000) + 1 - played;
      if (due <= 0) {
        await Bun.sleep(Math.max(1, startMs + (played * 1000) / ratePerSec - performance.now()));
        continue;
      }
      room = Math.min(room, due);
    }
    const batch: string[] = [];
    while (batch.length < room) {
      const next = sync ? sync.next() : await (async as AsyncIterator<string>).next();
      if (next.done) {
        exhausted = true;
        break;
      }
      batch.push(next.value);
    }
    played += batch.length;
    const pushedBack = batch.length > 0 ? deliver(batch) : undefined;
    if (pushedBack) await pushedBack;
    // Let client frames (heartbeats) and timers in even when no socket ever pushes back.
    else if (ratePerSec === undefined) await new Promise((resolve) => setImmediate(resolve));
  }
}
