/** An error a person can act on: a machine-readable code, an HTTP status and a Japanese message. */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** A part the suite depends on that did not answer. */
export type Part = 'redis' | 'clickhouse';

const PART_LABELS: Record<Part, string> = {
  redis: 'Redis (処理待ちの管理)',
  clickhouse: 'データベース (ClickHouse)',
};

/** 503: a part is unavailable for now; the caller may try again (nothing was half-done by us). */
export function unavailableError(part: Part, cause?: unknown): AppError {
  const e = new AppError(
    `${part}_unavailable`,
    `${PART_LABELS[part]} に一時的に接続できません。しばらくしてから再度お試しください`,
    503,
  );
  if (cause !== undefined) e.cause = cause;
  return e;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * A failure to reach a server (refused, reset, timed out, closed), not an answer from it: what a
 * caller may retry. Follows `cause` a few levels (clients wrap the socket's error).
 */
export function isConnectionError(err: unknown): boolean {
  let cur = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; depth < 4 && cur && typeof cur === 'object'; depth++) {
    if (typeof cur.code === 'string' && NETWORK_CODES.has(cur.code)) return true;
    if (typeof cur.message === 'string' && /^(socket hang up|Timeout error\.?|connect ECONNREFUSED)/.test(cur.message))
      return true;
    cur = cur.cause as typeof cur;
  }
  return false;
}

/**
 * What ioredis says when it cannot run a command because the server is gone: the connection was
 * closed, the retries per request ran out, or the offline queue is off while disconnected.
 */
export function isRedisConnectionError(err: unknown): boolean {
  const e = err as { name?: unknown; message?: unknown } | undefined;
  if (!e || typeof e !== 'object') return false;
  if (e.name === 'MaxRetriesPerRequestError') return true;
  return (
    typeof e.message === 'string' &&
    /^(Connection is closed\.?|Stream isn't writeable and enableOfflineQueue options is false|Reached the max retries per request limit|Command timed out)/.test(
      e.message,
    )
  );
}
