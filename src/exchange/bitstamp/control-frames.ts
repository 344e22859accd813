/**
 * Bitstamp's control frames (`bts:*`, bitstamp-protocol.md §1.2): subscription acknowledgements,
 * errors, heartbeat replies, reconnect requests. They steer the connection, so they are read here,
 * on the receive thread, and never stored.
 */
import * as v from "valibot";


const EmptyDataSchema = v.looseObject({});

/** `{"event":"bts:subscription_succeeded","channel":"live_orders_btcusd","data":{}}` (real). */
export const SubscriptionSucceededSchema = v.looseObject({
  event: v.literal("bts:subscription_succeeded"),
  channel: v.string(),
  data: EmptyDataSchema,
});

/** `bts:unsubscription_succeeded`: same shape by symmetry (no recorded frame). */
export const UnsubscriptionSucceededSchema = v.looseObject({
  event: v.literal("bts:unsubscription_succeeded"),
  channel: v.string(),
  data: EmptyDataSchema,
});

/** `{"event":"bts:error","channel":"","data":{"code":null,"message":"Incorrect JSON format."}}`; code 4009 = auth. */
export const BtsErrorSchema = v.looseObject({
  event: v.literal("bts:error"),
  channel: v.string(),
  data: v.looseObject({ code: v.nullable(v.number()), message: v.string() }),
});

/** The server's answer to `{"event":"bts:heartbeat"}`: `data: {"status":"success"}`. */
export const HeartbeatReplySchema = v.looseObject({
  event: v.literal("bts:heartbeat"),
  channel: v.string(),
  data: v.looseObject({ status: v.string() }),
});

/** Maintenance notice: `data` is `null` per the docs, `{}` in one test fixture; accept both (and absent). */
export const RequestReconnectSchema = v.looseObject({
  event: v.literal("bts:request_reconnect"),
  channel: v.string(),
  data: v.nullish(EmptyDataSchema),
});

/** The `bts:*` events obcap understands; others are reported as unknown. */
export const CONTROL_EVENTS = [
  "bts:subscription_succeeded",
  "bts:unsubscription_succeeded",
  "bts:error",
  "bts:heartbeat",
  "bts:request_reconnect",
] as const;

/** Any known control frame, discriminated by `event`. */
export const ControlMessageSchema = v.variant("event", [
  SubscriptionSucceededSchema,
  UnsubscriptionSucceededSchema,
  BtsErrorSchema,
  HeartbeatReplySchema,
  RequestReconnectSchema,
]);
export type ControlMessage = v.InferOutput<typeof ControlMessageSchema>;

