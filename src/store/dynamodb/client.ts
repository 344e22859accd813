/**
 * The DynamoDB client obcap uses, configured the way every AWS tool is: flags override the SDK's own
 * conventions, which it applies itself when a value is not given here:
 * - region: AWS_REGION, then the profile's `region` in ~/.aws/config. The JS SDK ignores
 *   AWS_DEFAULT_REGION (only the AWS CLI and boto read it), so it is read here, after AWS_REGION.
 * - endpoint: AWS_ENDPOINT_URL_DYNAMODB, then AWS_ENDPOINT_URL, then the profile's `endpoint_url`
 *   (the SDK 3.1162 supports these natively: @smithy/core getEndpointUrlConfig), so no endpoint is
 *   passed unless --endpoint is given.
 * - credentials: the default chain (env keys, AWS_PROFILE/--profile, SSO, web identity, IMDS).
 *
 * Region when none is configured: if an endpoint is given (flag or env), the region defaults to
 * us-east-1, because the endpoint is then almost always DynamoDB Local, which ignores the region (it
 * only uses it to pick a database when started without -sharedDb; a fixed default keeps that stable).
 * Without an endpoint a missing region fails at the first call with E_USAGE ("set AWS_REGION or pass
 * --region"): guessing a region would write into the wrong one.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";

export interface DynamoClientOptions {
  /** `--endpoint`, e.g. http://127.0.0.1:8000 for DynamoDB Local. */
  endpoint?: string;
  /** `--region`. */
  region?: string;
  /** `--profile`: a profile of ~/.aws/config for credentials and region. */
  profile?: string;
  /** Sockets per host. Default 50 (the SDK default); one is used per request in flight. */
  maxSockets?: number;
}

/** Region used when an endpoint is given and no region is configured (see the file comment). */
export const ENDPOINT_DEFAULT_REGION = "us-east-1";

/** Give up on a TCP connect after this long: a blackholed endpoint must not stall start-up. */
const CONNECTION_TIMEOUT_MS = 5_000;
/**
 * Abort a request with no answer after this long (a half-open connection would otherwise hang a
 * writer slot forever). BatchWriteItem normally answers in milliseconds; the writer retries it.
 */
const REQUEST_TIMEOUT_MS = 30_000;

/** Builds the client. Never throws for a missing region: the first call does (classified as E_USAGE). */
export function createDynamoClient(options: DynamoClientOptions = {}): DynamoDBClient {
  const env = process.env;
  const endpointConfigured = Boolean(options.endpoint || env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL);
  const region =
    options.region ||
    env.AWS_REGION ||
    env.AWS_DEFAULT_REGION ||
    (endpointConfigured && !options.profile && !env.AWS_PROFILE ? ENDPOINT_DEFAULT_REGION : undefined);
  return new DynamoDBClient({
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(region ? { region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    // One attempt per send(): the BatchWriter owns every retry (with its own backoff, without a cap
    // on attempts), so its stats count every request really sent, and the SDK's retry budget, which
    // runs out under sustained throttling, never hides or shortens a retry.
    maxAttempts: 1,
    requestHandler: {
      // Keep-alive reuses one TCP (and TLS) connection per request in flight instead of a handshake
      // per batch. The SDK turns it on too; stated here because throughput depends on it.
      httpAgent: { keepAlive: true, maxSockets: options.maxSockets ?? 50 },
      httpsAgent: { keepAlive: true, maxSockets: options.maxSockets ?? 50 },
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
  });
}

/** Where a client sends its requests, for messages: region and endpoint URL. */
export interface ClientTarget {
  region: string;
  endpoint: string;
}

/**
 * Resolves the region and endpoint of any DynamoDBClient (ours or a test's): the explicit endpoint,
 * else the one configured by env/profile, else the AWS regional endpoint. Never throws.
 */
export async function clientTarget(client: DynamoDBClient): Promise<ClientTarget> {
  let region = "(no region)";
  try {
    region = await client.config.region();
  } catch {
    // Reported by the call itself (E_USAGE); the message only needs a placeholder.
  }
  const config = client.config as unknown as {
    endpoint?: () => Promise<{ protocol: string; hostname: string; port?: number; path: string }>;
    serviceConfiguredEndpoint?: () => Promise<string | undefined>;
  };
  try {
    if (config.endpoint) {
      const e = await config.endpoint();
      return { region, endpoint: `${e.protocol}//${e.hostname}${e.port ? `:${e.port}` : ""}${e.path === "/" ? "" : e.path}` };
    }
    const configured = await config.serviceConfiguredEndpoint?.();
    if (configured) return { region, endpoint: configured };
  } catch {
    // Fall through to the regional endpoint.
  }
  return { region, endpoint: `https://dynamodb.${region}.amazonaws.com` };
}
