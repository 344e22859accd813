/** Flags several commands share. AWS ones follow the SDK's environment conventions; flags win. */
export const awsArgs = {
  endpoint: {
    type: "string",
    description: "DynamoDB endpoint URL (default: AWS_ENDPOINT_URL_DYNAMODB, else AWS's regional endpoint)",
    valueHint: "URL",
  },
  region: { type: "string", description: "AWS region (default: AWS_REGION / AWS_DEFAULT_REGION / profile)", valueHint: "REGION" },
} as const;

export const verbosityArgs = {
  verbose: { type: "boolean", description: "Log more (debug lines, retries)", default: false },
  quiet: { type: "boolean", description: "Log errors only", default: false },
} as const;
