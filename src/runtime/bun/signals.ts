/** SIGINT/SIGTERM as a stop request. The second signal while stopping exits at once. */
export function onStopSignal(onStop: (signal: string) => void): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting without waiting for the writer\n`);
      process.exit(130);
    }
    stopping = true;
    onStop(signal);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}
