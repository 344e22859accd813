/**
 * One read call (Query, Scan) with the readers' retry policy: throttling, 5xx and network errors are
 * tried again with backoff and full jitter, up to `maxAttempts`, then E_DDB_UNREACHABLE; errors that
 * retrying cannot fix (table gone, credentials, validation) are thrown at once as their ObcapError.
 * Shared by export's partition reads, the coverage listing and `table coverage`: readers give up
 * where the capture's writer never does, because a person waits for them.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { backoffDelayMs } from "../../base/backoff.ts";
import { obcapError } from "../../base/errors.ts";
import { classifyAwsError } from "./aws-errors.ts";
import { clientTarget } from "./client.ts";

export interface ReadRetryOptions {
  /** Attempts before giving up with E_DDB_UNREACHABLE. Default 10. */
  maxAttempts?: number;
  /** A retry is about to happen (for the log at --verbose). */
  onRetry?: (message: string) => void;
  /** Counts every call sent, retries included (export reports its Queries). */
  onCall?: () => void;
}

/**
 * Runs `call` until it succeeds. `operation` is the DynamoDB operation (for IAM messages), `what`
 * names the read in messages (`Query of btcusd#orders#2026080910#0`). Throws ObcapError.
 */
export async function readWithRetry<T>(
  client: DynamoDBClient,
  table: string,
  operation: string,
  what: string,
  call: () => Promise<T>,
  options: ReadRetryOptions = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 10;
  for (let attempt = 0; ; attempt++) {
    try {
      options.onCall?.();
      return await call();
    } catch (err) {
      const target = await clientTarget(client);
      const verdict = classifyAwsError(err, { ...target, table, operation });
      if (verdict.kind === "fatal") throw verdict.error;
      if (attempt + 1 >= maxAttempts) {
        throw obcapError(
          "E_DDB_UNREACHABLE",
          `${what} on table ${table} at ${target.endpoint} failed ${maxAttempts} times (${verdict.reason}): try again later`,
          err,
        );
      }
      const delayMs = backoffDelayMs(attempt, { baseMs: 100, maxMs: 5_000 });
      options.onRetry?.(`${what}: retry ${attempt + 1} in ${delayMs} ms: ${verdict.reason}`);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
