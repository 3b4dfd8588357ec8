/**
 * What a failed send attempt means (multicast batch or broadcast), decided from LINE's answer alone —
 * no Redis, ClickHouse or network — so every case is tested as a plain function
 * (test/delivery/line-answer.test.ts). The fan-out acts on the verdict: backs the channel off, waits,
 * retries, or settles the batch.
 *
 *   2xx                         accepted (never reaches here: the send resolved)
 *   409                         accepted: an earlier attempt with the same retry key got through
 *   429                         retry the channel after backing it off; failed past `max429` strikes
 *                               on one batch, or at once when the month's message limit is spent
 *   other 4xx                   failed for good (the request itself is wrong: retrying cannot help)
 *   5xx, timeout, no connection retry this batch later with exponential backoff; failed after
 *                               `maxAttempts` such attempts
 */
import { HTTPFetchError } from '@line/bot-sdk';
import { japaneseLineMessage } from './messages.ts';
import { RequestTimeout } from './multicast-http.ts';

/** A timeout of a request made through the SDK (the broadcast), as opposed to our own client's. */
export class SdkTimeout extends Error {}

export interface AttemptCounts {
  /** 429s this batch has met so far, this one included. */
  strikes429: number;
  /** 5xx / timeouts / connection failures so far, this one included. */
  transient: number;
}

export interface AnswerLimits {
  requestTimeoutMs: number;
  maxAttempts: number;
  max429: number;
}

export type Verdict =
  /** LINE took it (409: the same retry key was accepted before). */
  | { kind: 'accepted'; httpStatus: number; requestId: string }
  /** Settled as failed; `reason` says why in Japanese. */
  | { kind: 'failed'; httpStatus: number; reason: string }
  /** A 429: the channel backs off, then this batch is tried again. */
  | { kind: 'retry-channel'; httpStatus: 429; reason: string }
  /** A 5xx, timeout or connection failure: this batch waits `waitMs`, then tries again. */
  | { kind: 'retry-later'; httpStatus: number; reason: string; waitMs: number };

/** Whether this failure counts as a 429 strike (the caller keeps the counts). */
export function isRateLimited(err: unknown): boolean {
  return err instanceof HTTPFetchError && err.status === 429;
}

/** Whether this failure counts towards maxAttempts (5xx, timeouts, no connection). */
export function isTransient(err: unknown): boolean {
  return !(err instanceof HTTPFetchError) || err.status >= 500;
}

/**
 * The verdict on a failed attempt. `counts` already include this attempt (see isRateLimited /
 * isTransient); `retryBaseMs` is the first wait after a transient failure (doubling, at most 30 s).
 */
export function judgeFailure(
  err: unknown,
  counts: AttemptCounts,
  limits: AnswerLimits & { retryBaseMs: number },
): Verdict {
  if (err instanceof HTTPFetchError) {
    if (err.status === 409) {
      return {
        kind: 'accepted',
        httpStatus: 409,
        requestId: err.headers.get('x-line-accepted-request-id') ?? err.headers.get('x-line-request-id') ?? '',
      };
    }
    const reason = lineReason(err);
    if (err.status === 429) {
      if (/monthly limit/i.test(err.body ?? '') || counts.strikes429 > limits.max429)
        return { kind: 'failed', httpStatus: 429, reason };
      return { kind: 'retry-channel', httpStatus: 429, reason };
    }
    if (err.status < 500) return { kind: 'failed', httpStatus: err.status, reason };
    return transient(err.status, reason, counts, limits);
  }
  const reason =
    err instanceof RequestTimeout || err instanceof SdkTimeout
      ? `LINE からの応答がありません (${limits.requestTimeoutMs} ms)`
      : `LINE に接続できません: ${(err as Error)?.message ?? String(err)}`;
  return transient(0, reason, counts, limits);
}

function transient(
  httpStatus: number,
  reason: string,
  counts: AttemptCounts,
  limits: AnswerLimits & { retryBaseMs: number },
): Verdict {
  if (counts.transient >= limits.maxAttempts) return { kind: 'failed', httpStatus, reason };
  return {
    kind: 'retry-later',
    httpStatus,
    reason,
    waitMs: Math.min(30_000, limits.retryBaseMs * 2 ** (counts.transient - 1)),
  };
}

/** LINE's reason from an error answer, in Japanese where we know it. */
export function lineReason(err: HTTPFetchError): string {
  let body: { message?: string; details?: Array<{ message?: string; property?: string }> } = {};
  try {
    body = JSON.parse(err.body ?? '{}');
  } catch {
    /* not JSON */
  }
  const details = (body.details ?? [])
    .map((x) => `${x.property ?? ''}: ${japaneseLineMessage(x.message ?? '')}`)
    .join(' / ');
  return `LINE ${err.status}: ${body.message ?? err.statusText}${details ? ` (${details})` : ''}`;
}
