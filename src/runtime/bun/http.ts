/**
 * A fetch handler served with Bun.serve (the metrics endpoint). Bun-only; the core declares the
 * shape it needs (`ListenHttp` in src/runtime/ports.ts) and gets this passed in.
 */
import type { HttpListener, ListenHttpOptions } from "../ports.ts";

/** Binds `hostname:port` (port 0 = any free one) and serves `fetch`. Throws if the bind fails. */
export function listenHttp(options: ListenHttpOptions): HttpListener {
  const server = Bun.serve({
    hostname: options.hostname,
    port: options.port,
    development: false,
    fetch: options.fetch,
    // Never Bun's default error page (it may show source): one line, status 500.
    error: (err) => new Response(`internal error: ${err.name}\n`, { status: 500 }),
  });
  const port = server.port ?? options.port;
  const host = options.hostname.includes(":") ? `[${options.hostname}]` : options.hostname;
  return {
    port,
    url: `http://${host}:${port}`,
    close: () => server.stop(true),
  };
}
