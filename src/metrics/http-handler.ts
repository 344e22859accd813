/**
 * The metrics endpoint as a `fetch(Request) -> Response` function, with no server inside (hono
 * style): `src/runtime/bun/http.ts` serves it, tests call it directly. Web standards only.
 *
 *   GET /metrics   Prometheus text, version 0.0.4
 *   GET /healthz   "ok" while the capture runs
 *   HEAD of both, 405 for other methods, 404 for other paths.
 */
import { PROMETHEUS_CONTENT_TYPE } from "./registry.ts";

export interface MetricsHandlerOptions {
  /** The exposition text at the moment of the request. */
  render(): string;
}

export type FetchHandler = (request: Request) => Response;

const TEXT = "text/plain; charset=utf-8";
// A scrape must see current figures, never a proxy's copy.
const NO_STORE = { "cache-control": "no-store" };

/** Builds the handler. A failing `render` answers 500 with the reason, never a stack. */
export function createMetricsHandler(options: MetricsHandlerOptions): FetchHandler {
  return (request) => {
    const { pathname } = new URL(request.url);
    if (pathname !== "/metrics" && pathname !== "/healthz") {
      return new Response("not found: try /metrics or /healthz\n", { status: 404, headers: { "content-type": TEXT } });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response(`method ${request.method} not allowed\n`, { status: 405, headers: { allow: "GET, HEAD", "content-type": TEXT } });
    }
    const head = request.method === "HEAD";
    if (pathname === "/healthz") return new Response(head ? null : "ok\n", { headers: { "content-type": TEXT, ...NO_STORE } });
    let body: string;
    try {
      body = options.render();
    } catch (err) {
      const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      return new Response(`metrics failed: ${reason}\n`, { status: 500, headers: { "content-type": TEXT } });
    }
    return new Response(head ? null : body, { headers: { "content-type": PROMETHEUS_CONTENT_TYPE, ...NO_STORE } });
  };
}
