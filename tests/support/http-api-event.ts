/**
 * API Gateway HTTP API (payload format 2.0) and Lambda function URL events, as AWS sends them
 * (docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html,
 * docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html): every field, so the adapter is tested
 * against what it will really get.
 */
export function httpApiEvent(pathAndQuery: string, options: { headers?: Record<string, string>; functionUrl?: boolean; method?: string } = {}): Record<string, unknown> {
  const url = new URL(pathAndQuery, "https://example.invalid");
  const method = options.method ?? "GET";
  const domainName = options.functionUrl ? "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws" : "r3pmxmplak.execute-api.us-east-1.amazonaws.com";
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const now = Date.now();
  return {
    version: "2.0",
    routeKey: options.functionUrl ? "$default" : "$default",
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers: { accept: "*/*", "content-length": "0", host: domainName, "user-agent": "curl/8.5.0", "x-amzn-trace-id": "Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e", "x-forwarded-for": "205.255.255.176", "x-forwarded-port": "443", "x-forwarded-proto": "https", ...options.headers },
    ...(url.search ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: options.functionUrl ? "anonymous" : "123456789012",
      apiId: options.functionUrl ? "abcdefghijklmnopqrstuvwxyz012345" : "r3pmxmplak",
      domainName,
      domainPrefix: options.functionUrl ? "abcdefghijklmnopqrstuvwxyz012345" : "r3pmxmplak",
      http: { method, path: url.pathname, protocol: "HTTP/1.1", sourceIp: "205.255.255.176", userAgent: "curl/8.5.0" },
      requestId: "JKJaXmPLvHcESHA=",
      routeKey: "$default",
      stage: "$default",
      time: new Date(now).toUTCString().replace(/^\w+, /, ""),
      timeEpoch: now,
    },
    isBase64Encoded: false,
  };
}
