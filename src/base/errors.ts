/**
 * The one error class of obcap, with stable codes (ws `WS_ERR_*`, citty `E_*` style).
 *
 * Every error a user can meet carries a `code` from {@link ERROR_CODES}, an exit code, and a message
 * that says what happened, where, and what to do. `src/cli/main.ts` is the only place that turns one
 * into `process.exit`. README.md lists every code in one sentence.
 */

/** Process exit codes. Cron/systemd should not restart hot on `config` or `usage`. */
export const EXIT = {
  ok: 0,
  /** A bug or an error obcap did not anticipate. */
  internal: 1,
  /** Bad flag or argument value: fix the command line. */
  usage: 2,
  /** The environment is wrong (table missing or incompatible, credentials, unknown pair): fix, then restart. */
  config: 3,
  /** Something outside may come back (exchange or DynamoDB unreachable, subscription timeout): restart later. */
  transient: 4,
  /** The capture ran but frames were lost (queue overflow); the summary says how many. */
  dataLoss: 5,
  /** replay: input lines (or export: stored items) that could not be used; the log names each (`file:line: reason`). */
  badInput: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Stable error codes with their exit code. */
export const ERROR_CODES = {
  E_USAGE: EXIT.usage,
  E_PAIR_UNKNOWN: EXIT.usage,
  E_TABLE_NOT_FOUND: EXIT.config,
  E_TABLE_INCOMPATIBLE: EXIT.config,
  E_AWS_CREDENTIALS: EXIT.config,
  E_AWS_ACCESS_DENIED: EXIT.config,
  E_AWS_VALIDATION: EXIT.config,
  E_DDB_UNREACHABLE: EXIT.transient,
  E_EXCHANGE_UNREACHABLE: EXIT.transient,
  E_EXCHANGE_CLOSED: EXIT.transient,
  E_SUBSCRIBE_REJECTED: EXIT.config,
  E_SUBSCRIBE_TIMEOUT: EXIT.transient,
  E_FRAMES_LOST: EXIT.dataLoss,
  /** The journal directory (or the --out file) cannot be written: permissions, disk full. */
  E_JOURNAL_IO: EXIT.config,
  /** The journal reached its disk budget (or the disk its free-space floor) and may delete nothing more (--journal-full stop, or a disk filled by others). */
  E_JOURNAL_FULL: EXIT.config,
  /** replay: a path that does not exist, cannot be read, or a directory without recordings. */
  E_INPUT_UNREADABLE: EXIT.usage,
  /** replay: bad lines were skipped (or `--strict` stopped at the first one). */
  E_BAD_LINES: EXIT.badInput,
  /** export: stored items that are not obcap event items (reported by key, not exported). */
  E_BAD_ITEMS: EXIT.badInput,
  /** book --check: a stored snapshot differs from the book rebuilt from the snapshot and events before it. */
  E_BOOK_MISMATCH: EXIT.badInput,
  /** replay --resume: the checkpoint belongs to other inputs or another table. */
  E_CHECKPOINT_MISMATCH: EXIT.usage,
  /** book: no order book snapshot at or before the time asked: the book there cannot be rebuilt. */
  E_NO_SNAPSHOT: EXIT.usage,
  /** replay: the checkpoint file cannot be read (corrupt) or written (permissions, disk). */
  E_CHECKPOINT_IO: EXIT.config,
  /** replay: stopped by SIGINT/SIGTERM after saving its checkpoint; `--resume` continues it. */
  E_INTERRUPTED: EXIT.transient,
  /** The journal directory's lock file cannot be created or read (permissions, read-only disk). */
  E_LOCK_FAILED: EXIT.config,
  /** `--metrics-port` cannot be bound (in use, not allowed). */
  E_METRICS_LISTEN: EXIT.config,
  /** `obcap status`: nothing answers at the metrics URL. */
  E_METRICS_UNREACHABLE: EXIT.transient,
  E_WORKER_FAILED: EXIT.internal,
  /** Frame decode failures: counted and logged by the pipeline, never fatal on their own. */
  E_FRAME_UTF8: EXIT.internal,
  E_FRAME_JSON: EXIT.internal,
  E_FRAME_INVALID: EXIT.internal,
  /** A frame too large for the queue or for a DynamoDB item: quarantined, never fatal. */
  E_FRAME_OVERSIZE: EXIT.internal,
  /** A frame the decoder accepted but no DynamoDB item can hold (a key or the item over DynamoDB's limits, an encoder failure): quarantined, never fatal. */
  E_FRAME_UNSTORABLE: EXIT.internal,
  /** A journal line that is not one (cut by a crash or power failure, edited): quarantined, never fatal. */
  E_JOURNAL_LINE: EXIT.internal,
  E_INTERNAL: EXIT.internal,
} as const satisfies Record<string, ExitCode>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error a user is meant to read: `message` is complete on its own, `code` is stable. */
export class ObcapError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ObcapError";
    this.code = code;
    this.exitCode = ERROR_CODES[code];
  }
}

/** Builds an {@link ObcapError}; the single factory keeps codes and exit codes in one table. */
export function obcapError(code: ErrorCode, message: string, cause?: unknown): ObcapError {
  return new ObcapError(code, message, cause === undefined ? undefined : { cause });
}

export function isObcapError(err: unknown): err is ObcapError {
  return err instanceof ObcapError;
}

/**
 * `code` when it is one of {@link ERROR_CODES}, else `fallback`: for a code that arrives as text (a
 * worker's error message), so a code this build does not know still maps to a real exit code.
 * Own keys only: "toString" or "__proto__" are not codes.
 */
export function knownErrorCode(code: string, fallback: ErrorCode = "E_WORKER_FAILED"): ErrorCode {
  return Object.hasOwn(ERROR_CODES, code) ? (code as ErrorCode) : fallback;
}

/**
 * One line for an unknown error: `name: message`. Never the error object itself: from a minified
 * binary that dumps tens of KB of source (BUN-NOTES, AWS SDK errors).
 */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
