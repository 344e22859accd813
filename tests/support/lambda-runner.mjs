// Runs the built Lambda handler under Node.js: `node lambda-runner.mjs <dir with index.mjs> <events.json>`.
// Invokes `handler` with each event in order, as Lambda would in one container, and prints one JSON
// document: the results and the time of each invocation (the first includes the cold start).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [dir, eventsFile] = process.argv.slice(2);
const loadStart = performance.now();
const { handler } = await import(pathToFileURL(join(dir, "index.mjs")).href);
const loadMs = performance.now() - loadStart;
const results = [];
for (const event of JSON.parse(readFileSync(eventsFile, "utf8"))) {
  const start = performance.now();
  const result = await handler(event, { awsRequestId: "test", getRemainingTimeInMillis: () => 30_000 });
  results.push({ result, ms: performance.now() - start });
}
process.stdout.write(JSON.stringify({ node: process.version, loadMs, results }));
