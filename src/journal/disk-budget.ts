/**
 * The journal's disk budget, as a pure decision: given the segments on disk, what DynamoDB has
 * acknowledged and the filesystem's free space, which segments to delete. Web standards only.
 *
 * Two limits: the journal's own size (`--journal-max`) and a floor of free space on its filesystem
 * (`--journal-min-free`). When either is crossed:
 * 1. segments DynamoDB has acknowledged go first, oldest first, whatever `--journal-keep` says;
 * 2. then, if that is not enough, the policy (`--journal-full`):
 *    - `drop-oldest` (default): the oldest segments not yet in DynamoDB (or, without a table, the
 *      oldest of the output) are evicted, and a gap record of reason `evicted` names their interval;
 *    - `stop`: nothing more is deleted and the capture stops loudly (E_JOURNAL_FULL).
 * The segment being written is never deleted. If nothing is left to delete and the floor is still
 * crossed (other programs filled the disk), the capture stops: writing on would only fail later.
 */
import { segmentStartMicros } from "./segments.ts";

export type FullPolicy = "drop-oldest" | "stop";
export const FULL_POLICIES: readonly FullPolicy[] = ["drop-oldest", "stop"];

export interface SegmentOnDisk {
  name: string;
  /** Bytes on disk (compressed or not). */
  diskBytes: number;
  /** Every line of it is in DynamoDB (the checkpoint is in a later segment). */
  acknowledged: boolean;
}

export interface BudgetState {
  /** Segments oldest first; the last one is the segment being written. */
  segments: readonly SegmentOnDisk[];
  budgetBytes: number;
  freeBytes: number;
  minFreeBytes: number;
  policy: FullPolicy;
}

export type BudgetAction =
  /** An acknowledged segment: deleting it loses nothing. */
  | { kind: "delete"; name: string; diskBytes: number }
  /** A segment not yet in DynamoDB (or the only copy, without a table): its frames are given up, from `startMicros` to `endMicros`. */
  | { kind: "evict"; name: string; diskBytes: number; startMicros: number; endMicros: number }
  | { kind: "stop"; reason: string };

/** Bytes over the budget or under the floor: what must be freed now (0 when within both). */
export function bytesToFree(state: Omit<BudgetState, "policy">): number {
  const used = state.segments.reduce((sum, s) => sum + s.diskBytes, 0);
  return Math.max(0, used - state.budgetBytes, state.minFreeBytes - state.freeBytes);
}

/** What to do now, in order (see the file comment). Empty when within both limits. */
export function budgetActions(state: BudgetState): BudgetAction[] {
  let need = bytesToFree(state);
  if (need <= 0) return [];
  const actions: BudgetAction[] = [];
  const closed = state.segments.slice(0, -1);
  for (const segment of closed) {
    if (need <= 0) break;
    if (!segment.acknowledged) continue;
    actions.push({ kind: "delete", name: segment.name, diskBytes: segment.diskBytes });
    need -= segment.diskBytes;
  }
  if (need > 0 && state.policy === "stop") {
    const pending = closed.filter((s) => !s.acknowledged).reduce((sum, s) => sum + s.diskBytes, 0);
    actions.push({ kind: "stop", reason: `${describeBytes(pending)} of the journal are not in DynamoDB (or, without a table, are the only copy) and --journal-full stop keeps them` });
    return actions;
  }
  for (let i = 0; i < closed.length && need > 0; i++) {
    const segment = closed[i]!;
    if (segment.acknowledged) continue;
    const next = state.segments[i + 1]!;
    actions.push({
      kind: "evict",
      name: segment.name,
      diskBytes: segment.diskBytes,
      startMicros: segmentStartMicros(segment.name) ?? 0,
      endMicros: segmentStartMicros(next.name) ?? 0,
    });
    need -= segment.diskBytes;
  }
  if (need > 0) actions.push({ kind: "stop", reason: "nothing of the journal is left to delete but the segment being written" });
  return actions;
}

/** `1.5 GiB`, `320.0 MiB`, `12 KiB`. */
export function describeBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${Math.round(bytes / 1024)} KiB`;
}

/** What the disk looks like at start, for the defaults. */
export interface DiskAtStart {
  /** Free bytes on the journal's filesystem (for an unprivileged user). */
  freeBytes: number;
  /** Size of that filesystem. */
  totalBytes: number;
  /** Bytes the journal's segments take already. */
  journalBytes: number;
}

/** Half of what is free above the floor goes to the journal by default: the box has other users too. */
const DEFAULT_FREE_SHARE = 0.5;
/** The default floor: 5% of the filesystem, at least 256 MiB (room for logs, updates, the OS). */
const DEFAULT_MIN_FREE_SHARE = 0.05;
const DEFAULT_MIN_FREE_BYTES = 256 * 1024 * 1024;

/**
 * The budget and floor to apply: the flags when given, else `--journal-min-free` = 5% of the
 * filesystem (at least 256 MiB) and `--journal-max` = what the journal holds now plus half the free
 * space above the floor. `chosen` says which were defaulted, for the start line.
 */
export function resolveBudget(disk: DiskAtStart, flags: { maxBytes?: number; minFreeBytes?: number }): { budgetBytes: number; minFreeBytes: number; chosen: { max: boolean; minFree: boolean } } {
  const minFreeBytes = flags.minFreeBytes ?? Math.max(DEFAULT_MIN_FREE_BYTES, Math.round(disk.totalBytes * DEFAULT_MIN_FREE_SHARE));
  const budgetBytes = flags.maxBytes ?? disk.journalBytes + Math.floor(DEFAULT_FREE_SHARE * Math.max(0, disk.freeBytes - minFreeBytes));
  return { budgetBytes, minFreeBytes, chosen: { max: flags.maxBytes === undefined, minFree: flags.minFreeBytes === undefined } };
}
