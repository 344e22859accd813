/**
 * The REST API as one web-standard handler, `fetch(Request) -> Response`: `obcap serve` puts it behind
 * Bun's HTTP server (runtime/bun/http-server.ts) and the Lambda adapter (lambda.ts) behind API
 * Gateway. docs/api.md describes the routes; `/openapi.json` (openapi.ts) documents them.
 *
 *   GET /v1/pairs                                     pairs and the hours each stream holds
 *   GET /v1/events?pair&from&to[&type][&limit][&cursor] order events, a page (JSON) or all (NDJSON)
 *   GET /v1/trades?pair&from&to[&limit][&cursor]        trades, the same way
 *   GET /v1/book?pair&at[&depth][&level=2|3]           the book at an instant (history/book-at.ts)
 *   GET /v1/gaps?pair&from&to                          the recorded gaps of both streams
 *   GET /health, GET /openapi.json
 *
 * Frames are returned as the exchange sent them (decimals exact: the JSON text is embedded as it is).
 * `Accept: application/x-ndjson` streams every frame of the range, one per line, without pages.
 */
import { VERSION } from "../base/version.ts";
import { bookAt, isoOfMicros } from "../history/book-at.ts";
import { bookJson } from "../history/book-text.ts";
import type { Stream } from "../model/channels.ts";
import { AsyncChannel, ChannelClosed } from "../history/async-channel.ts";
import { ApiError, badParameter, errorResponse, jsonError } from "./api-error.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { openApiDocument } from "./openapi.ts";
import { BookQuery, EventsQuery, GapsQuery, NoQuery, TradesQuery, parseQuery } from "./params.ts";
import type { TableReader } from "./table-reader.ts";

/** NDJSON streams at most this much exchange time per request: longer ranges are paged (JSON, cursor). */
export const MAX_STREAM_RANGE_MICROS = 24 * 3_600_000_000;
const NDJSON = "application/x-ndjson";
const JSON_TYPE = "application/json; charset=utf-8";

export interface ApiOptions {
  /** The table, opened lazily on the first request that needs it (a cold Lambda, a table not there yet). */
  reader: () => Promise<TableReader>;
  /** Requests must carry `Authorization: Bearer <token>` (except /health). */
  token?: string;
  /** For /health's uptime. */
  startedAtMs?: number;
  /** A 500's cause, for the server's log (the client gets no stack). */
  onInternalError?: (err: unknown) => void;
}

export type ApiHandler = (request: Request) => Promise<Response>;

export function createApi(options: ApiOptions): ApiHandler {
  const startedAtMs = options.startedAtMs ?? Date.now();
  return async (request) => {
    try {
      const url = new URL(request.url);
      if (request.method !== "GET" && request.method !== "HEAD") {
        return jsonError(405, "E_METHOD", `${request.method} is not allowed: every route is GET`, undefined, { allow: "GET, HEAD" });
      }
      if (url.pathname !== "/health" && options.token !== undefined && !authorized(request, options.token)) {
        return jsonError(401, "E_UNAUTHORIZED", "missing or wrong bearer token: send Authorization: Bearer <token> (the server's --token-file or OBCAP_API_TOKEN)", undefined, { "www-authenticate": "Bearer" });
      }
      switch (url.pathname) {
        case "/health":
          parseQuery(NoQuery, url);
          return await health(options, startedAtMs);
        case "/openapi.json":
          parseQuery(NoQuery, url);
          return json(200, openApiDocument(VERSION));
        case "/v1/pairs":
          parseQuery(NoQuery, url);
          return await pairs(await options.reader());
        // Each route checks its parameters before it opens the table: a bad request costs no read.
        case "/v1/events":
          return await frames(options.reader, request, url, "orders");
        case "/v1/trades":
          return await frames(options.reader, request, url, "trades");
        case "/v1/book":
          return await book(options.reader, url);
        case "/v1/gaps":
          return await gaps(options.reader, url);
        default:
          return jsonError(404, "E_NOT_FOUND", `no route ${url.pathname}: see /openapi.json`);
      }
    } catch (err) {
      return errorResponse(err, options.onInternalError);
    }
  };
}

function authorized(request: Request, token: string): boolean {
  const header = request.headers.get("authorization") ?? "";
  const given = header.startsWith("Bearer ") ? header.slice(7) : "";
  // Compare in time independent of where they differ.
  if (given.length !== token.length) return false;
  let diff = 0;
  for (let i = 0; i < token.length; i++) diff |= given.charCodeAt(i) ^ token.charCodeAt(i);
  return diff === 0;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body) + "\n", { status, headers: { "content-type": JSON_TYPE } });
}

async function health(options: ApiOptions, startedAtMs: number): Promise<Response> {
  const base = { version: VERSION, uptime_s: Math.round((Date.now() - startedAtMs) / 1000) };
  try {
    const reader = await options.reader();
    await reader.ping();
    return json(200, { status: "ok", table: reader.table, ...base });
  } catch (err) {
    const failed = errorResponse(err);
    const body = (await failed.json()) as { error: { code: string; message: string } };
    return json(503, { status: "unavailable", ...base, error: body.error });
  }
}

async function pairs(reader: TableReader): Promise<Response> {
  const list = await reader.pairs();
  return json(200, {
    table: reader.table,
    coverage: reader.coverageComplete ? "complete" : "incomplete",
    pairs: list.map((p) => ({
      pair: p.pair,
      streams: Object.fromEntries(p.streams.map((s) => [s.stream, { from: isoOfMicros(s.fromMicros), to: isoOfMicros(s.toMicros), from_us: s.fromMicros, to_us: s.toMicros, hours: s.hours }])),
    })),
  });
}

async function requireKnownPair(reader: TableReader, pair: string): Promise<void> {
  if (!(await reader.knowsPair(pair))) throw new ApiError(404, "E_UNKNOWN_PAIR", `pair ${pair} has no data in table ${reader.table}: see /v1/pairs`);
}

/** `/v1/events` and `/v1/trades`: a JSON page with a cursor, or (Accept: NDJSON) the whole range streamed. */
async function frames(open: ApiOptions["reader"], request: Request, url: URL, stream: Stream): Promise<Response> {
  const route = stream === "orders" ? "events" : "trades";
  const q = stream === "orders" ? parseQuery(EventsQuery, url) : { ...parseQuery(TradesQuery, url), type: undefined };
  const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  if (cursor !== undefined) {
    if (cursor.r !== route || cursor.p !== q.pair) throw badParameter("cursor", `cursor belongs to /v1/${cursor.r}?pair=${cursor.p}, not to this request`);
    if ((q.from !== undefined && q.from !== cursor.o) || (q.to !== undefined && q.to !== cursor.t) || (q.type !== undefined && q.type !== cursor.y)) {
      throw badParameter("cursor", "cursor continues another range or type: repeat the first request's from, to and type, or leave them out");
    }
  } else {
    if (q.from === undefined) throw badParameter("from", "from is required (ISO 8601 or epoch s/ms/µs)");
    if (q.to === undefined) throw badParameter("to", "to is required (ISO 8601 or epoch s/ms/µs; exclusive)");
    if (q.from > q.to) throw badParameter("from", `from (${isoOfMicros(q.from)}) is after to (${isoOfMicros(q.to)})`);
  }
  const reader = await open();
  await requireKnownPair(reader, q.pair);
  const fromMicros = cursor?.o ?? q.from!;
  const toMicros = cursor?.t ?? q.to!;
  const startMicros = cursor?.n ?? fromMicros;
  const type = cursor?.y ?? q.type;

  if ((request.headers.get("accept") ?? "").includes(NDJSON)) {
    if (cursor !== undefined) throw badParameter("cursor", "a cursor pages JSON answers; an NDJSON answer streams the whole range at once");
    if (toMicros - fromMicros > MAX_STREAM_RANGE_MICROS) {
      throw badParameter("to", `range too large to stream: at most 24 h per NDJSON request (asked ${((toMicros - fromMicros) / 3.6e9).toFixed(1)} h); split it, or page it as JSON with limit and cursor`);
    }
    return ndjson(reader, { pair: q.pair, stream, fromMicros, toMicros, ...(type === undefined ? {} : { type }) });
  }

  const out: string[] = [];
  const end = await reader.frames({ pair: q.pair, stream, fromMicros: startMicros, toMicros, limit: q.limit, ...(type === undefined ? {} : { type }) }, (frame) => void out.push(frame));
  const next = end.nextMicros === undefined ? null : encodeCursor({ v: 1, r: route, p: q.pair, o: fromMicros, t: toMicros, n: end.nextMicros, ...(type === undefined ? {} : { y: type }) });
  // Frames are embedded as received: their JSON numbers keep every digit.
  const head = JSON.stringify({ pair: q.pair, from: isoOfMicros(fromMicros), to: isoOfMicros(toMicros), from_us: fromMicros, to_us: toMicros, count: out.length }).slice(0, -1);
  const body = `${head},${JSON.stringify(route)}:[${out.join(",")}],"next_cursor":${JSON.stringify(next)}${end.badItems > 0 ? `,"bad_items":${end.badItems}` : ""}}\n`;
  return new Response(body, { status: 200, headers: { "content-type": JSON_TYPE } });
}

/** Every frame of the range, one per line, read while it is sent (bounded buffer: the client's pace). */
function ndjson(reader: TableReader, request: Parameters<TableReader["frames"]>[0]): Response {
  const channel = new AsyncChannel<string>(64);
  const encoder = new TextEncoder();
  const lines: string[] = [];
  const producer = reader.frames(request, async (frame) => {
    lines.push(frame);
    if (lines.length >= 256) await channel.push(lines.splice(0).join("\n") + "\n");
  }).then(
    async () => {
      if (lines.length > 0) await channel.push(lines.splice(0).join("\n") + "\n");
      channel.close();
    },
    (err: unknown) => {
      if (!(err instanceof ChannelClosed)) channel.fail(err);
    },
  );
  const iterator = channel[Symbol.asyncIterator]();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      } catch (err) {
        // Headers are gone: the stream ends with an error line the client can tell from a frame.
        const failed = errorResponse(err);
        controller.enqueue(encoder.encode(JSON.stringify({ obcap_error: ((await failed.json()) as { error: unknown }).error }) + "\n"));
        controller.close();
      }
    },
    cancel() {
      channel.close();
      void producer;
    },
  });
  return new Response(body, { status: 200, headers: { "content-type": NDJSON } });
}

async function book(open: ApiOptions["reader"], url: URL): Promise<Response> {
  const q = parseQuery(BookQuery, url);
  const reader = await open();
  await requireKnownPair(reader, q.pair);
  const result = await bookAt(reader.history(), q.pair, q.at);
  return new Response(bookJson(result, { depth: q.depth, l3: q.level === "3" }), { status: 200, headers: { "content-type": JSON_TYPE } });
}

async function gaps(open: ApiOptions["reader"], url: URL): Promise<Response> {
  const q = parseQuery(GapsQuery, url);
  if (q.from > q.to) throw badParameter("from", `from (${isoOfMicros(q.from)}) is after to (${isoOfMicros(q.to)})`);
  const reader = await open();
  await requireKnownPair(reader, q.pair);
  const list = await reader.gaps(q.pair, q.from, q.to);
  return json(200, {
    pair: q.pair,
    from: isoOfMicros(q.from),
    to: isoOfMicros(q.to),
    gaps: list.map((g) => ({
      stream: g.stream, start: isoOfMicros(g.startMicros), end: isoOfMicros(g.endMicros), start_us: g.startMicros, end_us: g.endMicros, reason: g.reason,
      ...(g.rxMicros === undefined ? {} : { recorded_us: g.rxMicros }),
    })),
  });
}
