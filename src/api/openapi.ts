/**
 * The OpenAPI 3.1 document of the API (`GET /openapi.json`). Tests check every route and every
 * response they get against it (tests/support/openapi-check.ts), so it cannot drift from app.ts.
 * Frames are the exchange's JSON objects, described loosely (their fields changed over the years:
 * bitstamp-protocol.md); obcap's own fields are described exactly.
 */
import { MAX_LIMIT, DEFAULT_LIMIT } from "./params.ts";

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const TIME_DESCRIPTION = "ISO 8601 (UTC when no zone is given) or epoch seconds, milliseconds or microseconds (by digit count)";

const param = (name: string, required: boolean, description: string, schema: object = { type: "string" }) => ({ name, in: "query", required, description, schema });
const PAIR = param("pair", true, "Bitstamp pair (url_symbol), e.g. btcusd", { type: "string", pattern: "^[a-z0-9]+(?:-perp)?$" });
const FROM = (required: boolean) => param("from", required, `Start, inclusive: ${TIME_DESCRIPTION}`);
const TO = (required: boolean) => param("to", required, `End, exclusive: ${TIME_DESCRIPTION}`);
const LIMIT = param("limit", false, `Frames per page (JSON), default ${DEFAULT_LIMIT}`, { type: "string", pattern: "^\\d+$" });
const CURSOR = param("cursor", false, "next_cursor of the previous page; the range and type come with it");

const errors = {
  "400": { description: "A bad, missing or unknown parameter (named in error.parameter)", content: { "application/json": { schema: ref("Error") } } },
  "401": { description: "Missing or wrong bearer token", content: { "application/json": { schema: ref("Error") } } },
  "404": { description: "Unknown pair (nothing stored of it), or nothing to rebuild from", content: { "application/json": { schema: ref("Error") } } },
  "503": { description: "DynamoDB unreachable, or the table missing or refusing", content: { "application/json": { schema: ref("Error") } } },
};
const TOO_LARGE = { "413": { description: "On AWS Lambda: the answer is over Lambda's 6 MB response limit (page it as JSON)", content: { "application/json": { schema: ref("Error") } } } };

const framesPage = (key: string) => ({
  type: "object",
  required: ["pair", "from", "to", "from_us", "to_us", "count", key, "next_cursor"],
  additionalProperties: false,
  properties: {
    pair: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    from_us: { type: "integer" },
    to_us: { type: "integer" },
    count: { type: "integer", minimum: 0 },
    [key]: { type: "array", items: ref("Frame") },
    next_cursor: { type: ["string", "null"] },
    bad_items: { type: "integer", minimum: 1 },
  },
});

export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "obcap API",
      version,
      description: "Bitstamp order-level (L3) history captured by obcap: order events, trades, gaps and the order book at any instant, read from an obcap DynamoDB table. Decimals are exact strings (frames keep the exchange's JSON numbers as sent).",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          additionalProperties: false,
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              additionalProperties: false,
              properties: { code: { type: "string" }, message: { type: "string" }, parameter: { type: "string" } },
            },
          },
        },
        Frame: {
          type: "object",
          description: "A frame as Bitstamp sent it: event, channel, data (and event_id in newer frames)",
          required: ["event", "channel", "data"],
          properties: { event: { type: "string" }, channel: { type: "string" }, data: { type: "object" } },
        },
        Level: {
          type: "object",
          required: ["price", "amount", "orders"],
          additionalProperties: false,
          properties: {
            price: { type: "string" },
            amount: { type: "string" },
            orders: { type: "integer", minimum: 1 },
            queue: { type: "array", items: { type: "object", required: ["id", "amount", "time_us"], additionalProperties: false, properties: { id: { type: "string" }, amount: { type: "string" }, time_us: { type: "integer" } } } },
          },
        },
        Book: {
          type: "object",
          required: ["pair", "at_us", "at", "source", "snapshot", "applied_from_us", "events_applied", "orders", "best_bid", "best_ask", "spread", "mid", "crossed", "bids", "asks", "gaps", "late_events", "report", "warnings"],
          additionalProperties: false,
          properties: {
            pair: { type: "string" },
            at_us: { type: "integer" },
            at: { type: "string" },
            source: { type: "string" },
            snapshot: { type: "object", required: ["microtimestamp", "received_us", "bids", "asks"], additionalProperties: false, properties: { microtimestamp: { type: "integer" }, received_us: { type: "integer" }, bids: { type: "integer" }, asks: { type: "integer" } } },
            applied_from_us: { type: "integer" },
            events_applied: { type: "integer", minimum: 0 },
            orders: { type: "integer", minimum: 0 },
            best_bid: { type: ["string", "null"] },
            best_ask: { type: ["string", "null"] },
            spread: { type: ["string", "null"] },
            mid: { type: ["string", "null"] },
            crossed: { type: "boolean" },
            bids: { type: "array", items: ref("Level") },
            asks: { type: "array", items: ref("Level") },
            gaps: { type: "array", items: { type: "object", required: ["start_us", "end_us", "reason"], additionalProperties: false, properties: { start_us: { type: "integer" }, end_us: { type: "integer" }, reason: { type: "string" } } } },
            late_events: { type: "integer", minimum: 0 },
            report: { type: "object", required: ["unknown_changed", "unknown_deleted", "rejected", "crossed_times"], additionalProperties: false, properties: { unknown_changed: { type: "integer" }, unknown_deleted: { type: "integer" }, rejected: { type: "integer" }, crossed_times: { type: "integer" } } },
            warnings: { type: "array", items: { type: "string" } },
          },
        },
        EventsPage: framesPage("events"),
        TradesPage: framesPage("trades"),
        Gaps: {
          type: "object",
          required: ["pair", "from", "to", "gaps"],
          additionalProperties: false,
          properties: {
            pair: { type: "string" },
            from: { type: "string" },
            to: { type: "string" },
            gaps: {
              type: "array",
              items: {
                type: "object",
                required: ["stream", "start", "end", "start_us", "end_us", "reason"],
                additionalProperties: false,
                properties: {
                  stream: { type: "string", enum: ["orders", "trades"] },
                  start: { type: "string" }, end: { type: "string" }, start_us: { type: "integer" }, end_us: { type: "integer" },
                  reason: { type: "string" }, recorded_us: { type: "integer" },
                },
              },
            },
          },
        },
        Pairs: {
          type: "object",
          required: ["table", "coverage", "pairs"],
          additionalProperties: false,
          properties: {
            table: { type: "string" },
            coverage: { type: "string", enum: ["complete", "incomplete"] },
            pairs: {
              type: "array",
              items: {
                type: "object",
                required: ["pair", "streams"],
                additionalProperties: false,
                properties: {
                  pair: { type: "string" },
                  streams: {
                    type: "object",
                    additionalProperties: { type: "object", required: ["from", "to", "from_us", "to_us", "hours"], additionalProperties: false, properties: { from: { type: "string" }, to: { type: "string" }, from_us: { type: "integer" }, to_us: { type: "integer" }, hours: { type: "integer", minimum: 1 } } },
                  },
                },
              },
            },
          },
        },
        Health: {
          type: "object",
          required: ["status", "version", "uptime_s"],
          additionalProperties: false,
          properties: { status: { type: "string", enum: ["ok", "unavailable"] }, table: { type: "string" }, version: { type: "string" }, uptime_s: { type: "integer" }, error: ref("Error/properties/error") },
        },
      },
    },
    security: [{ bearer: [] }, {}],
    paths: {
      "/health": {
        get: {
          summary: "Whether the table answers; version and uptime (no token needed)",
          security: [{}],
          responses: {
            "200": { description: "The table answers", content: { "application/json": { schema: ref("Health") } } },
            "503": { description: "The table does not answer", content: { "application/json": { schema: ref("Health") } } },
          },
        },
      },
      "/openapi.json": {
        get: { summary: "This document", responses: { "200": { description: "OpenAPI 3.1", content: { "application/json": { schema: { type: "object" } } } }, "401": errors["401"] } },
      },
      "/v1/pairs": {
        get: { summary: "Pairs in the table and the hours each stream holds (coverage records)", responses: { "200": { description: "The pairs", content: { "application/json": { schema: ref("Pairs") } } }, "400": errors["400"], "401": errors["401"], "503": errors["503"] } },
      },
      "/v1/events": {
        get: {
          summary: "Order events of a range, in exchange-time order: a page (JSON, with next_cursor) or the whole range (Accept: application/x-ndjson, at most 24 h)",
          parameters: [PAIR, FROM(false), TO(false), param("type", false, "Only this event", { type: "string", enum: ["order_created", "order_changed", "order_deleted"] }), LIMIT, CURSOR],
          responses: {
            "200": { description: `A page of at most limit (1..${MAX_LIMIT}) frames, ending at a microtimestamp boundary; or NDJSON, one frame per line`, content: { "application/json": { schema: ref("EventsPage") }, "application/x-ndjson": { schema: ref("Frame") } } },
            ...errors,
            ...TOO_LARGE,
          },
        },
      },
      "/v1/trades": {
        get: {
          summary: "Trades of a range, like /v1/events",
          parameters: [PAIR, FROM(false), TO(false), LIMIT, CURSOR],
          responses: {
            "200": { description: "A page, or NDJSON", content: { "application/json": { schema: ref("TradesPage") }, "application/x-ndjson": { schema: ref("Frame") } } },
            ...errors,
            ...TOO_LARGE,
          },
        },
      },
      "/v1/book": {
        get: {
          summary: "The order book at an instant: the nearest snapshot at or before it plus every event up to it (docs/book.md)",
          parameters: [PAIR, param("at", true, `The instant: ${TIME_DESCRIPTION}`), param("depth", false, "Price levels per side, default 20", { type: "string", pattern: "^\\d+$" }), param("level", false, "2: price levels; 3: each level's orders in queue order", { type: "string", enum: ["2", "3"] })],
          responses: { "200": { description: "The book, where it came from and what may make it wrong", content: { "application/json": { schema: ref("Book") } } }, ...errors },
        },
      },
      "/v1/gaps": {
        get: {
          summary: "The recorded gaps of both streams that meet [from, to]",
          parameters: [PAIR, FROM(true), param("to", true, `End, inclusive: ${TIME_DESCRIPTION}`)],
          responses: { "200": { description: "The gaps, by start", content: { "application/json": { schema: ref("Gaps") } } }, ...errors },
        },
      },
    },
  };
}
