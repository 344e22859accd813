/**
 * Messages between the capture's main thread and the writer Worker. Frames never travel here: they
 * go through the ring (SharedArrayBuffer). These messages carry set-up, progress and the end.
 */

/** Where the writer puts what it decodes. */
export type WriterTarget =
  | {
      kind: "dynamodb";
      table: string;
      endpoint?: string;
      region?: string;
      shards: number;
      maxInFlight: number;
    }
  | {
      kind: "journal-lines";
      /** File path, or `null` for stdout. */
      path: string | null;
    };

export interface WriterInit {
  type: "init";
  ring: SharedArrayBuffer;
  target: WriterTarget;
  /** A partial batch waits at most this long for more items. */
  lingerMs: number;
  /** How often progress is posted back. */
  progressEveryMs: number;
}

export interface WriterStats {
  /** Records taken from the ring. */
  frames: number;
  /** Order and trade events decoded. */
  events: number;
  /** Items DynamoDB acknowledged, or journal lines written. */
  written: number;
  /** Same key twice inside one batch: the later copy was kept. */
  duplicatesDropped: number;
  /** Frames rejected by the decoder (bad UTF-8, bad JSON, schema), by code. */
  rejected: Record<string, number>;
  /** Valid frames of events or channels obcap does not store, by `event@channel-prefix`. */
  unknown: Record<string, number>;
  requests: number;
  retryRequests: number;
  retriedItems: number;
  unprocessedItems: number;
  throttled: number;
  inFlight: number;
}

export type WriterMessage =
  | { type: "ready" }
  | { type: "progress"; stats: WriterStats }
  /** A frame the decoder rejected (the first ones of each code, then sampled). */
  | { type: "rejected"; code: string; message: string; count: number }
  /** First frame of an event kind obcap does not store. */
  | { type: "unknown-kind"; kind: string; sample: string }
  | { type: "retry"; message: string }
  /** The writer cannot go on (e.g. table deleted, credentials revoked). */
  | { type: "fatal"; code: string; message: string; stats: WriterStats }
  /** The ring is closed and everything is written. */
  | { type: "done"; stats: WriterStats };

export function emptyWriterStats(): WriterStats {
  return {
    frames: 0,
    events: 0,
    written: 0,
    duplicatesDropped: 0,
    rejected: {},
    unknown: {},
    requests: 0,
    retryRequests: 0,
    retriedItems: 0,
    unprocessedItems: 0,
    throttled: 0,
    inFlight: 0,
  };
}
