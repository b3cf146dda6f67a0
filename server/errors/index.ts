import type { AppErrorData, Reason } from '../../shared';

/**
 * An expected failure, as a value the service layer throws: a stable reason, a message safe to
 * show a user (never a secret or an internal detail), and optional extra data for the client.
 * It knows nothing of HTTP or tRPC; server/errors/classify.ts gives it its reason's code
 * (codeOfReason: the core's ERROR_REASONS or a module's defineReasons) and HTTP status.
 */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly reason: Reason,
    message: string,
    readonly details: Omit<AppErrorData, 'reason'> = {},
  ) {
    super(message);
  }
}

const UNAVAILABLE_ERROR_NAMES = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
]);

/**
 * Server-side codes that mean "this node cannot serve right now" (shutting down, stepping down,
 * unreachable): the driver's retryable codes less ExceededTimeLimit, which is about the query.
 * The driver retries once on them; what still fails after that is an outage, not a bug.
 */
const UNAVAILABLE_SERVER_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  134, // ReadConcernMajorityNotAvailableYet
  189, // PrimarySteppedDown
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** True for the driver's errors that mean "the database cannot be reached right now". */
export function isDatabaseUnavailable(err: unknown): boolean {
  // Follows `cause`, and `errorResponse`, where the driver's MongoBulkWriteError keeps the driver
  // error (a network error, a closed pool ...) that failed the bulk write.
  const inner = (e: Error) => (e as { cause?: unknown }).cause ?? (e as { errorResponse?: unknown }).errorResponse;
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = inner(e), depth++) {
    if (UNAVAILABLE_ERROR_NAMES.has(e.name)) return true;
    // mongoose with bufferCommands off, on a closed or never-opened connection
    if (e.name === 'MongooseError' && /not connected|connection .*closed|Client must be connected/i.test(e.message)) return true;
    if (e.name === 'MongoServerError') {
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'number' && UNAVAILABLE_SERVER_CODES.has(code)) return true;
      // The embedded database (FerretDB) stopping: the queries it cancels fail with InternalError
      // "... context canceled" where MongoDB would say InterruptedAtShutdown.
      if (code === 1 && /\bcontext canceled\b/.test(e.message)) return true;
    }
  }
  return false;
}

/** MongoDB's duplicate key error: the unique index said no. */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}
