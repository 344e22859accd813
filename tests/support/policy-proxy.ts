/**
 * An IAM stand-in in front of DynamoDB Local, which checks no permissions: each request's action
 * (`X-Amz-Target: DynamoDB_20120810.<Action>`) and table(s) are matched against an identity policy's
 * Allow statements, and a request no statement allows is answered as DynamoDB answers it, HTTP 400
 * AccessDeniedException "... is not authorized to perform: dynamodb:<Action> on resource: <arn> ...",
 * without reaching DynamoDB Local. Everything else is forwarded untouched. Every request is recorded.
 *
 * Supported policy language: Effect "Allow" statements, Action as "dynamodb:Name" (or "dynamodb:*"),
 * Resource as table ARNs with `*` wildcards. Explicit Deny and conditions are not used by obcap's
 * documented policies and are refused here rather than silently ignored.
 */
import { forwardRequest } from "./fault-proxy.ts";

export interface PolicyStatement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: unknown;
}

export interface IdentityPolicy {
  Version: string;
  Statement: PolicyStatement[];
}

export interface PolicyRequest {
  action: string;
  tables: string[];
  allowed: boolean;
  /** DynamoDB Local's answer: HTTP status and error type (e.g. ConditionalCheckFailedException); the stand-in's own refusals are 400 AccessDeniedException. */
  status?: number;
  errorType?: string;
}

export interface PolicyProxy extends AsyncDisposable {
  url: string;
  /** Every request, in arrival order. */
  requests: PolicyRequest[];
  denied(): PolicyRequest[];
  stop(): Promise<void>;
}

/** The ARN the proxy gives a table (region and account as an AWS identity would see them). */
export function tableArn(table: string): string {
  return `arn:aws:dynamodb:us-east-1:123456789012:table/${table}`;
}

const asList = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
const globToRegExp = (glob: string) => new RegExp(`^${glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join(".*")}$`);

/** Whether `policy` allows `action` on every one of `arns`. */
export function policyAllows(policy: IdentityPolicy, action: string, arns: readonly string[]): boolean {
  for (const s of policy.Statement) {
    if (s.Effect !== "Allow" || s.Condition !== undefined) throw new Error(`policy proxy: only unconditional Allow statements are supported (${s.Sid ?? "?"})`);
  }
  return arns.every((arn) =>
    policy.Statement.some(
      (s) =>
        asList(s.Action).some((a) => a === "dynamodb:*" || a === `dynamodb:${action}`) &&
        asList(s.Resource).some((r) => globToRegExp(r).test(arn)),
    ),
  );
}

/** Tables a DynamoDB JSON request names: TableName, or the keys of RequestItems (batch operations). */
function tablesOf(body: string): string[] {
  try {
    const parsed = JSON.parse(body) as { TableName?: string; RequestItems?: Record<string, unknown> };
    if (parsed.TableName) return [parsed.TableName];
    return Object.keys(parsed.RequestItems ?? {});
  } catch {
    return [];
  }
}

export function startPolicyProxy(options: { target: string; policy: IdentityPolicy }): PolicyProxy {
  const target = options.target.replace(/\/$/, "");
  const requests: PolicyRequest[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const body = await req.text();
      const action = (req.headers.get("x-amz-target") ?? "").split(".")[1] ?? "";
      const tables = tablesOf(body);
      const arns = tables.map(tableArn);
      const allowed = policyAllows(options.policy, action, arns.length > 0 ? arns : ["*"]);
      const request: PolicyRequest = { action, tables, allowed };
      requests.push(request);
      if (!allowed) {
        request.status = 400;
        request.errorType = "AccessDeniedException";
        const message =
          `User: arn:aws:iam::123456789012:user/obcap is not authorized to perform: dynamodb:${action} on resource: ${arns[0] ?? "*"} ` +
          `because no identity-based policy allows the dynamodb:${action} action`;
        return new Response(JSON.stringify({ __type: "com.amazon.coral.service#AccessDeniedException", Message: message }), {
          status: 400,
          headers: { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": crypto.randomUUID() },
        });
      }
      const { response, bytes } = await forwardRequest(target, req, body);
      request.status = response.status;
      if (response.status !== 200) request.errorType = /"__type"\s*:\s*"(?:[^"#]*#)?([^"]+)"/.exec(new TextDecoder().decode(bytes))?.[1];
      return response;
    },
  });
  const stop = async () => {
    await server.stop(true);
  };
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    denied: () => requests.filter((r) => !r.allowed),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
