/**
 * Probe for bench/sdk-memory.bench.ts, compiled into its own small binary: BatchWriteItem of 25
 * items, 8 requests in flight, paced to 5,000 items/s for DURATION_S, either through the AWS SDK
 * (`sdk`, as obcap writes) or through a bare `fetch` with the same JSON body (`fetch`: no SDK, no
 * signing; DynamoDB Local does not check signatures). Prints one JSON line: items written, peak and
 * final RSS (MiB). A full GC runs every second in both modes, as in obcap's pipeline Worker.
 */
import { BatchWriteItemCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";

const [endpoint, table, mode, seconds] = process.argv.slice(2) as [string, string, "sdk" | "fetch", string];
const DURATION_MS = Number(seconds) * 1000;
const client = mode === "sdk" ? new DynamoDBClient({ endpoint, region: "us-east-1", maxAttempts: 1 }) : undefined;
let written = 0;
const item = (i: number) => ({ pk: { S: `p#${i % 4}` }, sk: { S: `${1_788_000_000_000_000 + i}` }, d: { S: "x".repeat(400) }, p: { N: "58356.1" } });

async function batch(): Promise<void> {
  const requests = Array.from({ length: 25 }, () => ({ PutRequest: { Item: item(written++) } }));
  if (client) {
    await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
    return;
  }
  const response = await fetch(endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.0",
      "x-amz-target": "DynamoDB_20120810.BatchWriteItem",
      authorization: "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
    },
    body: JSON.stringify({ RequestItems: { [table]: requests } }),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  await response.text();
}

const end = performance.now() + DURATION_MS;
let peak = 0;
let lastGc = performance.now();
while (performance.now() < end) {
  const started = performance.now();
  await Promise.all(Array.from({ length: 8 }, batch)); // 200 items
  peak = Math.max(peak, process.memoryUsage().rss);
  if (performance.now() - lastGc >= 1000) {
    lastGc = performance.now();
    Bun.gc(true);
  }
  const waitMs = 40 - (performance.now() - started); // 200 items per 40 ms = 5,000/s
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
}
const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
console.log(JSON.stringify({ mode, written, peakMiB: mib(peak), endMiB: mib(process.memoryUsage().rss) }));
process.exit(0);
