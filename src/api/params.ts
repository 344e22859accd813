/**
 * The query parameters of every route, as valibot schemas: what each accepts, its default, and the
 * message a bad value gets (400 naming the parameter). Times take the CLI's forms (ISO 8601, UTC when
 * no zone is given; epoch s / ms / µs: export/time-range.ts). Unknown parameters are refused, as the
 * CLI refuses unknown flags: a typo (`form=`) must not silently mean "the default".
 */
import * as v from "valibot";
import { isObcapError } from "../base/errors.ts";
import { parseTimeMicros } from "../export/time-range.ts";
import { PAIR_PATTERN } from "../model/channels.ts";
import { ORDER_EVENTS } from "../model/schemas.ts";
import { badParameter } from "./api-error.ts";

/** Events per JSON page: default and bound. */
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

const pair = v.pipe(v.string(), v.regex(PAIR_PATTERN, "is not a Bitstamp pair name (lower-case url_symbol like btcusd)"));

/** A time in µs since the epoch. */
function time(name: string) {
  return v.pipe(
    v.string(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      try {
        return parseTimeMicros(name, dataset.value);
      } catch (err) {
        addIssue({ message: isObcapError(err) ? err.message.replace(/^--\S+ '[^']*' /, "") : "is not a time" });
        return NEVER;
      }
    }),
  );
}

function integer(min: number, max: number) {
  return v.pipe(
    v.string(),
    v.regex(/^\d{1,9}$/, `is not a whole number from ${min} to ${max}`),
    v.transform(Number),
    v.minValue(min, `is below ${min}`),
    v.maxValue(max, `is above ${max}`),
  );
}

export const EventsQuery = v.strictObject({
  pair,
  from: v.optional(time("from")),
  to: v.optional(time("to")),
  type: v.optional(v.picklist(ORDER_EVENTS, `is not one of ${ORDER_EVENTS.join(", ")}`)),
  limit: v.optional(integer(1, MAX_LIMIT), String(DEFAULT_LIMIT)),
  cursor: v.optional(v.pipe(v.string(), v.maxLength(2000, "is not a cursor of this API"))),
});

export const TradesQuery = v.strictObject({
  pair,
  from: v.optional(time("from")),
  to: v.optional(time("to")),
  limit: v.optional(integer(1, MAX_LIMIT), String(DEFAULT_LIMIT)),
  cursor: v.optional(v.pipe(v.string(), v.maxLength(2000, "is not a cursor of this API"))),
});

export const BookQuery = v.strictObject({
  pair,
  at: time("at"),
  depth: v.optional(integer(1, 10_000), "20"),
  level: v.optional(v.picklist(["2", "3"], "is not 2 (price levels) or 3 (the orders of each level)"), "2"),
});

export const GapsQuery = v.strictObject({
  pair,
  from: time("from"),
  to: time("to"),
});

export const NoQuery = v.strictObject({});

/**
 * The query of `url` parsed by `schema`; a bad or unknown parameter throws a 400 naming it.
 * A parameter given twice is refused too (which one would win is a guess).
 */
export function parseQuery<S extends v.GenericSchema>(schema: S, url: URL): v.InferOutput<S> {
  const raw: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    if (key in raw) throw badParameter(key, `${key} is given twice`);
    raw[key] = value;
  }
  const parsed = v.safeParse(schema, raw);
  if (parsed.success) return parsed.output;
  const issue = parsed.issues[0];
  const key = issue.path?.[0]?.key;
  const name = typeof key === "string" ? key : "";
  if (!(name in raw)) throw badParameter(name, `${name} is required`);
  if (issue.type === "strict_object") throw badParameter(name, `unknown parameter ${name}: see /openapi.json for this route's parameters`);
  throw badParameter(name, `${name} ${JSON.stringify(raw[name])} ${issue.message}`);
}
