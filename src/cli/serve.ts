/**
 * `obcap serve`: the REST API (src/api/app.ts) over HTTP with Bun's server, reading one table.
 *
 *   obcap serve --table Orders [--port 8080] [--host 127.0.0.1] [--token-file FILE]
 *
 * On loopback no token is needed; listening beyond it needs one (`--token-file`, or OBCAP_API_TOKEN),
 * and every request but /health must then carry `Authorization: Bearer <token>`.
 */
import { readFileSync } from "node:fs";
import { defineCommand } from "citty";
import { createApi } from "../api/app.ts";
import { TableReader } from "../api/table-reader.ts";
import { describeError, obcapError } from "../base/errors.ts";
import { log, setLogLevel } from "../base/log.ts";
import { listenHttp } from "../runtime/bun/http.ts";
import { onStopSignal } from "../runtime/bun/signals.ts";
import { createDynamoClient } from "../store/dynamodb/client.ts";
import { httpUrlOption, intOption, rejectUnknownFlags } from "./options.ts";
import { awsArgs, verbosityArgs } from "./shared-args.ts";

const args = {
  table: { type: "string", description: "DynamoDB table to read", valueHint: "Orders" },
  port: { type: "string", description: "TCP port (0 = any free one)", default: "8080" },
  host: { type: "string", description: "Address to listen on; beyond loopback a token is required", default: "127.0.0.1" },
  "token-file": { type: "string", description: "File holding the bearer token clients must send (or OBCAP_API_TOKEN)", valueHint: "FILE" },
  ...awsArgs,
  ...verbosityArgs,
} as const;

/** Shortest token accepted: a guessable one would make the rule for public addresses moot. */
const MIN_TOKEN_CHARS = 16;

/** Loopback addresses: a server there is reachable from this machine only. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function readToken(file: string | undefined): string | undefined {
  let token: string | undefined;
  if (file !== undefined) {
    try {
      token = readFileSync(file, "utf8").trim();
    } catch (err) {
      throw obcapError("E_USAGE", `--token-file ${file} cannot be read (${describeError(err)})`);
    }
  } else token = process.env.OBCAP_API_TOKEN?.trim() || undefined;
  if (token !== undefined && token.length < MIN_TOKEN_CHARS) {
    throw obcapError("E_USAGE", `the API token is ${token.length} characters; use at least ${MIN_TOKEN_CHARS} (e.g. 'openssl rand -hex 32 > token')`);
  }
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) throw obcapError("E_USAGE", "the API token must be printable ASCII without spaces (it travels in an HTTP header)");
  return token;
}

export const serveCommand = defineCommand({
  meta: { name: "serve", description: "The REST API over HTTP: obcap serve --table Orders [--port 8080] [--host 127.0.0.1] (docs/api.md)" },
  args,
  async run({ args: a, rawArgs }) {
    rejectUnknownFlags("serve", rawArgs, args);
    setLogLevel(a.quiet ? "quiet" : a.verbose ? "verbose" : "normal");
    if (!a.table) throw obcapError("E_USAGE", "--table is required: e.g. 'obcap serve --table Orders'");
    const port = intOption("port", a.port, 8080, 0, 65535);
    const token = readToken(a["token-file"]);
    if (!isLoopback(a.host) && token === undefined) {
      throw obcapError("E_USAGE", `--host ${a.host} is reachable from other machines: give a bearer token with --token-file FILE or OBCAP_API_TOKEN (or listen on 127.0.0.1)`);
    }
    const client = createDynamoClient({ endpoint: a.endpoint ? httpUrlOption("endpoint", a.endpoint) : undefined, region: a.region });
    // The table is checked now (a typo fails at start), and the reader is shared by every request.
    const reader = await TableReader.open(client, a.table);
    const handler = createApi({
      reader: async () => reader,
      ...(token === undefined ? {} : { token }),
      onInternalError: (err) => log.error(`internal error: ${describeError(err)}`),
    });
    let server: ReturnType<typeof listenHttp>;
    try {
      server = listenHttp({ hostname: a.host, port, fetch: handler });
    } catch (err) {
      client.destroy();
      throw obcapError("E_USAGE", `cannot listen on ${a.host}:${port} (${describeError(err)}): choose another --port or --host`, err);
    }
    log.success(`serving table ${a.table} on ${server.url} (${token === undefined ? "no token: loopback only" : "bearer token required"}); GET ${server.url}/openapi.json`);
    const stopped = Promise.withResolvers<string>();
    const off = onStopSignal((signal) => stopped.resolve(signal));
    const signal = await stopped.promise;
    off();
    server.close();
    client.destroy();
    log.info(`${signal}: stopped serving`);
  },
});
