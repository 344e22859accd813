/**
 * Sorts what the AWS SDK throws into "try again" and "stop, and tell the user what to fix". Shared by
 * the batch writer (which retries the first kind forever, with backoff) and the table commands (which
 * run once at start-up and turn the first kind into E_DDB_UNREACHABLE).
 *
 * Names come from what the SDK sets on its errors, checked against DynamoDB Local 1.25.1 and
 * @aws-sdk/client-dynamodb 3.1162: modeled exceptions have their own class (ResourceNotFoundException,
 * ProvisionedThroughputExceededException, ...); unmodeled ones (ValidationException,
 * UnrecognizedClientException, AccessDeniedException) are a DynamoDBServiceException whose `name` is
 * the wire `__type`; network failures are plain Errors with a Node `code` (ECONNREFUSED) and a
 * `$metadata`; missing credentials are a CredentialsProviderError.
 */
import { describeError, obcapError, type ObcapError } from "../../base/errors.ts";

/** Where the failed call went: names the table, region and endpoint in messages. */
export interface AwsErrorContext {
  table: string;
  /** URL of the endpoint (DynamoDB Local) or the AWS regional endpoint. */
  endpoint: string;
  region: string;
  /** DynamoDB operation (= IAM action name) that failed. Default "BatchWriteItem". */
  operation?: string;
  /** Key of the first item of the batch, for validation errors (`pk=... sk=...`). */
  firstKey?: string;
}

/** Why a call can be tried again. */
export type RetryCategory = "throttle" | "server" | "network";

export type AwsErrorClass =
  | { kind: "retry"; category: RetryCategory; reason: string; error?: undefined }
  | { kind: "fatal"; error: ObcapError; reason: string };

/** Throttling, as named by DynamoDB and the SDK's retry strategy (THROTTLING_ERROR_CODES). */
const THROTTLING_NAMES = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "Throttling",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "TransactionInProgressException",
]);

/** Service-side trouble that goes away. */
const SERVER_NAMES = new Set(["InternalServerError", "InternalFailure", "ServiceUnavailable", "ServiceUnavailableException"]);

/** Credentials that are missing, unknown to AWS, or signed wrongly. */
const CREDENTIAL_NAMES = new Set([
  "CredentialsProviderError",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "IncompleteSignatureException",
  "MissingAuthenticationToken",
  "MissingAuthenticationTokenException",
  "InvalidClientTokenId",
  "ExpiredTokenException",
  "ExpiredToken",
  "TokenRefreshRequired",
]);

const ACCESS_DENIED_NAMES = new Set(["AccessDeniedException", "AccessDenied", "NotAuthorized"]);

/** Socket-level failures (Node/Bun `code`), and the SDK handler's own timeouts. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EHOSTDOWN",
  "ConnectionRefused",
  "ConnectionClosed",
  "FailedToOpenSocket",
]);
const NETWORK_NAMES = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException", "AbortError"]);

interface ErrorFields {
  name: string;
  message: string;
  code: string | undefined;
  status: number | undefined;
  fault: string | undefined;
}

function fieldsOf(err: unknown): ErrorFields {
  const e = (typeof err === "object" && err !== null ? err : {}) as Record<string, unknown>;
  const meta = e.$metadata as { httpStatusCode?: unknown } | undefined;
  const cause = e.cause as Record<string, unknown> | undefined;
  let name = typeof e.name === "string" ? e.name : "Error";
  // Unmodeled errors keep the wire type ("com.amazon.coral.validate#ValidationException").
  if ((name === "Error" || name === "DynamoDBServiceException") && typeof e.__type === "string") {
    name = e.__type.slice(e.__type.lastIndexOf("#") + 1);
  }
  const code = typeof e.code === "string" ? e.code : typeof cause?.code === "string" ? cause.code : undefined;
  return {
    name,
    message: err instanceof Error ? err.message : String(err),
    code,
    status: typeof meta?.httpStatusCode === "number" ? meta.httpStatusCode : undefined,
    fault: typeof e.$fault === "string" ? e.$fault : undefined,
  };
}

/**
 * Classifies one SDK error. `retry` for throttling, 5xx and network trouble; `fatal` with an
 * ObcapError for everything retrying cannot fix. Unknown errors are fatal (E_INTERNAL) unless they
 * carry a 5xx status or a network code: a retry loop must not spin on a bug.
 */
export function classifyAwsError(err: unknown, context: AwsErrorContext): AwsErrorClass {
  const f = fieldsOf(err);
  const what = `${f.name}: ${f.message}`;
  const operation = context.operation ?? "BatchWriteItem";
  const where = `table ${context.table} in ${context.region} at ${context.endpoint}`;

  if (THROTTLING_NAMES.has(f.name) || f.status === 429) {
    return { kind: "retry", category: "throttle", reason: `throttled (${f.name})` };
  }
  if (SERVER_NAMES.has(f.name) || f.fault === "server" || (f.status !== undefined && f.status >= 500)) {
    return { kind: "retry", category: "server", reason: `server error (${what})` };
  }
  if ((f.code !== undefined && NETWORK_CODES.has(f.code)) || NETWORK_NAMES.has(f.name)) {
    return { kind: "retry", category: "network", reason: `network (${f.code ?? f.name}: ${f.message})` };
  }

  if (f.name === "ResourceNotFoundException") {
    return fatal(
      obcapError(
        "E_TABLE_NOT_FOUND",
        `DynamoDB table ${context.table} not found in ${context.region} at ${context.endpoint}: ` +
          `create it with \`obcap table create --table ${context.table}\` (same --region/--endpoint)`,
        err,
      ),
    );
  }
  if (f.name === "ValidationException") {
    const key = context.firstKey ? ` (first item ${context.firstKey})` : "";
    return fatal(
      obcapError(
        "E_AWS_VALIDATION",
        `DynamoDB rejected ${operation} on ${where}: ${f.message}${key}. ` +
          `This is an obcap bug: please report it with this message`,
        err,
      ),
    );
  }
  if (ACCESS_DENIED_NAMES.has(f.name)) {
    return fatal(
      obcapError(
        "E_AWS_ACCESS_DENIED",
        `access denied for dynamodb:${operation} on ${where} (${what}): ` +
          `check that the IAM identity in use (AWS_PROFILE / --profile, AWS_ACCESS_KEY_ID) is allowed ` +
          `dynamodb:${operation} on table ${context.table}`,
        err,
      ),
    );
  }
  if (CREDENTIAL_NAMES.has(f.name) || /could not load credentials/i.test(f.message)) {
    return fatal(
      obcapError(
        "E_AWS_CREDENTIALS",
        `no valid AWS credentials for DynamoDB ${operation} on ${where} (${what}): ` +
          `check AWS_PROFILE (or --profile), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN ` +
          `for temporary keys), and that the keys are active`,
        err,
      ),
    );
  }
  if (/region is missing/i.test(f.message)) {
    return fatal(obcapError("E_USAGE", `no AWS region for DynamoDB: set AWS_REGION or pass --region`, err));
  }
  return fatal(
    obcapError("E_INTERNAL", `DynamoDB ${operation} on ${where} failed: ${describeError(err)}`, err),
  );
}

function fatal(error: ObcapError): AwsErrorClass {
  return { kind: "fatal", error, reason: error.message };
}
