/**
 * The one ingest step of every path: a recorded frame or own record -> decode -> items, with the
 * capture's counts (events, rejects sampled for the log, kinds obcap does not store, frames per
 * channel). The upload stage uses it for journal lines and ring records, replay for its lines, so a
 * frame becomes the same items whichever way it came.
 *
 * Every step is guarded: whatever makes decoding, mapping or encoding throw comes back as `bad`
 * with the reason, so one bad frame never stops a capture or a replay.
 */
import { decodeFrame, decodeOwnRecord, type DecodeResult } from "../exchange/bitstamp/decode.ts";
import { describeError } from "../base/errors.ts";
import type { RecordedLine } from "../journal/journal-line.ts";
import type { Item } from "../store/dynamodb/item.ts";
import { countChannelFrame, type PipelineStats } from "./pipeline-stats.ts";
import type { StoredItems } from "./stored-item.ts";

/** What one recorded line comes to. */
export type Ingested =
  /** Items to write (an event, a chain gap and its event, or the gap items of an own record). */
  | { kind: "items"; items: Item[]; decoded: Extract<DecodeResult, { kind: "event" | "gap" | "snapshot" }> }
  /** Nothing to store: a blank line, a control frame, a channel or event obcap does not store. */
  | { kind: "skip"; decoded?: DecodeResult }
  /** Cannot be stored; `code` says why (E_FRAME_* or E_JOURNAL_LINE). */
  | { kind: "bad"; code: string; reason: string; rxMicros?: number };

const SKIP_BLANK: Ingested = { kind: "skip" };

/** Decodes and maps one recorded line; never throws. */
export function ingestRecorded(recorded: RecordedLine, stored: StoredItems): Ingested {
  try {
    let decoded: DecodeResult;
    switch (recorded.kind) {
      case "journal":
        decoded = decodeFrame(recorded.frame, recorded.rxMicros);
        break;
      case "binary":
        // A frame that was not UTF-8 keeps its bytes; the decoder reports it (E_FRAME_UTF8).
        decoded = decodeFrame(recorded.bytes, recorded.rxMicros);
        break;
      case "frame":
        decoded = decodeFrame(recorded.frame, 0);
        break;
      case "own":
        decoded = decodeOwnRecord(recorded.record, recorded.rxMicros);
        break;
      case "blank":
        return SKIP_BLANK;
      default:
        return { kind: "bad", code: "E_JOURNAL_LINE", reason: recorded.reason };
    }
    return ingestDecoded(decoded, stored, "rxMicros" in recorded ? recorded.rxMicros : undefined);
  } catch (err) {
    return { kind: "bad", code: "E_FRAME_UNSTORABLE", reason: `the line cannot be read (${describeError(err)})` };
  }
}

/** Maps one decode result to its items (guarded by StoredItems.take). */
function ingestDecoded(decoded: DecodeResult, stored: StoredItems, rxMicros: number | undefined): Ingested {
  switch (decoded.kind) {
    case "event":
    case "gap":
    case "snapshot": {
      const outcome = stored.take(decoded);
      if (outcome.kind === "unstorable") return { kind: "bad", code: "E_FRAME_UNSTORABLE", reason: outcome.reason, ...(rxMicros === undefined ? {} : { rxMicros }) };
      return { kind: "items", items: outcome.items, decoded };
    }
    case "invalid":
      return { kind: "bad", code: decoded.code, reason: decoded.message, ...(rxMicros === undefined ? {} : { rxMicros }) };
    default:
      return { kind: "skip", decoded };
  }
}

/** The first rejected frames of each code are reported in full; after that one in this many. */
const REJECT_REPORT_FIRST = 5;
const REJECT_REPORT_EVERY = 1000;

export interface IngestReports {
  /** A rejected frame (the first ones of each code, then sampled). */
  rejected(code: string, message: string, count: number): void;
  /** The first frame of a kind obcap does not store. */
  unknownKind(kind: string, sample: string): void;
}

/** Counts what ingest gave into the pipeline's stats, and reports rejects and new kinds (sampled). */
export class IngestCounter {
  constructor(private readonly stats: PipelineStats, private readonly reports: IngestReports) {}

  /** Counts one line's outcome; `sample` is its text (for the first of an unknown kind). */
  count(ingested: Ingested, rxMicros: number, sample: () => string, own: boolean): void {
    if (ingested.kind === "bad") return;
    const decoded = ingested.decoded;
    if (decoded === undefined) return;
    countChannelFrame(this.stats, decoded, rxMicros);
    if (decoded.kind === "event") this.stats.events++;
    else if (decoded.kind === "snapshot") this.stats.snapshots = (this.stats.snapshots ?? 0) + 1;
    else if (decoded.kind === "unknown") {
      const kind = own ? decoded.event : `${decoded.event}@${decoded.channel.replace(/_[a-z0-9-]+$/, "")}`;
      const seen = this.stats.unknown[kind] ?? 0;
      this.stats.unknown[kind] = seen + 1;
      if (seen === 0) this.reports.unknownKind(kind, sample().slice(0, 200));
    }
  }

  /** Counts a rejected frame under its code; reports the first ones and then one in a thousand. */
  reject(code: string, message: string): void {
    const count = (this.stats.rejected[code] ?? 0) + 1;
    this.stats.rejected[code] = count;
    if (count <= REJECT_REPORT_FIRST || count % REJECT_REPORT_EVERY === 0) this.reports.rejected(code, message, count);
  }
}
