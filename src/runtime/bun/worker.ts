/**
 * Starts a module Worker the way obcap wants it under Bun: `smol`, a smaller JavaScript heap that
 * collects more often (BUN-NOTES: the pipeline Worker holds little but churns through the AWS SDK).
 */
export function startBunWorker(url: URL): Worker {
  return new Worker(url.href, { type: "module", smol: true });
}
