/**
 * Where the upload stage reads its frames: the journal's segments (journal-source.ts), or the ring
 * itself with --no-journal (ring-source.ts). Either hands over recorded lines with a position; the
 * upload stage acknowledges positions in order as DynamoDB confirms their items.
 */
import type { RecordedLine } from "../journal/journal-line.ts";

/** One record of a source: a recorded line for the ingest step, or why it cannot be read at all. */
export type SourceEntry =
  | { recorded: RecordedLine; raw: Uint8Array; text?: string; bad?: undefined }
  | { bad: { code: string; reason: string }; raw: Uint8Array; recorded?: undefined; text?: undefined };

export interface UploadSource<P> {
  /** What to call it in messages. */
  readonly name: string;
  /** Reads up to `max` records into `take`; `final`: the writer side has ended. Returns how many. */
  read(max: number, final: boolean, take: (entry: SourceEntry, position: P) => void): number;
  /** Everything there is has been read (only once `final`). */
  isDone(): boolean;
  /** Resolves when more may be readable; undefined when there is more already. */
  waitForData(): Promise<unknown> | undefined;
  /** Keeps a record that cannot be stored (the quarantine), if the source can. */
  keep?(code: string, reason: string, raw: Uint8Array, position: P, rxMicros?: number): void;
  /** Keeps an item DynamoDB refused, if the source can. */
  keepItem?(reason: string, item: string, key: string): void;
  /** Periodic work: checkpoint, retention, figures. */
  housekeeping(acknowledged: P | undefined, nowMs: number): void;
  /** The end: last checkpoint; `closeTail` once nothing will be read any more. */
  end(acknowledged: P | undefined, closeTail: boolean): void;
}
