/**
 * `--in-flight N` pins the BatchWriteItem requests in flight; without it they adapt at run time
 * (src/store/dynamodb/write-concurrency.ts), from 8 within [1, `--in-flight-max`].
 */
import type { ConcurrencySettings } from "../store/dynamodb/write-concurrency.ts";
import { intOption } from "./options.ts";

/** The first number of requests in flight when adaptive. */
export const ADAPTIVE_START_IN_FLIGHT = 8;

export const IN_FLIGHT_ARGS = {
  "in-flight": { type: "string", description: "BatchWriteItem requests in flight, pinned (default: adaptive, from 8 up to --in-flight-max)" },
  "in-flight-max": { type: "string", description: "Upper bound of the adaptive requests in flight", default: "64" },
} as const;

export function inFlightOption(a: { "in-flight"?: string; "in-flight-max"?: string }): ConcurrencySettings {
  if (a["in-flight"] !== undefined) {
    const pinned = intOption("in-flight", a["in-flight"], ADAPTIVE_START_IN_FLIGHT, 1, 256);
    return { initial: pinned, max: pinned, adaptive: false };
  }
  const max = intOption("in-flight-max", a["in-flight-max"], 64, 1, 256);
  return { initial: Math.min(ADAPTIVE_START_IN_FLIGHT, max), max, adaptive: true };
}
