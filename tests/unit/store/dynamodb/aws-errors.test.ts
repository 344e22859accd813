import { describe, expect, test } from "bun:test";
import {
  DynamoDBServiceException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ResourceNotFoundException,
  ThrottlingException,
} from "@aws-sdk/client-dynamodb";
import { classifyAwsError, type AwsErrorContext } from "../../../../src/store/dynamodb/aws-errors.ts";
import { ObcapError } from "../../../../src/base/errors.ts";

const context: AwsErrorContext = {
  table: "obcap-test",
  endpoint: "http://127.0.0.1:8000",
  region: "eu-west-1",
  operation: "BatchWriteItem",
  firstKey: "pk=btcusd#orders#2026112707#3 sk=1764226800123456#42",
};

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode, attempts: 1, totalRetryDelay: 0 } });

/** An unmodeled DynamoDB error as the SDK builds it: a DynamoDBServiceException named after `__type`. */
function unmodeled(name: string, message: string, httpStatusCode = 400): DynamoDBServiceException {
  return new DynamoDBServiceException({ name, message, $fault: "client", ...meta(httpStatusCode) });
}

/** A socket error as seen from the SDK in Bun (observed: plain Error, Node `code`, `$metadata`). */
function socketError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, $metadata: { attempts: 1, totalRetryDelay: 0 } });
}

function fatalError(err: unknown): ObcapError {
  const verdict = classifyAwsError(err, context);
  if (verdict.kind !== "fatal") throw new Error(`expected fatal, got retry (${verdict.reason})`);
  expect(verdict.error).toBeInstanceOf(ObcapError);
  return verdict.error;
}

describe("classifyAwsError", () => {
  test.each([
    ["ProvisionedThroughputExceededException", new ProvisionedThroughputExceededException({ message: "exceeded", ...meta(400) })],
    ["ThrottlingException", new ThrottlingException({ message: "rate exceeded", ...meta(400) })],
    ["RequestLimitExceeded", new RequestLimitExceeded({ message: "account limit", ...meta(400) })],
  ])("retries %s as throttling", (name, err) => {
    const verdict = classifyAwsError(err, context);
    expect(verdict.kind).toBe("retry");
    expect(verdict.kind === "retry" && verdict.category).toBe("throttle");
    expect(verdict.reason).toContain(name);
  });

  test("retries InternalServerError and any 5xx as server trouble", () => {
    const internal = classifyAwsError(new InternalServerError({ message: "boom", ...meta(500) }), context);
    expect(internal.kind === "retry" && internal.category).toBe("server");
    const unavailable = classifyAwsError(unmodeled("ServiceUnavailable", "try later", 503), context);
    expect(unavailable.kind === "retry" && unavailable.category).toBe("server");
    const unknown5xx = classifyAwsError(unmodeled("UnknownError", "bad gateway", 502), context);
    expect(unknown5xx.kind === "retry" && unknown5xx.category).toBe("server");
  });

  test.each([
    ["ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:1"],
    ["ECONNRESET", "socket hang up"],
    ["ETIMEDOUT", "a request has exceeded the configured 30000 ms requestTimeout."],
  ])("retries the network error %s", (code, message) => {
    const verdict = classifyAwsError(socketError(code, message), context);
    expect(verdict.kind === "retry" && verdict.category).toBe("network");
    expect(verdict.reason).toContain(code);
  });

  test("retries the SDK handler's TimeoutError as a network error", () => {
    const err = Object.assign(new Error("the request socket did not establish a connection"), { name: "TimeoutError" });
    const verdict = classifyAwsError(err, context);
    expect(verdict.kind === "retry" && verdict.category).toBe("network");
  });

  test("stops on ResourceNotFoundException with the table, region, endpoint and the table create command", () => {
    const error = fatalError(new ResourceNotFoundException({ message: "Cannot do operations on a non-existent table", ...meta(400) }));
    expect(error.code).toBe("E_TABLE_NOT_FOUND");
    expect(error.message).toContain("obcap-test");
    expect(error.message).toContain("eu-west-1");
    expect(error.message).toContain("http://127.0.0.1:8000");
    expect(error.message).toContain("obcap table create --table obcap-test");
  });

  test("stops on ValidationException and quotes the SDK message and the batch's first key", () => {
    const error = fatalError(unmodeled("ValidationException", "Provided list of item keys contains duplicates"));
    expect(error.code).toBe("E_AWS_VALIDATION");
    expect(error.message).toContain("Provided list of item keys contains duplicates");
    expect(error.message).toContain("pk=btcusd#orders#2026112707#3 sk=1764226800123456#42");
  });

  test("stops on AccessDeniedException and names the IAM action to allow", () => {
    const error = fatalError(unmodeled("AccessDeniedException", "User: arn:aws:iam::1:user/x is not authorized"));
    expect(error.code).toBe("E_AWS_ACCESS_DENIED");
    expect(error.message).toContain("dynamodb:BatchWriteItem");
    expect(error.message).toContain("AWS_PROFILE");
  });

  test.each(["UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException"])(
    "stops on %s as a credentials problem with what to check",
    (name) => {
      const error = fatalError(unmodeled(name, "The security token included in the request is invalid."));
      expect(error.code).toBe("E_AWS_CREDENTIALS");
      expect(error.message).toContain(name);
      expect(error.message).toContain("AWS_PROFILE");
      expect(error.message).toContain("AWS_ACCESS_KEY_ID");
    },
  );

  test("stops on missing credentials (the SDK's CredentialsProviderError)", () => {
    // Name and message as observed from the default chain with no keys, no profile and IMDS disabled.
    const err = Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" });
    expect(fatalError(err).code).toBe("E_AWS_CREDENTIALS");
  });

  test("reads the type from __type when the name is generic", () => {
    const err = Object.assign(new Error("Cannot do operations on a non-existent table"), {
      __type: "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
    });
    expect(fatalError(err).code).toBe("E_TABLE_NOT_FOUND");
  });

  test("turns the SDK's missing-region error into a usage error naming AWS_REGION and --region", () => {
    const error = fatalError(new Error("Region is missing"));
    expect(error.code).toBe("E_USAGE");
    expect(error.message).toContain("AWS_REGION");
    expect(error.message).toContain("--region");
  });

  test("stops on errors it does not know rather than retrying a bug forever", () => {
    expect(fatalError(new TypeError("x is not a function")).code).toBe("E_INTERNAL");
    expect(fatalError(unmodeled("SerializationException", "bad body")).code).toBe("E_INTERNAL");
  });

  test("keeps the SDK error as the cause but never puts the error object in the message", () => {
    const err = new ResourceNotFoundException({ message: "Cannot do operations on a non-existent table", ...meta(400) });
    const error = fatalError(err);
    expect(error.cause).toBe(err);
    expect(error.message).not.toContain("[object");
    expect(error.message).not.toContain("$metadata");
  });
});
