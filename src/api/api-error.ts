/**
 * What a request that fails gets: a status and a JSON body `{"error":{"code","message","parameter"?}}`
 * that says what was wrong and what to do, never a stack trace. obcap's own errors (base/errors.ts)
 * map to statuses here: bad input 400, nothing stored there 404, DynamoDB down or refusing 503.
 */
import { describeError, isObcapError } from "../base/errors.ts";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The query parameter at fault, for 400s. */
    readonly parameter?: string,
  ) {
    super(message);
  }
}

/** 400 naming `parameter`. */
export function badParameter(parameter: string, message: string): ApiError {
  return new ApiError(400, "E_BAD_PARAMETER", message, parameter);
}

/** Status of an obcap error code: the caller's mistake, data not there, or the table's side. */
const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  E_USAGE: 400,
  E_NO_SNAPSHOT: 404,
  E_TABLE_NOT_FOUND: 503,
  E_TABLE_INCOMPATIBLE: 503,
  E_DDB_UNREACHABLE: 503,
  E_AWS_ACCESS_DENIED: 503,
  E_AWS_CREDENTIALS: 503,
  E_AWS_VALIDATION: 503,
};

/** The JSON error response of anything thrown by a route. */
export function errorResponse(err: unknown, onInternal?: (err: unknown) => void): Response {
  if (err instanceof ApiError) return jsonError(err.status, err.code, err.message, err.parameter);
  if (isObcapError(err)) {
    const status = STATUS_OF_CODE[err.code] ?? 500;
    if (status === 500) onInternal?.(err);
    return jsonError(status, err.code, status === 500 ? "internal error: see the server's log" : err.message);
  }
  onInternal?.(err);
  return jsonError(500, "E_INTERNAL", `internal error (${describeError(err).slice(0, 200)}): see the server's log`);
}

export function jsonError(status: number, code: string, message: string, parameter?: string, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify({ error: { code, message, ...(parameter === undefined ? {} : { parameter }) } }) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}
