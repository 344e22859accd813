/** The packed layout's window width (`--pack-ms`), its default and its bounds. */
import { MICROS_PER_HOUR } from "../dynamodb/keys.ts";

/** Default window, and the allowed range (ms). */
export const DEFAULT_PACK_MS = 5_000;
export const PACK_MS_MIN = 100;
export const PACK_MS_MAX = 3_600_000;
/** Checks `--pack-ms`: a whole number of ms in [PACK_MS_MIN, PACK_MS_MAX] that divides an hour, so no window straddles two hours' partitions. */
export function packMsProblem(packMs: number): string | undefined {
  if (!Number.isInteger(packMs) || packMs < PACK_MS_MIN || packMs > PACK_MS_MAX) return `must be a whole number of ms from ${PACK_MS_MIN} to ${PACK_MS_MAX}`;
  if (MICROS_PER_HOUR % (packMs * 1000) !== 0) return `must divide an hour (3,600,000 ms) so that no window straddles two hours, e.g. 1000, 2000, 5000, 10000 or 60000`;
  return undefined;
}

