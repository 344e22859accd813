/**
 * `make demo`: the whole path offline. Starts DynamoDB Local and the local Bitstamp-protocol exchange,
 * creates a table with the compiled binary, captures two pairs for a few seconds, stops it with SIGINT
 * and prints what the table holds.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient, ScanCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { startDynamoDbLocal } from "../tests/support/dynamodb-local.ts";
import { decodeItem } from "../src/store/dynamodb/item-decoder.ts";
import { storedWindows, unpackWindow } from "../src/store/packed/packed-window.ts";

const SECONDS = Number(process.env.DEMO_SECONDS ?? 5);
const env = { ...process.env, AWS_ACCESS_KEY_ID: "demo", AWS_SECRET_ACCESS_KEY: "demo", AWS_REGION: "us-east-1" };
const bin = "./dist/obcap";
// Its own journal directory: the demo never mixes with a real capture's ./obcap-data.
const journal = mkdtempSync(join(tmpdir(), "obcap-demo-"));

const ddb = await startDynamoDbLocal();
console.log(`DynamoDB Local: ${ddb.endpoint}`);
const exchange = spawn(process.execPath, ["tests/support/fake-exchange-main.ts", "--port", "0", "--pairs", "btcusd,ethusd", "--count", "4000", "--rate", "1500"], {
  stdio: ["ignore", "pipe", "inherit"],
});
const first = await new Promise<string>((resolve) => exchange.stdout!.once("data", (chunk) => resolve(String(chunk).split("\n")[0]!)));
const { wsUrl, restUrl } = JSON.parse(first) as { wsUrl: string; restUrl: string };
console.log(`local exchange: ${wsUrl}`);

try {
  await run([bin, "table", "create", "--table", "Demo", "--endpoint", ddb.endpoint]);
  const capture = spawn(bin, ["--pair", "btcusd,ethusd", "--table", "Demo", "--endpoint", ddb.endpoint, "--ws-url", wsUrl, "--rest-url", restUrl, "--progress-s", "2", "--journal", journal], { env, stdio: "inherit" });
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  capture.kill("SIGINT");
  const code = await new Promise<number | null>((r) => capture.on("exit", r));
  console.log(`capture exited with code ${code}`);

  const client = new DynamoDBClient({ endpoint: ddb.endpoint, region: "us-east-1", credentials: { accessKeyId: "demo", secretAccessKey: "demo" } });
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: "Demo", ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  // The packed layout (the default of `table create`): each window item holds many events.
  const events = items.filter((i) => !(i.pk?.S ?? "").endsWith("#p"));
  const partitions = new Map<string, Record<string, AttributeValue>[]>();
  for (const item of items) if ((item.pk?.S ?? "").endsWith("#p")) (partitions.get(item.pk!.S!) ?? partitions.set(item.pk!.S!, []).get(item.pk!.S!)!).push(item);
  // A Scan returns a partition's items in sort-key order, as storedWindows needs them.
  const windows = [...partitions.values()].flatMap((partition) => storedWindows(partition));
  for (const { head, chunks } of windows) events.push(...unpackWindow(head, chunks));
  const byStream = new Map<string, number>();
  for (const item of events) {
    const [pair, stream] = (item.pk?.S ?? "").split("#");
    if (pair === "obcap" || stream === "snapshots") continue;
    byStream.set(`${pair} ${stream}`, (byStream.get(`${pair} ${stream}`) ?? 0) + 1);
  }
  console.log(`\nstored: ${items.length} items${windows.length > 0 ? ` (${windows.length} packed windows)` : ""}; events and gap records:`);
  for (const [key, count] of [...byStream].sort()) console.log(`  ${key.padEnd(16)} ${count}`);
  const samples = events.filter((i) => /#\d{10}#\d+$/.test(i.pk?.S ?? "")).slice(0, 3);
  console.log("\nthree events, and the frames rebuilt from them:");
  for (const item of samples) {
    console.log(`  pk=${item.pk?.S} sk=${item.sk?.S}`);
    console.log(`  ${decodeItem(item)}`);
  }
  client.destroy();
} finally {
  exchange.kill("SIGTERM");
  await ddb.stop();
  rmSync(journal, { recursive: true, force: true });
}

function run(cmd: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { env, stdio: "inherit" });
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd.join(" ")} exited ${code}`))));
  });
}
