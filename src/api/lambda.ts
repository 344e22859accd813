/**
 * The API on AWS Lambda (Node.js runtime): `make lambda` bundles this file as `index.mjs` of
 * dist/obcap-api-lambda.zip, whose `handler` takes API Gateway HTTP API (payload 2.0) and function URL
 * events, turns each into a web Request for the same handler `obcap serve` runs (app.ts), and the
 * Response back into the event result. Configured by environment: OBCAP_TABLE (required),
 * OBCAP_API_TOKEN (optional: then a bearer token is required, as with serve), and the AWS SDK's own
 * variables (AWS_REGION is set by Lambda; AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local in tests).
 *
 * Lambda returns a buffered response of at most 6 MB: an NDJSON range that does not fit answers 413
 * (page it as JSON instead). Binary bodies never occur (every answer is UTF-8 JSON or NDJSON).
 */
import { createDynamoClient } from "../store/dynamodb/client.ts";
import { createApi, type ApiHandler } from "./app.ts";
import { jsonError } from "./api-error.ts";
import { TableReader } from "./table-reader.ts";

/** Lambda's limit on a buffered response body, with room for the headers. */
export const MAX_LAMBDA_BODY_BYTES = 6_000_000;

/** The fields of an API Gateway v2 / function URL event this adapter reads. */
export interface HttpApiEvent {
  version?: string;
  rawPath?: string;
  rawQueryString?: string;
  headers?: Record<string, string | undefined>;
  cookies?: string[];
  body?: string;
  isBase64Encoded?: boolean;
  requestContext?: { domainName?: string; http?: { method?: string; path?: string } };
}

export interface HttpApiResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

let api: ApiHandler | undefined;
let reader: Promise<TableReader> | undefined;

/** One handler per container; the table is opened on first use, and again after a failure. */
function apiOf(env: Record<string, string | undefined>): ApiHandler | undefined {
  const table = env.OBCAP_TABLE;
  if (!table) return undefined;
  api ??= createApi({
    reader: () => {
      reader ??= TableReader.open(createDynamoClient({}), table).catch((err: unknown) => {
        reader = undefined;
        throw err;
      });
      return reader;
    },
    ...(env.OBCAP_API_TOKEN ? { token: env.OBCAP_API_TOKEN } : {}),
    onInternalError: (err) => console.error("obcap api internal error", err),
  });
  return api;
}

/** The web Request of an event. */
export function requestOfEvent(event: HttpApiEvent): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(event.headers ?? {})) if (value !== undefined) headers.set(name, value);
  if (event.cookies?.length) headers.set("cookie", event.cookies.join("; "));
  const host = event.requestContext?.domainName ?? headers.get("host") ?? "lambda.invalid";
  const path = event.rawPath ?? event.requestContext?.http?.path ?? "/";
  const url = `https://${host}${path}${event.rawQueryString ? `?${event.rawQueryString}` : ""}`;
  const method = event.requestContext?.http?.method ?? "GET";
  const body = event.body === undefined || method === "GET" || method === "HEAD" ? undefined : event.isBase64Encoded ? Uint8Array.from(atob(event.body), (c) => c.charCodeAt(0)) : event.body;
  return new Request(url, { method, headers, ...(body === undefined ? {} : { body }) });
}

/** The event result of a Response (buffered: Lambda's payload 2.0 result). */
export async function resultOfResponse(response: Response): Promise<HttpApiResult> {
  const body = await response.text();
  if (new TextEncoder().encode(body).length > MAX_LAMBDA_BODY_BYTES) {
    return resultOfResponse(jsonError(413, "E_TOO_LARGE", `the answer is over Lambda's 6 MB: ask a shorter range, or page it as JSON with limit and cursor`));
  }
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  return { statusCode: response.status, headers, body, isBase64Encoded: false };
}

export async function handler(event: HttpApiEvent): Promise<HttpApiResult> {
  const app = apiOf(process.env);
  if (app === undefined) return resultOfResponse(jsonError(503, "E_CONFIG", "OBCAP_TABLE is not set: set it to the table's name in the function's environment"));
  return resultOfResponse(await app(requestOfEvent(event)));
}
