/**
 * The receive handler of one connection, the hot path of obcap: it stamps the receive time, notes it
 * as the last sign of life, and hands market-data frames to `onData` untouched. Only control frames
 * (they carry a `bts:` event) are parsed, and handed to the connection, since subscription replies,
 * errors, heartbeat answers and maintenance notices steer the connection itself.
 *
 * Per frame: one clock read, one substring search, a few stores, no allocation.
 */
import type { MicrosClock } from "../../base/clock.ts";
import { decodeFrame } from "./decode.ts";

/** A data frame receiver. Must not block: it runs on the receive path. */
export type DataHandler = (frame: string, rxMicros: number) => void;

/** A control frame, already understood as one (`event` is a known bts:* event). */
export type ControlHandler = (event: string, channel: string, frame: string, rxMicros: number) => void;

export interface FrameReceiver {
  /** The socket's `onmessage`. */
  readonly onMessage: (ev: MessageEvent) => void;
  /** Receive time of the last frame of any kind; 0 before the first. */
  lastFrameMicros(): number;
  /** Receive time of the last market-data frame; 0 before the first. */
  lastDataMicros(): number;
  /** The last market-data text frame itself, or undefined. */
  lastDataFrame(): string | undefined;
  /** Replaces the receiver of data frames. */
  setDataHandler(onData: DataHandler): void;
}

/** Sorts each received frame into data (to `handlers.onData`), binary, or control (to `onControl`). */
export function createFrameReceiver(
  clock: MicrosClock,
  handlers: { onData: DataHandler; onBinary(frame: Uint8Array, rxMicros: number): void },
  onControl: ControlHandler,
): FrameReceiver {
  let lastFrameMicros = 0;
  let lastDataMicros = 0;
  let lastDataFrame: string | undefined;
  let onData = handlers.onData;

  function onMessage(ev: MessageEvent): void {
    const rxMicros = clock();
    lastFrameMicros = rxMicros;
    const data: unknown = ev.data;
    if (typeof data === "string") {
      // Data frames never contain `"bts:`; control frames always do (their event is bts:*).
      if (data.indexOf('"bts:') === -1) {
        lastDataMicros = rxMicros;
        lastDataFrame = data;
        onData(data, rxMicros);
      } else receiveControl(data, rxMicros);
    } else if (data instanceof ArrayBuffer) {
      lastDataMicros = rxMicros;
      handlers.onBinary(new Uint8Array(data), rxMicros);
    }
  }

  function receiveControl(frame: string, rxMicros: number): void {
    const decoded = decodeFrame(frame, 0);
    if (decoded.kind !== "control") {
      // Looked like control but is not (e.g. a data field mentioning "bts:"): treat as data.
      lastDataMicros = rxMicros;
      onData(frame, rxMicros);
      return;
    }
    onControl(decoded.event, decoded.channel, frame, rxMicros);
  }

  return {
    onMessage,
    lastFrameMicros: () => lastFrameMicros,
    lastDataMicros: () => lastDataMicros,
    lastDataFrame: () => lastDataFrame,
    setDataHandler(handler) {
      onData = handler;
    },
  };
}
