export {
  createRing,
  maxPayloadBytesFor,
  utf8ByteLength,
  RingProducer,
  RingConsumer,
  RingRecordTooLargeError,
  RECORD_HEADER_BYTES,
  MIN_RING_CAPACITY_BYTES,
  MAX_RING_CAPACITY_BYTES,
} from "./ring.ts";
export {
  FramePublisher,
  DEFAULT_OVERFLOW_BYTES,
  type FramePublisherOptions,
  type FramePublisherStats,
  type LossInfo,
  type OversizeInfo,
  type PublisherTimers,
} from "./frame-publisher.ts";
