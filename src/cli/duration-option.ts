/** Duration flags (`--journal-keep 24h`, `--segment-age 1h`): a whole number with a unit. */
import { obcapError } from "../base/errors.ts";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses `<n><unit>` with unit ms, s, m, h or d (`90m`, `24h`, `7d`, `0s`) into milliseconds.
 * Throws E_USAGE naming the flag, the value and the accepted forms.
 */
export function durationOption(flag: string, value: string | undefined, fallbackMs: number, minMs = 0): number {
  if (value === undefined || value === "") return fallbackMs;
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value.trim());
  if (!match) throw obcapError("E_USAGE", `--${flag} '${value}' is not a duration (a whole number with ms, s, m, h or d: e.g. 90m, 24h, 7d)`);
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!;
  if (ms < minMs) throw obcapError("E_USAGE", `--${flag} ${value} is too short (at least ${minMs} ms)`);
  return ms;
}
