import { HTTPFetchError } from '@line/bot-sdk';
import { describe, expect, it } from 'vitest';
import {
  type AttemptCounts,
  isRateLimited,
  isTransient,
  judgeFailure,
  lineReason,
  SdkTimeout,
} from '../../delivery/line-answer.ts';
import { RequestTimeout } from '../../delivery/multicast-http.ts';

// The judgement of LINE's answers, without any server: what the fan-out does after each failure.
const limits = { requestTimeoutMs: 20_000, maxAttempts: 8, max429: 200, retryBaseMs: 500 };

function lineError(status: number, body: unknown = {}, headers: Record<string, string> = {}): HTTPFetchError {
  return new HTTPFetchError('LINE error', {
    status,
    statusText: `status ${status}`,
    headers: new Headers(headers),
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Counts as the fan-out keeps them: this attempt included. */
function counted(err: unknown, before: AttemptCounts = { strikes429: 0, transient: 0 }): AttemptCounts {
  return {
    strikes429: before.strikes429 + (isRateLimited(err) ? 1 : 0),
    transient: before.transient + (isTransient(err) ? 1 : 0),
  };
}

describe("LINE's answers to a send", () => {
  it('409: accepted — an earlier attempt with the same retry key got through — with its request id', () => {
    const err = lineError(
      409,
      { message: 'The retry key is already accepted' },
      { 'x-line-accepted-request-id': 'req-1' },
    );
    expect(counted(err)).toEqual({ strikes429: 0, transient: 0 });
    expect(judgeFailure(err, counted(err), limits)).toEqual({ kind: 'accepted', httpStatus: 409, requestId: 'req-1' });
    const plain = lineError(409, {}, { 'x-line-request-id': 'req-2' });
    expect(judgeFailure(plain, counted(plain), limits)).toMatchObject({ kind: 'accepted', requestId: 'req-2' });
  });

  it('429: the channel backs off and the batch is retried, up to max429 strikes', () => {
    const err = lineError(429, { message: 'Too many requests' });
    expect(judgeFailure(err, counted(err), limits)).toMatchObject({ kind: 'retry-channel', httpStatus: 429 });
    expect(judgeFailure(err, { strikes429: 200, transient: 0 }, limits).kind).toBe('retry-channel');
    expect(judgeFailure(err, { strikes429: 201, transient: 0 }, limits)).toMatchObject({
      kind: 'failed',
      httpStatus: 429,
      reason: 'LINE 429: Too many requests',
    });
  });

  it("429 for the month's limit fails at once (retrying cannot help until next month)", () => {
    const err = lineError(429, { message: 'You have reached your monthly limit.' });
    expect(judgeFailure(err, counted(err), limits)).toMatchObject({ kind: 'failed', httpStatus: 429 });
  });

  it('other 4xx: failed for good, with LINE’s details in Japanese where known, and no attempt counted', () => {
    const err = lineError(400, {
      message: 'The request body has 1 error(s)',
      details: [{ message: 'May not be empty', property: 'messages[0].text' }],
    });
    expect(counted(err)).toEqual({ strikes429: 0, transient: 0 });
    const v = judgeFailure(err, counted(err), limits);
    expect(v.kind).toBe('failed');
    expect(v.httpStatus).toBe(400);
    expect((v as { reason: string }).reason).toMatch(
      /^LINE 400: The request body has 1 error\(s\) \(messages\[0\]\.text: /,
    );
    for (const status of [401, 403, 404, 413, 415])
      expect(judgeFailure(lineError(status), counted(lineError(status)), limits).kind).toBe('failed');
  });

  it('5xx: retried later with doubling waits (500 ms, 1 s, 2 s … at most 30 s), failed after maxAttempts', () => {
    const err = lineError(500, 'not json');
    const waits: number[] = [];
    let counts: AttemptCounts = { strikes429: 0, transient: 0 };
    for (let i = 0; i < 7; i++) {
      counts = counted(err, counts);
      const v = judgeFailure(err, counts, limits);
      expect(v.kind).toBe('retry-later');
      waits.push((v as { waitMs: number }).waitMs);
    }
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000]);
    counts = counted(err, counts);
    expect(judgeFailure(err, counts, limits)).toEqual({
      kind: 'failed',
      httpStatus: 500,
      reason: 'LINE 500: status 500',
    });
  });

  it('timeouts (our client’s and the SDK’s) and connection failures count as transient, status 0', () => {
    for (const err of [new RequestTimeout('timeout'), new SdkTimeout('timeout')]) {
      expect(judgeFailure(err, counted(err), limits)).toEqual({
        kind: 'retry-later',
        httpStatus: 0,
        reason: 'LINE からの応答がありません (20000 ms)',
        waitMs: 500,
      });
    }
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(judgeFailure(refused, { strikes429: 0, transient: 8 }, limits)).toEqual({
      kind: 'failed',
      httpStatus: 0,
      reason: 'LINE に接続できません: connect ECONNREFUSED 127.0.0.1:1',
    });
  });

  it('reads a reason from a body that is not JSON', () => {
    expect(lineReason(lineError(502, '<html>Bad Gateway</html>'))).toBe('LINE 502: status 502');
  });
});
