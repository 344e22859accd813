/**
 * The one wait of the tests: re-checks a condition until it holds, or fails with a message naming what
 * was awaited. Tests wait for the thing they depend on (a log line, a file, a counter), never for a
 * fixed time. The condition is re-checked every `intervalMs`, and at once whenever a test double that
 * knows when its state changes (the fake exchange, the supervisor harness, the WebSocket client) says so
 * through `subscribe`.
 */

export interface WaitOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** What is awaited, for the failure message; a function is called on failure, to show the state then. */
  what: string | (() => string);
  /** Poll period. Default 50 ms. */
  intervalMs?: number;
  /** Registers `recheck` to be called whenever the state may have changed; returns its removal. */
  subscribe?: (recheck: () => void) => () => void;
}

type Truthy<T> = Exclude<T, false | 0 | "" | null | undefined>;

/**
 * Resolves with the condition's first truthy value (sync or async condition). Rejects with
 * "timed out after N ms waiting for <what>" once `timeoutMs` has passed, or with the condition's own
 * error if it throws (a condition may throw to stop waiting at once, e.g. when a process exited).
 */
export function waitFor<T>(condition: () => T | Promise<T>, options: WaitOptions): Promise<Truthy<Awaited<T>>> {
  const { timeoutMs, what, intervalMs = 50, subscribe } = options;
  return new Promise((resolve, reject) => {
    let settled = false;
    let checking = false; // an async condition is being evaluated
    let recheck = false; // and something asked for another check meanwhile
    let unsubscribe: (() => void) | undefined;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      clearTimeout(timer);
      unsubscribe?.();
      finish();
    };
    const onValue = (value: Awaited<T>) => {
      if (value) settle(() => resolve(value as Truthy<Awaited<T>>));
    };
    const onError = (err: unknown) => settle(() => reject(err));
    const check = (): void => {
      if (settled) return;
      if (checking) {
        recheck = true;
        return;
      }
      let result: T | Promise<T>;
      try {
        result = condition();
      } catch (err) {
        onError(err);
        return;
      }
      if (!(result instanceof Promise)) {
        onValue(result as Awaited<T>);
        return;
      }
      checking = true;
      (result as Promise<Awaited<T>>).then(
        (value) => {
          checking = false;
          onValue(value);
          if (recheck) {
            recheck = false;
            check();
          }
        },
        (err: unknown) => {
          checking = false;
          onError(err);
        },
      );
    };
    const poll = setInterval(check, intervalMs);
    const timer = setTimeout(
      () => onError(new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "function" ? what() : what}`)),
      timeoutMs,
    );
    unsubscribe = subscribe?.(check);
    if (settled) unsubscribe?.();
    else check();
  });
}
