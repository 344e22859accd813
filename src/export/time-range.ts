/**
 * `--from` / `--to` of `obcap export`: a time as ISO 8601 or as epoch seconds, milliseconds or
 * microseconds, to integer microseconds since the epoch (the unit of Bitstamp's `microtimestamp` and
 * of obcap's sort keys). Exact: digits are shifted as text, never multiplied as floats.
 *
 * - ISO 8601: `2026-08-09`, `2026-08-09T10:04`, `2026-08-09T10:04:21.947123Z`, `...+02:00`. Without a
 *   zone the time is UTC (the keys' hour buckets are UTC, and a server's local zone is a trap).
 * - Epoch: by the number of integer digits: up to 11 = seconds (`1786269861`, `1786269861.947`),
 *   12 to 14 = milliseconds, 15 to 17 = microseconds. Fractions finer than a microsecond are refused.
 */
import { obcapError } from "../base/errors.ts";

/** A half-open interval [fromMicros, toMicros) of exchange time. */
export interface TimeRange {
  fromMicros: number;
  toMicros: number;
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const EPOCH_RE = /^(\d+)(?:\.(\d+))?$/;

/** Parses one time; throws E_USAGE naming `flag`, the value and the accepted forms. */
export function parseTimeMicros(flag: string, text: string): number {
  const value = text.trim();
  const fail = (why: string) =>
    obcapError(
      "E_USAGE",
      `--${flag} '${text}' ${why} (accepted: ISO 8601 like 2026-08-09T10:04:21Z or 2026-08-09, or epoch seconds / ms / µs like 1786269861, 1786269861947, 1786269861947000)`,
    );
  const epoch = EPOCH_RE.exec(value);
  if (epoch) return epochMicros(epoch[1]!, epoch[2] ?? "", fail);
  const iso = ISO_RE.exec(value);
  if (iso) return isoMicros(iso, fail);
  throw fail("is not a time");
}

/** Parses both bounds; throws E_USAGE unless from < to. */
export function parseTimeRange(fromText: string | undefined, toText: string | undefined): TimeRange {
  if (!fromText || !toText) {
    throw obcapError("E_USAGE", "--from and --to are required: e.g. --from 2026-08-09T10:00Z --to 2026-08-09T11:00Z (to is exclusive)");
  }
  const fromMicros = parseTimeMicros("from", fromText);
  const toMicros = parseTimeMicros("to", toText);
  if (toMicros <= fromMicros) {
    throw obcapError("E_USAGE", `--to '${toText}' is not after --from '${fromText}': the range [from, to) is empty`);
  }
  return { fromMicros, toMicros };
}

function epochMicros(intDigits: string, fraction: string, fail: (why: string) => Error): number {
  const digits = intDigits.replace(/^0+(?=\d)/, "");
  let unitDigits: number; // decimal digits from this unit to µs
  if (digits.length <= 11) unitDigits = 6;
  else if (digits.length <= 14) unitDigits = 3;
  else if (digits.length <= 17) unitDigits = 0;
  else throw fail("has too many digits for epoch seconds, milliseconds or microseconds");
  if (fraction.length > unitDigits) throw fail("is finer than a microsecond");
  return checkSafe(Number(`${digits}${fraction.padEnd(unitDigits, "0")}`), fail);
}

function isoMicros(m: RegExpExecArray, fail: (why: string) => Error): number {
  const [year, month, day, hour = "0", minute = "0", second = "0"] = m.slice(1, 7).map((x) => x ?? "0") as string[];
  const fraction = m[7] ?? "";
  const zone = m[8];
  if (fraction.length > 6 && /[1-9]/.test(fraction.slice(6))) throw fail("is finer than a microsecond");
  const parts = [year, month, day, hour, minute, second].map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5]);
  const back = new Date(ms);
  if (
    Number.isNaN(ms) ||
    back.getUTCFullYear() !== parts[0] ||
    back.getUTCMonth() !== parts[1] - 1 ||
    back.getUTCDate() !== parts[2] ||
    back.getUTCHours() !== parts[3] ||
    back.getUTCMinutes() !== parts[4] ||
    back.getUTCSeconds() !== parts[5]
  ) {
    throw fail("is not a valid date and time");
  }
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== "Z") {
    const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    offsetMinutes = (zm[1] === "-" ? -1 : 1) * (Number(zm[2]) * 60 + Number(zm[3] ?? "0"));
  }
  const micros = (ms - offsetMinutes * 60_000) * 1000 + Number(fraction.slice(0, 6).padEnd(6, "0"));
  return checkSafe(micros, fail);
}

function checkSafe(micros: number, fail: (why: string) => Error): number {
  if (!Number.isSafeInteger(micros) || micros < 0) throw fail("is outside 1970 .. 2255");
  return micros;
}
