/**
 * Checks of command-line values. Each error names the flag, the value given and what is allowed
 * (citty `src/args.ts` habit), and is an E_USAGE (exit 2).
 */
import type { ArgsDef } from "citty";
import { obcapError } from "../base/errors.ts";
import type { Stream } from "../model/channels.ts";

/** An integer flag within bounds. */
export function intOption(flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  if (!/^\d+$/.test(value.trim())) throw obcapError("E_USAGE", `--${flag} '${value}' is not a whole number (allowed ${min} to ${max})`);
  const n = Number(value);
  if (n < min || n > max) throw obcapError("E_USAGE", `--${flag} ${value} is out of range (allowed ${min} to ${max})`);
  return n;
}

/** A ws:// or wss:// URL. */
export function wsUrlOption(flag: string, value: string): string {
  return urlOption(flag, value, ["ws:", "wss:"]);
}

/** An http:// or https:// URL. */
export function httpUrlOption(flag: string, value: string): string {
  return urlOption(flag, value, ["http:", "https:"]);
}

function urlOption(flag: string, value: string, protocols: string[]): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw obcapError("E_USAGE", `--${flag} '${value}' is not a URL (expected ${protocols.map((p) => `${p}//host[:port]`).join(" or ")})`);
  }
  if (!protocols.includes(url.protocol)) {
    throw obcapError("E_USAGE", `--${flag} '${value}' must use ${protocols.join(" or ")} (got ${url.protocol})`);
  }
  return value;
}

const STREAM_NAMES: Record<string, Stream> = {
  orders: "orders",
  live_orders: "orders",
  trades: "trades",
  live_trades: "trades",
};

/** `--channels orders,trades` (also the channel prefixes live_orders, live_trades). */
export function streamsOption(value: string): Stream[] {
  const streams = new Set<Stream>();
  for (const part of value.split(",").map((s) => s.trim()).filter(Boolean)) {
    const stream = STREAM_NAMES[part];
    if (!stream) throw obcapError("E_USAGE", `--channels '${part}' is not a channel obcap captures (allowed: orders, trades)`);
    streams.add(stream);
  }
  if (streams.size === 0) throw obcapError("E_USAGE", "--channels is empty (allowed: orders, trades)");
  return [...streams];
}

/**
 * Rejects flags a command does not define: citty ignores them, and a mistyped `--tabel Orders` would
 * otherwise capture to stdout instead of the table.
 */
export function rejectUnknownFlags(command: string, rawArgs: readonly string[], args: ArgsDef): void {
  const known = new Set<string>(["help", "h"]);
  for (const [name, def] of Object.entries(args)) {
    known.add(name);
    known.add(name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`));
    if (def.type === "boolean") known.add(`no-${name}`);
    for (const alias of ["alias" in def ? (def.alias ?? []) : []].flat()) known.add(alias);
  }
  for (const arg of rawArgs) {
    if (arg === "--") break;
    const match = /^--?([^=]+)/.exec(arg);
    if (!match || /^-\d/.test(arg)) continue;
    const name = match[1]!;
    if (!known.has(name)) {
      throw obcapError("E_USAGE", `unknown option '${arg}' for '${command}'; see 'obcap ${command} --help'`);
    }
  }
}
