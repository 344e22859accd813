/**
 * One recorded line -> what replay does with it: an item to store, something to skip and count, or
 * a bad line with its reason. Uses the capture's own pieces, so a replayed frame becomes exactly the
 * item the capture would have written: `parseRecordedLine` (journal line or plain frame),
 * `decodeFrame` (validation), `encodeItem` (keys and attributes).
 *
 * Receive time: a journal line carries `rx` and it is stored. A plain recorded frame has no receive
 * time, so its item has no `rx` attribute at all (never a made-up value: a latency study must not
 * mistake replay time for receive time). Replaying a plain recording over items captured live
 * therefore drops their `rx` (a put replaces the whole item); replay the capture's journal instead.
 */
import type { Item } from "../store/dynamodb/item-codec.ts";
import { decodeFrame, decodeOwnRecord, type DecodeResult } from "../exchange/bitstamp/decode.ts";
import type { StoredItems } from "../pipeline/stored-item.ts";
import { parseRecordedLine } from "../journal/journal-line.ts";

export type LineOutcome =
  /** An event's item; `chainGaps` holds a gap item when the event_id chain broke just before it. */
  | { kind: "event"; item: Item; chainGaps: Item[] }
  /** A gap record of a capture journal (its `obcap` line form): one gap item per channel, like the capture stored. */
  | { kind: "gap"; items: Item[] }
  /** Nothing to store: a blank line, a control frame (`bts:*`), a channel or event obcap does not store. */
  | { kind: "skip"; what: SkipKind }
  | { kind: "bad"; reason: string };

/** Why a line stores nothing (summary counters). `other` covers decode result kinds this file does not know yet. */
export type SkipKind = "blank" | "control" | "not-stored" | "other";

const BLANK: LineOutcome = { kind: "skip", what: "blank" };
const CONTROL: LineOutcome = { kind: "skip", what: "control" };
const NOT_STORED: LineOutcome = { kind: "skip", what: "not-stored" };
const OTHER: LineOutcome = { kind: "skip", what: "other" };

/** How much of a decoder message a bad-line report keeps (it already quotes 200 characters of the frame). */
const REASON_MAX_CHARS = 400;

/**
 * Maps one line (without its `\n`) of a journal or plain recording. `stored` is the capture's own
 * frame -> items mapping (with the table's shard count and the event_id chain state), so a replay
 * writes exactly the items, gap records included, that the capture wrote.
 */
export function mapRecordedLine(line: string, stored: StoredItems): LineOutcome {
  const recorded = parseRecordedLine(line);
  if (recorded.kind === "blank") return BLANK;
  if (recorded.kind === "broken") return { kind: "bad", reason: recorded.reason };
  const rxMicros = "rxMicros" in recorded ? recorded.rxMicros : undefined;
  let result: DecodeResult;
  if (recorded.kind === "own") result = decodeOwnRecord(recorded.record, recorded.rxMicros);
  // A journal line of a frame that was not UTF-8 carries its bytes; the decoder reports it (E_FRAME_UTF8).
  else result = decodeFrame(recorded.kind === "binary" ? recorded.bytes : recorded.frame, rxMicros ?? 0);
  if (result.kind === "event" || result.kind === "gap") {
    const outcome = stored.take(result);
    if (outcome.kind === "unstorable") return { kind: "bad", reason: `E_FRAME_UNSTORABLE: ${oneLine(outcome.reason)}` };
    if (result.kind === "gap") return { kind: "gap", items: outcome.items };
    const items = outcome.items;
    const item = items.pop()!;
    if (rxMicros === undefined) delete item.rx;
    return { kind: "event", item, chainGaps: items };
  }
  switch (result.kind) {
    case "invalid":
      return { kind: "bad", reason: `${result.code}: ${oneLine(result.message)}` };
    case "control":
      return CONTROL;
    case "unknown":
      return NOT_STORED;
    default:
      // Kinds added after this file: not replayed until they are understood here.
      return OTHER;
  }
}

/** A decoder message (valibot's summary spans lines) on one line, bounded. */
function oneLine(message: string): string {
  const flat = message.replace(/\s*\n\s*/g, "; ");
  return flat.length > REASON_MAX_CHARS ? `${flat.slice(0, REASON_MAX_CHARS)}…` : flat;
}
