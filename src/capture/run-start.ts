/**
 * The records that open a run: for every channel, the hole since the previous run stopped (`restart`)
 * or, for a channel this journal has not captured before, the point where its coverage starts
 * (`start`). Web standards only.
 *
 * They go into the journal in front of every frame of the run (the publisher holds frames until they
 * are released, frame-publisher.ts), so a run killed at any moment leaves either nothing of its own or
 * these records first: the next run's restart gap, which starts at the last record journaled, can never
 * skip over a hole of this one.
 */
import { gapFrame } from "../model/gap-record.ts";
import type { PreviousRun } from "../journal/previous-run.ts";
import { RECORD_KIND, type QueueRecord } from "../queue/frame-publisher.ts";

export interface RunStart {
  channels: readonly string[];
  /** The previous run of this journal directory; undefined for a first run or without a journal. */
  previous: PreviousRun | undefined;
  /** When this run started (µs): the records' receive time, earlier than any frame of the run. */
  startMicros: number;
}

/**
 * One record per channel: `restart` [previous end, covered from] when the previous run captured it (or
 * its channels are unknown), else `start` at covered-from. `coveredFrom(channel)` is when the run's
 * subscription to the channel was acknowledged; undefined (never acknowledged: a failed start) counts
 * as `nowMicros`.
 */
export function runStartRecords(run: RunStart, coveredFrom: (channel: string) => number | undefined, nowMicros: number): QueueRecord[] {
  const { previous } = run;
  return run.channels.map((channel) => {
    const end = coveredFrom(channel) ?? nowMicros;
    const captured = previous !== undefined && (previous.channels === undefined || previous.channels.includes(channel));
    const payload = captured
      ? gapFrame({ channel, startMicros: Math.min(previous.endMicros, end), endMicros: end, reason: "restart" })
      : gapFrame({ channel, startMicros: end, endMicros: end, reason: "start" });
    return { kind: RECORD_KIND.own, rxMicros: run.startMicros, payload };
  });
}
