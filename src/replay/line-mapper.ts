/**
 * One recorded line -> what replay does with it: an item to store, something to skip and count, or
 * a bad line with its reason. Uses the capture's own pieces, so a replayed frame becomes exactly the
 * item the capture would have written: `parseRecordedLine` (journal line or plain frame), then the
 * capture's own ingest step (src/pipeline/ingest.ts: decode, validate, items).
 *
 * Receive time: a journal line carries `rx` and it is stored. A plain recorded frame has no receive
 * time, so its item has no `rx` attribute at all (never a made-up value: a latency study must not
 * mistake replay time for receive time). Replaying a plain recording over items captured live
 * therefore drops their `rx` (a put replaces the whole item); replay the capture's journal instead.
 */
import type { Item } from "../store/dynamodb/item.ts";
import { ingestRecorded } from "../pipeline/ingest.ts";
import type { StoredItems } from "../pipeline/stored-item.ts";
import { parseRecordedLine } from "../journal/journal-line.ts";

export type LineOutcome =
  /**
   * An event's item, and the items stored before it with the same position: in `chainGaps`, the
   * coverage item of its hour the first time this replay meets that hour (the capture's own rule,
   * stored-item.ts), then a gap item when the event_id chain broke just before it. (The name is
   * older than coverage records; replay-run.ts writes them all before the event.)
   */
  | { kind: "event"; item: Item; chainGaps: Item[] }
  /** A gap record of a capture journal (its `obcap` line form): one gap item per channel, like the capture stored, and their coverage item the first time. */
  | { kind: "gap"; items: Item[] }
  /** An order book snapshot record of a capture journal (or of an `export --format journal`): its chunk items, like the capture stored. */
  | { kind: "snapshot"; items: Item[] }
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
 * frame -> items mapping (with the table's shard count, the event_id chain state and the coverage
 * items already attached), so a replay writes exactly the items, gap records and coverage records
 * included, that the capture wrote.
 */
export function mapRecordedLine(line: string, stored: StoredItems): LineOutcome {
  const recorded = parseRecordedLine(line);
  const ingested = ingestRecorded(recorded, stored);
  switch (ingested.kind) {
    case "bad":
      // A line that is no journal line says what is wrong with it; a frame's problem carries its code.
      return { kind: "bad", reason: recorded.kind === "broken" ? recorded.reason : `${ingested.code}: ${oneLine(ingested.reason)}` };
    case "items": {
      if (ingested.decoded.kind === "gap") return { kind: "gap", items: ingested.items };
      if (ingested.decoded.kind === "snapshot") return { kind: "snapshot", items: ingested.items };
      const items = ingested.items;
      const item = items.pop()!;
      if (!("rxMicros" in recorded)) delete item.rx;
      return { kind: "event", item, chainGaps: items };
    }
    default:
      if (ingested.decoded === undefined) return BLANK;
      if (ingested.decoded.kind === "control") return CONTROL;
      if (ingested.decoded.kind === "unknown") return NOT_STORED;
      // Kinds added after this file: not replayed until they are understood here.
      return OTHER;
  }
}

/** A decoder message (valibot's summary spans lines) on one line, bounded. */
function oneLine(message: string): string {
  const flat = message.replace(/\s*\n\s*/g, "; ");
  return flat.length > REASON_MAX_CHARS ? `${flat.slice(0, REASON_MAX_CHARS)}…` : flat;
}
