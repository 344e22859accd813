/**
 * `make test` entry: starts the services the tests need (DynamoDB Local on a free loopback port),
 * runs `bun test` with them in the environment, and stops what it started, whatever the outcome.
 * The fake Bitstamp exchange is started per test file (each test scripts its own session).
 *
 *   bun tests/support/run-with-services.ts [bun test args...]
 */
import { spawn } from "node:child_process";
import { startDynamoDbLocal } from "./dynamodb-local.ts";

const ddb = await startDynamoDbLocal();
console.error(`[run-with-services] DynamoDB Local on ${ddb.endpoint}`);

const child = spawn(process.execPath, ["test", ...process.argv.slice(2)], {
  stdio: "inherit",
  env: {
    ...process.env,
    OBCAP_TEST_DYNAMODB_ENDPOINT: ddb.endpoint,
    AWS_ACCESS_KEY_ID: "obcaptest",
    AWS_SECRET_ACCESS_KEY: "obcaptest",
    AWS_REGION: "us-east-1",
  },
});
const forward = (signal: NodeJS.Signals) => child.kill(signal);
process.on("SIGINT", forward);
process.on("SIGTERM", forward);
const code: number = await new Promise((done) => child.on("exit", (c, s) => done(c ?? (s ? 1 : 0))));
await ddb.stop();
process.exit(code);
