/**
 * The fake exchange's REST side: the two calls obcap makes, answered like www.bitstamp.net
 * (bitstamp-protocol.md §3 and §5). Paths are case-insensitive and the trailing slash is optional, as on
 * the real site; anything else gets nginx's 404 page.
 */
import { orderBookBody } from "./frame-text.ts";

export interface RestContext {
  pairsInfoBody: string;
  /** `url_symbol`s listed in the pairs body: an order book for any other pair is a 404. */
  knownPairs: ReadonlySet<string>;
  orderBookBody?: ((pair: string, url: URL) => string | undefined) | undefined;
}

/** nginx's stock 404 body, which the real edge returns for an unknown pair [NEM-REST] §6. */
export const NGINX_404_BODY =
  "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n" +
  "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

const PAIRS_INFO_RE = /^\/api\/v2\/trading-pairs-info\/?$/i;
const ORDER_BOOK_RE = /^\/api\/v2\/order_book\/([^/]+)\/?$/i;

function json(body: string): Response {
  return new Response(body, { status: 200, headers: { "content-type": "application/json" } });
}

/** 404 in nginx's words. */
export function notFound(): Response {
  return new Response(NGINX_404_BODY, { status: 404, headers: { "content-type": "text/html" } });
}

/** Answers one HTTP request. */
export function restResponse(request: Request, url: URL, ctx: RestContext): Response {
  if (request.method !== "GET" && request.method !== "HEAD") return notFound();
  if (PAIRS_INFO_RE.test(url.pathname)) return json(ctx.pairsInfoBody);
  const book = ORDER_BOOK_RE.exec(url.pathname);
  if (book?.[1]) {
    const pair = book[1].toLowerCase();
    const custom = ctx.orderBookBody?.(pair, url);
    if (custom !== undefined) return json(custom);
    if (!ctx.knownPairs.has(pair)) return notFound();
    return json(orderBookBody(Date.now() * 1000, [], []));
  }
  return notFound();
}
