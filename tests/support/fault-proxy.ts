/**
 * A fault-injecting HTTP proxy in front of DynamoDB Local, which never throttles and never returns
 * UnprocessedItems (DESIGN.md). For a seeded share of BatchWriteItem requests it:
 * - throttles: HTTP 400 ProvisionedThroughputExceededException, nothing forwarded;
 * - answers partially: forwards a subset of the items (possibly none) and answers HTTP 200 with the
 *   rest in `UnprocessedItems`, as DynamoDB does under partition pressure;
 * - fails: HTTP 500 InternalServerError, nothing forwarded.
 * `failAllWith` answers every operation with one error (e.g. UnrecognizedClientException).
 * `hold()` stalls every BatchWriteItem (the request waits, unanswered) until `release()`: a table
 * that stops answering writes.
 * Other operations pass through untouched.
 *
 * Rewriting a request body invalidates its SigV4 signature (x-amz-content-sha256 and the signature
 * cover it). DynamoDB Local does not verify signatures: any access key and signature is accepted (the
 * integration test checks that rewritten requests are stored). The response's x-amz-crc32 header is
 * recomputed for rewritten bodies, so a client that checks it stays happy.
 */
import { seededRandom } from "./seeded-random.ts";

/** Faults are chosen in this order from one draw: [throttle, partial, server error, pass]. */
export interface FaultProxyOptions {
  /** DynamoDB Local URL, e.g. http://127.0.0.1:8000. */
  target: string;
  /** Port to listen on (loopback). Default: a free one. */
  port?: number;
  seed?: number;
  /** Share of BatchWriteItem requests answered with a throttling error, 0..1. */
  throttleShare?: number;
  /** Share answered with part of the items in UnprocessedItems, 0..1. */
  partialShare?: number;
  /** Share answered with HTTP 500, 0..1. */
  serverErrorShare?: number;
  /** Answer every request (any operation) with this error instead of forwarding. */
  failAllWith?: { status: number; type: string; message: string };
  /** Delay added to every BatchWriteItem before it is answered, ms (AWS is several ms away; DynamoDB Local is not). */
  latencyMs?: number;
}

/** What `setFaults` can change while the proxy runs. */
export type FaultSettings = Pick<FaultProxyOptions, "throttleShare" | "partialShare" | "serverErrorShare" | "latencyMs">;

export interface FaultProxyCounts {
  /** BatchWriteItem requests received. */
  batchWrites: number;
  throttled: number;
  partial: number;
  /** Items returned in UnprocessedItems by partial answers. */
  unprocessedItems: number;
  serverErrors: number;
  /** Requests answered by `failAllWith`. */
  failedAll: number;
  /** Requests forwarded to DynamoDB Local (whole or trimmed). */
  forwarded: number;
}

export interface FaultProxy {
  url: string;
  counts: FaultProxyCounts;
  /** From now on BatchWriteItem requests wait unanswered, until release(). */
  hold(): void;
  /** Lets the held requests (and later ones) through. */
  release(): void;
  /** BatchWriteItem requests waiting now. */
  held(): number;
  /** Changes the shares of faults and the added latency from the next request on (a throttling storm, its end). */
  setFaults(settings: FaultSettings): void;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const DYNAMODB_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#";


function errorResponse(status: number, type: string, message: string): Response {
  const body = JSON.stringify({ __type: type.includes("#") ? type : DYNAMODB_ERROR_PREFIX + type, message });
  return new Response(body, { status, headers: { "content-type": "application/x-amz-json-1.0" } });
}

function jsonResponse(value: unknown, requestId: string): Response {
  const body = JSON.stringify(value);
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "application/x-amz-json-1.0",
      "x-amzn-requestid": requestId,
      "x-amz-crc32": String(Bun.hash.crc32(body)),
    },
  });
}

/** Starts the proxy on a free loopback port. */
/** Sends `req` (with `body`) on to `target`; DynamoDB's answer as a new Response, and its bytes. */
export async function forwardRequest(target: string, req: Request, body: Uint8Array | string): Promise<{ response: Response; bytes: ArrayBuffer }> {
  const headers = new Headers(req.headers);
  headers.delete("host");
  headers.delete("content-length");
  const url = new URL(req.url);
  const res = await fetch(target + url.pathname + url.search, { method: req.method, headers, body });
  const bytes = await res.arrayBuffer();
  const out = new Headers(res.headers);
  // fetch already decoded the body; these describe the original bytes.
  out.delete("content-length");
  out.delete("content-encoding");
  out.delete("transfer-encoding");
  return { response: new Response(bytes, { status: res.status, headers: out }), bytes };
}

export function startFaultProxy(options: FaultProxyOptions): FaultProxy {
  const random = seededRandom(options.seed ?? 1);
  let throttleShare = options.throttleShare ?? 0;
  let partialShare = options.partialShare ?? 0;
  let serverErrorShare = options.serverErrorShare ?? 0;
  let latencyMs = options.latencyMs ?? 0;
  const target = options.target.replace(/\/$/, "");
  const counts: FaultProxyCounts = {
    batchWrites: 0,
    throttled: 0,
    partial: 0,
    unprocessedItems: 0,
    serverErrors: 0,
    failedAll: 0,
    forwarded: 0,
  };

  async function forward(req: Request, body: Uint8Array | string): Promise<Response> {
    counts.forwarded++;
    return (await forwardRequest(target, req, body)).response;
  }

  async function partial(req: Request, request: BatchWriteBody): Promise<Response> {
    const kept: Record<string, unknown[]> = {};
    const held: Record<string, unknown[]> = {};
    for (const [table, writes] of Object.entries(request.RequestItems)) {
      // Keep 0..n-1 items: "none written" happens for real too, and must not reset the backoff.
      const keep = Math.floor(random() * writes.length);
      if (keep > 0) kept[table] = writes.slice(0, keep);
      if (keep < writes.length) held[table] = writes.slice(keep);
      counts.unprocessedItems += writes.length - keep;
    }
    counts.partial++;
    if (Object.keys(kept).length > 0) {
      const res = await forward(req, JSON.stringify({ ...request, RequestItems: kept }));
      if (res.status !== 200) return res;
      const answer = (await res.json()) as { UnprocessedItems?: Record<string, unknown[]> };
      for (const [table, writes] of Object.entries(answer.UnprocessedItems ?? {})) {
        held[table] = [...writes, ...(held[table] ?? [])];
      }
      return jsonResponse({ ...answer, UnprocessedItems: held }, res.headers.get("x-amzn-requestid") ?? "fault-proxy");
    }
    return jsonResponse({ UnprocessedItems: held }, "fault-proxy");
  }

  let holding = false;
  let heldRequests: Array<() => void> = [];

  const server = Bun.serve({
    port: options.port ?? 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const body = new Uint8Array(await req.arrayBuffer());
      if (options.failAllWith) {
        counts.failedAll++;
        const f = options.failAllWith;
        return errorResponse(f.status, f.type, f.message);
      }
      if (req.headers.get("x-amz-target") !== "DynamoDB_20120810.BatchWriteItem") return forward(req, body);
      counts.batchWrites++;
      if (holding) await new Promise<void>((resolve) => heldRequests.push(resolve));
      if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
      const draw = random();
      if (draw < throttleShare) {
        counts.throttled++;
        return errorResponse(400, "ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table was exceeded (fault proxy)");
      }
      if (draw < throttleShare + partialShare) {
        return partial(req, JSON.parse(new TextDecoder().decode(body)) as BatchWriteBody);
      }
      if (draw < throttleShare + partialShare + serverErrorShare) {
        counts.serverErrors++;
        return errorResponse(500, "InternalServerError", "Internal server error (fault proxy)");
      }
      return forward(req, body);
    },
  });

  const release = (): void => {
    holding = false;
    const waiting = heldRequests;
    heldRequests = [];
    for (const resume of waiting) resume();
  };
  const stop = async (): Promise<void> => {
    release();
    await server.stop(true);
  };
  return {
    url: `http://127.0.0.1:${server.port}`,
    counts,
    hold: () => void (holding = true),
    release,
    held: () => heldRequests.length,
    setFaults(settings) {
      throttleShare = settings.throttleShare ?? throttleShare;
      partialShare = settings.partialShare ?? partialShare;
      serverErrorShare = settings.serverErrorShare ?? serverErrorShare;
      latencyMs = settings.latencyMs ?? latencyMs;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

interface BatchWriteBody {
  RequestItems: Record<string, unknown[]>;
  [field: string]: unknown;
}
