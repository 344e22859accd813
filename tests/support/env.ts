/**
 * Where the integration tests find DynamoDB Local: `make test` (run-with-services.ts) sets
 * OBCAP_TEST_DYNAMODB_ENDPOINT. A test file run alone with plain `bun test` starts its own instance.
 */
import { spawn } from "node:child_process";
import { startDynamoDbLocal, type DynamoDbLocal } from "./dynamodb-local.ts";

let own: Promise<DynamoDbLocal> | undefined;

export async function dynamoEndpoint(): Promise<string> {
  const fromEnv = process.env.OBCAP_TEST_DYNAMODB_ENDPOINT;
  if (fromEnv) return fromEnv;
  own ??= startDynamoDbLocal().then((ddb) => {
    // `bun test` does not run process "exit" handlers reliably: a detached watcher stops java once
    // this process is gone, so a lone test run never leaves DynamoDB Local behind.
    const watcher = spawn("sh", ["-c", `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill ${ddb.process.pid}`], {
      detached: true,
      stdio: "ignore",
    });
    watcher.unref();
    return ddb;
  });
  return (await own).endpoint;
}

/** Credentials for DynamoDB Local (any value works with -sharedDb). */
export const TEST_AWS_ENV = {
  AWS_ACCESS_KEY_ID: "obcaptest",
  AWS_SECRET_ACCESS_KEY: "obcaptest",
  AWS_REGION: "us-east-1",
} as const;
