/** The metrics endpoint as a plain fetch handler: called with Request objects, no socket. */
import { describe, expect, test } from "bun:test";
import { createMetricsHandler } from "../../../src/metrics/http-handler.ts";

const BODY = "# HELP obcap_up up\n# TYPE obcap_up gauge\nobcap_up 1\n";

describe("createMetricsHandler", () => {
  let renders = 0;
  const handler = createMetricsHandler({ render: () => (renders++, BODY) });

  test("GET /metrics answers the current text with the Prometheus content type", async () => {
    const before = renders;
    const response = handler(new Request("http://127.0.0.1:9464/metrics"));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.text()).toBe(BODY);
    expect(renders).toBe(before + 1);
  });

  test("a query string does not change the route", async () => {
    expect(await handler(new Request("http://127.0.0.1/metrics?x=1")).text()).toBe(BODY);
  });

  test("GET /healthz answers ok without rendering the metrics", async () => {
    const before = renders;
    const response = handler(new Request("http://127.0.0.1/healthz"));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok\n");
    expect(renders).toBe(before);
  });

  test("HEAD answers the headers with no body", async () => {
    const response = handler(new Request("http://127.0.0.1/metrics", { method: "HEAD" }));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
  });

  test.each(["/", "/metric", "/metrics/", "/favicon.ico"])("%s is 404", async (path) => {
    const response = handler(new Request(`http://127.0.0.1${path}`));
    expect(response.status).toBe(404);
    expect(await response.text()).toContain("/metrics");
  });

  test("other methods are 405 with the allowed ones", () => {
    const response = handler(new Request("http://127.0.0.1/metrics", { method: "POST", body: "x" }));
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
  });

  test("a failing render is a 500 naming the error, not a stack", async () => {
    const failing = createMetricsHandler({
      render: () => {
        throw new RangeError("bad figure");
      },
    });
    const response = failing(new Request("http://127.0.0.1/metrics"));
    expect(response.status).toBe(500);
    expect(await response.text()).toBe("metrics failed: RangeError: bad figure\n");
  });
});
