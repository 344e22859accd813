/**
 * A journal directory (or any recording `obcap replay` reads) as a {@link HistorySource}: the order
 * book without AWS. Segments are read in order, each line as replay reads it (journal-line.ts); only
 * the segments whose receive times can hold the window are opened (a segment's name is the receive
 * time of its first line, and the next segment's name bounds its last).
 *
 * Exchange time and receive time differ by the feed's latency: an event is looked for up to
 * `latenessMicros` after its exchange time, and a snapshot (whose body time marks the book's last
 * change, before the request) up to `snapshotSlackMicros` after its microtimestamp.
 */
import { parseRecordedLine, MAX_OWN_LINE_BYTES } from "../journal/journal-line.ts";
import { segmentStartMicros } from "../journal/segments.ts";
import { decodeFrame, decodeOwnRecord } from "../exchange/bitstamp/decode.ts";
import { channelName } from "../model/channels.ts";
import type { GapEvent } from "../model/events.ts";
import { openInput } from "../replay/input-stream.ts";
import { resolveInputs, type ReplayInput } from "../replay/inputs.ts";
import { LineSplitter } from "../replay/line-splitter.ts";
import { ChainTracker } from "../pipeline/chain-tracker.ts";
import { EventOrder } from "./event-order.ts";
import type { HistoryEvent, HistorySource, StoredSnapshot } from "./history-source.ts";

/** Longest frame line read (replay's default). */
const MAX_LINE_BYTES = 1024 * 1024;
/** An event arrives at most this long after its exchange time (Bitstamp: well under a second). */
export const DEFAULT_LATENESS_MICROS = 10_000_000;
/** A snapshot's record is journaled at most this long after its body's microtimestamp (the fetch, its retries). */
export const DEFAULT_SNAPSHOT_SLACK_MICROS = 3_600_000_000;

export interface JournalHistoryOptions {
  latenessMicros?: number;
  snapshotSlackMicros?: number;
}

interface Segment {
  input: ReplayInput;
  /** Receive time of its first line (from its name), or undefined for a recording that is not a segment. */
  fromRx: number | undefined;
  /** Receive time of the next segment's first line: no line of this one is later. */
  toRx: number | undefined;
}

export class JournalHistory implements HistorySource {
  private readonly lateness: number;
  private readonly snapshotSlack: number;

  constructor(
    private readonly dir: string,
    options: JournalHistoryOptions = {},
  ) {
    this.lateness = options.latenessMicros ?? DEFAULT_LATENESS_MICROS;
    this.snapshotSlack = options.snapshotSlackMicros ?? DEFAULT_SNAPSHOT_SLACK_MICROS;
  }

  describe(): string {
    return `journal ${this.dir}`;
  }

  async snapshotsBetween(pair: string, fromMicros: number, toMicros: number): Promise<StoredSnapshot[]> {
    const out = new Map<number, StoredSnapshot>();
    const segments = this.segments().filter((s) => (s.toRx === undefined || s.toRx >= fromMicros - this.lateness) && (s.fromRx === undefined || s.fromRx <= toMicros + this.snapshotSlack));
    for (const segment of segments) {
      for await (const text of this.lines(segment)) {
        const snapshot = snapshotOfLine(text, pair);
        if (snapshot !== undefined && snapshot.microtimestamp >= fromMicros && snapshot.microtimestamp <= toMicros) out.set(snapshot.microtimestamp, snapshot);
      }
    }
    return [...out.values()].sort((a, b) => a.microtimestamp - b.microtimestamp);
  }

  async snapshotAtOrBefore(pair: string, atMicros: number): Promise<StoredSnapshot | undefined> {
    // Newest segments first: a newer snapshot has a later record, so once one is found, segments that
    // end before its microtimestamp cannot hold a newer one.
    const segments = this.segments().filter((s) => s.fromRx === undefined || s.fromRx <= atMicros + this.snapshotSlack).reverse();
    let best: StoredSnapshot | undefined;
    for (const segment of segments) {
      if (best !== undefined && segment.toRx !== undefined && segment.toRx < best.microtimestamp) break;
      for await (const text of this.lines(segment)) {
        const snapshot = snapshotOfLine(text, pair);
        if (snapshot === undefined || snapshot.microtimestamp > atMicros || (best !== undefined && snapshot.microtimestamp <= best.microtimestamp)) continue;
        best = snapshot;
      }
    }
    return best;
  }

  /**
   * The gap records of the channel, and the breaks of its event_id chain, as the upload finds them
   * when it stores the journal (pipeline/chain-tracker.ts): a table filled from this journal reports
   * the same gaps.
   */
  async gaps(pair: string, fromMicros: number, toMicros: number): Promise<GapEvent[]> {
    const channel = channelName("orders", pair);
    const needle = `"channel":"${channel}"`;
    const chain = new ChainTracker();
    const out: GapEvent[] = [];
    const keep = (gap: GapEvent) => {
      if (gap.channel === channel && gap.endMicros >= fromMicros && gap.startMicros <= toMicros) out.push(gap);
    };
    // The chain is followed from the first segment: a break is only known against what came before it.
    for (const segment of this.segments().filter((s) => s.fromRx === undefined || s.fromRx <= toMicros + this.lateness)) {
      for await (const text of this.lines(segment)) {
        if (text.includes('"obcap:gap"')) {
          const recorded = parseRecordedLine(text);
          if (recorded.kind !== "own") continue;
          const decoded = decodeOwnRecord(recorded.record, recorded.rxMicros);
          if (decoded.kind === "gap") decoded.gaps.forEach(keep);
        } else if (text.includes(needle) && text.includes('"event_id"')) {
          const recorded = parseRecordedLine(text);
          if (recorded.kind !== "journal" && recorded.kind !== "frame") continue;
          const decoded = decodeFrame(recorded.frame, recorded.kind === "journal" ? recorded.rxMicros : 0);
          if (decoded.kind !== "event" || decoded.event.channel !== channel) continue;
          const e = decoded.event;
          const verdict = chain.check(channel, e.eventId, e.preEventId, e.data.microtimestamp);
          if (verdict.kind === "gap") keep({ pair, stream: "orders", channel, startMicros: verdict.startMicros, endMicros: verdict.endMicros, reason: "chain", rxMicros: e.rxMicros });
        }
      }
    }
    return out.sort((a, b) => a.startMicros - b.startMicros || a.endMicros - b.endMicros);
  }

  async *orderEvents(pair: string, fromMicros: number, toMicros: number, onLate?: (event: HistoryEvent) => void): AsyncIterable<HistoryEvent> {
    const needle = `"channel":"${channelName("orders", pair)}"`;
    const order = new EventOrder(this.lateness);
    const inWindow = (e: HistoryEvent) => {
      const micros = Number(e.data.microtimestamp);
      return micros >= fromMicros && micros <= toMicros;
    };
    const segments = this.segments().filter((s) => (s.toRx === undefined || s.toRx >= fromMicros - this.lateness) && (s.fromRx === undefined || s.fromRx <= toMicros + this.lateness));
    for (const segment of segments) {
      for await (const text of this.lines(segment)) {
        if (!text.includes(needle)) continue;
        const recorded = parseRecordedLine(text);
        if (recorded.kind !== "journal" && recorded.kind !== "frame") continue;
        const decoded = decodeFrame(recorded.frame, recorded.kind === "journal" ? recorded.rxMicros : 0);
        if (decoded.kind !== "event" || decoded.event.stream !== "orders" || decoded.event.pair !== pair) continue;
        for (const event of order.push(decoded.event, onLate)) if (inWindow(event)) yield event;
      }
    }
    for (const event of order.flush()) if (inWindow(event)) yield event;
  }

  /** The recordings of the directory, each with the receive times its lines can have. */
  private segments(): Segment[] {
    const inputs = resolveInputs([this.dir]);
    return inputs.map((input, i) => {
      const name = input.name.split("/").pop() ?? "";
      const next = inputs[i + 1]?.name.split("/").pop();
      return { input, fromRx: segmentStartMicros(name), toRx: next === undefined ? undefined : segmentStartMicros(next) };
    });
  }

  /** The lines of one recording (lines that are not text are skipped: replay reports them). */
  private async *lines(segment: Segment): AsyncIterable<string> {
    const reader = await openInput(segment.input, 0);
    try {
      const splitter = new LineSplitter(0, 1, MAX_LINE_BYTES, MAX_OWN_LINE_BYTES);
      for (;;) {
        const chunk = await reader.read();
        const batch = chunk === undefined ? splitter.end() : splitter.push(chunk);
        for (let i = 0; i < batch.texts.length; i++) {
          if (batch.bad?.has(i)) continue;
          yield batch.texts[i]!;
        }
        if (chunk === undefined) return;
      }
    } finally {
      await reader.close();
    }
  }
}

/** The snapshot of `pair` a journal line holds, if it is one (a record that fails its checks is not). */
function snapshotOfLine(text: string, pair: string): StoredSnapshot | undefined {
  if (!text.includes('"obcap:snapshot"')) return undefined;
  const recorded = parseRecordedLine(text);
  if (recorded.kind !== "own") return undefined;
  const decoded = decodeOwnRecord(recorded.record, recorded.rxMicros);
  if (decoded.kind !== "snapshot" || decoded.snapshot.pair !== pair) return undefined;
  return { pair, microtimestamp: Number(decoded.snapshot.microtimestamp), receivedMicros: decoded.snapshot.receivedMicros, book: decoded.snapshot.book };
}
