/** Size flags (`--journal-max 2GB`, `--journal-min-free 500MiB`): a number with a unit. */
import { obcapError } from "../base/errors.ts";

/** Decimal units are powers of 1000 (as disks are sold), binary ones powers of 1024. */
const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};

/**
 * Parses `<n><unit>` (`2GB`, `1.5GiB`, `500MB`, `0B`; case-insensitive, spaces allowed) into bytes;
 * undefined when the flag is absent. Throws E_USAGE naming the flag, the value and the accepted forms.
 */
export function sizeOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(value.trim());
  const unit = match ? UNIT_BYTES[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw obcapError("E_USAGE", `--${flag} '${value}' is not a size (a number with B, KB, MB, GB, TB, or KiB, MiB, GiB, TiB: e.g. 2GB, 500MiB)`);
  }
  return Math.floor(Number(match[1]) * unit);
}
