/**
 * The cursor of `/v1/events` and `/v1/trades`: where the next page starts, and the request it
 * continues. Opaque to clients (base64url of a small JSON document), checked when it comes back: a
 * cursor of another route or pair, one that contradicts the request's range, or garbage is a 400.
 * Pages end between two microtimestamps (the items of one are ordered within it, export's merge), so
 * the next page starts at a microtimestamp and holds every item of it.
 */
import * as v from "valibot";
import { badParameter } from "./api-error.ts";

const CursorSchema = v.strictObject({
  v: v.literal(1),
  /** Route: "events" or "trades". */
  r: v.picklist(["events", "trades"]),
  p: v.string(),
  /** The request's from and to (µs), and the next page's first microtimestamp. */
  o: v.pipe(v.number(), v.safeInteger()),
  t: v.pipe(v.number(), v.safeInteger()),
  n: v.pipe(v.number(), v.safeInteger()),
  y: v.optional(v.string()),
});

export type PageCursor = v.InferOutput<typeof CursorSchema>;

export function encodeCursor(cursor: PageCursor): string {
  const bytes = new TextEncoder().encode(JSON.stringify(cursor));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The cursor in `text`; throws 400 (parameter `cursor`) for anything this API did not make. */
export function decodeCursor(text: string): PageCursor {
  const invalid = () => badParameter("cursor", "cursor is not one this API gave: pass next_cursor of the previous page as it is, or leave it out to start from `from`");
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(text)) throw invalid();
  let json: unknown;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
  } catch {
    throw invalid();
  }
  const parsed = v.safeParse(CursorSchema, json);
  if (!parsed.success || parsed.output.n < parsed.output.o || parsed.output.n > parsed.output.t) throw invalid();
  return parsed.output;
}
