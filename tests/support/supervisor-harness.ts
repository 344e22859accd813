/**
 * A feed supervisor wired to the in-process fake exchange, recording what it passes on, for the
 * supervisor tests. Every wait is on a condition re-checked when something is recorded, with a bound.
 */
import { nowMicros } from "../../src/base/clock.ts";
import type { ObcapError } from "../../src/base/errors.ts";
import {
  startFeedSupervisor, type FeedEvent, type FeedSupervisor, type FeedSupervisorOptions,
} from "../../src/exchange/bitstamp/feed-supervisor.ts";
import type { FeedGap } from "../../src/model/gap-record.ts";
import { createBunSocket } from "../../src/runtime/bun/websocket.ts";
import type { FakeExchange } from "./fake-exchange.ts";
import { waitFor } from "./wait.ts";

export interface Received {
  frame: string;
  rxMicros: number;
}

export interface Supervised {
  supervisor: FeedSupervisor;
  data: Received[];
  gaps: FeedGap[];
  events: FeedEvent[];
  controls: string[];
  fatal: ObcapError[];
  /** Resolves once `condition()` holds (checked after every recorded thing and every 20 ms). */
  until(condition: () => boolean, timeoutMs: number, what: string): Promise<void>;
  eventsOf<T extends FeedEvent["type"]>(type: T): Extract<FeedEvent, { type: T }>[];
}

/** Starts a supervisor on `channels` of `fake` with short liveness settings (overridable) and waits for `ready`. */
export async function startSupervised(
  fake: FakeExchange,
  channels: readonly string[],
  overrides: Partial<FeedSupervisorOptions> = {},
): Promise<Supervised> {
  const data: Received[] = [];
  const gaps: FeedGap[] = [];
  const events: FeedEvent[] = [];
  const controls: string[] = [];
  const fatal: ObcapError[] = [];
  const checks = new Set<() => void>();
  const notify = () => {
    for (const check of [...checks]) check();
  };
  const supervisor = startFeedSupervisor({
    url: fake.wsUrl,
    channels,
    createSocket: createBunSocket,
    clock: nowMicros,
    subscribeTimeoutMs: 3_000,
    // Short, but wide enough that a loaded test machine does not cut a healthy connection.
    heartbeatMs: 100,
    staleMs: 1_000,
    reconnectMaxMs: 1_000,
    handlers: {
      onData(frame, rxMicros) {
        data.push({ frame, rxMicros });
        notify();
      },
      onBinary() {
        throw new Error("the fake exchange sent a binary frame");
      },
      onControl(event) {
        controls.push(event);
        notify();
      },
      onGap(gap) {
        gaps.push(gap);
        notify();
      },
      onFatal(error) {
        fatal.push(error);
        notify();
      },
    },
    onEvent(event) {
      events.push(event);
      notify();
    },
    ...overrides,
  });
  await supervisor.ready;
  return {
    supervisor,
    data,
    gaps,
    events,
    controls,
    fatal,
    eventsOf: <T extends FeedEvent["type"]>(type: T) => events.filter((e): e is Extract<FeedEvent, { type: T }> => e.type === type),
    async until(condition, timeoutMs, what) {
      await waitFor(condition, {
        timeoutMs,
        intervalMs: 20,
        what: () => `${what}; events: ${JSON.stringify(events.map((e) => e.type))}`,
        subscribe: (recheck) => {
          checks.add(recheck);
          return () => checks.delete(recheck);
        },
      });
    },
  };
}
