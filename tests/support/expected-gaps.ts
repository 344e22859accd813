/**
 * How many "chain" gap records obcap must store for frames sent in this order: per channel, an event
 * whose `pre_event_id` is not the `event_id` of the channel's previous event breaks Bitstamp's chain.
 * Written independently of src/pipeline/chain-tracker.ts (a plain scan, no window), for test frames
 * that hold no duplicates.
 */
export function expectedChainGaps(frames: readonly string[]): number {
  const last = new Map<string, string>();
  let gaps = 0;
  for (const frame of frames) {
    const channel = /"channel":"([^"]+)"/.exec(frame)?.[1];
    const eventId = /"event_id":"([^"]+)"/.exec(frame)?.[1];
    if (channel === undefined || eventId === undefined) continue;
    const pre = /"pre_event_id":"([^"]+)"/.exec(frame)?.[1];
    const previous = last.get(channel);
    if (previous !== undefined && pre !== undefined && pre !== previous) gaps++;
    last.set(channel, eventId);
  }
  return gaps;
}
