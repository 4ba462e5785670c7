/**
 * Every size and count limit of the protocol, in one place. The daemon and the client both read
 * these; the README's "Limits" table is generated from the doc strings below.
 */
export const LIMITS = {
  /** Largest WebSocket frame either side accepts (ws `maxPayload`). A larger one closes the socket. */
  maxFrameBytes: 4 * 1024 * 1024,
  /** Largest single memory read or write request, in bytes. */
  maxMemoryBytes: 1024 * 1024,
  /** Largest compiled script buffer (bytecode + constants) accepted on event add or eval. */
  maxScriptBytes: 64 * 1024,
  /** Largest custom-code buffer (SPEC §3.5: code 8192, large 80 KiB). */
  maxCodeBytes: 80 * 1024,
  /** Largest condition buffer (machine code). */
  maxConditionBytes: 8 * 1024,
  /** Largest pre-allocated event buffer (SPEC §3.5: 4096, large 81920). */
  maxEventBufferBytes: 80 * 1024,
  /** Largest text of one log message, bytes (SPEC §3.6: a message is at most 4095 bytes). */
  maxLogMessageBytes: 4095,
  /** Most messages in one `log` batch notification. */
  maxLogBatch: 4096,
  /** Bytes a batch accumulates before it ships (HyperDbg's 4 KiB packing, SPEC §3.6). */
  batchBytes: 4096,
  /** A partial batch ships at the latest after this many milliseconds. */
  batchFlushMs: 100,
  /** Requests a client may have outstanding before new ones get E_TOO_MANY_PENDING. */
  maxPendingRequests: 64,
  /** Outgoing bytes queued for one client before it gets drop notices (then disconnect). */
  maxClientQueueBytes: 16 * 1024 * 1024,
  /** Longest string field (names, command text, messages). */
  maxStringBytes: 64 * 1024,
  /** Most events registered at once. */
  maxEvents: 4096,
  /** Most names in one registers get request. */
  maxRegisterNames: 256,
  /** Step count limit of one step request. */
  maxStepCount: 1_000_000,
  /** Heartbeat period; a peer silent for two periods is dropped. */
  heartbeatMs: 15_000,
  /** Nesting depth the validator accepts in any decoded message. */
  maxDepth: 16,
} as const;

export type LimitName = keyof typeof LIMITS;
