/**
 * Plays frames on the wall clock, the way the real exchange writes them: each frame goes out once the
 * host clock has passed its own exchange time (`data.microtimestamp`) plus a delivery latency. Then a
 * frame's exchange time says when it could have been sent, and a test can compare the exchange times
 * of missing frames with the gap records obcap stored (docs/data-model.md "Gap items": a connection
 * gap ends at the receive time of the new subscription's acknowledgement; every event written after
 * it arrives). `fake.play()` alone sends as fast as the sockets drain, whatever the times say.
 *
 * Frames must come in non-decreasing exchange time (the generator's order) and be generated near now
 * (`startMicros` around `Date.now() * 1000`); frames already due go out at once, in one batch.
 */
import type { FakeExchange, PlayResult } from "./fake-exchange.ts";

export interface PacedPlayOptions {
  /**
   * Milliseconds between a frame's exchange time and its sending. Must exceed any difference between
   * this process's Date.now() and the capture's receive clock (performance.timeOrigin + now(), on the
   * same host: measured under 1 ms), so that a frame is never received before its exchange time.
   */
  latencyMs: number;
  signal?: AbortSignal;
}

const MICROTIMESTAMP = /"microtimestamp":"(\d+)"/;

/** Exchange time of a market frame in µs; throws for a frame without one. */
export function exchangeMicros(frame: string): number {
  const match = MICROTIMESTAMP.exec(frame);
  if (match === null) throw new Error(`no microtimestamp in ${frame.slice(0, 200)}`);
  return Number(match[1]);
}

/** Sends `frames` through `fake.play()`, each no earlier than its exchange time + `latencyMs`. */
export async function playPaced(fake: FakeExchange, frames: Iterable<string>, opts: PacedPlayOptions): Promise<PlayResult> {
  const result: PlayResult = { sent: 0, notSent: 0 };
  const source = frames[Symbol.iterator]();
  let next = source.next();
  while (!next.done && !opts.signal?.aborted) {
    const nowMs = Date.now();
    const batch: string[] = [];
    while (!next.done && exchangeMicros(next.value) / 1000 + opts.latencyMs <= nowMs) {
      batch.push(next.value);
      next = source.next();
    }
    if (batch.length > 0) {
      const played = await fake.play(batch);
      result.sent += played.sent;
      result.notSent += played.notSent;
    } else if (!next.done) {
      await Bun.sleep(Math.max(1, exchangeMicros(next.value) / 1000 + opts.latencyMs - nowMs));
    }
  }
  return result;
}
