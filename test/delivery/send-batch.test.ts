import { HTTPFetchError } from '@line/bot-sdk';
import { describe, expect, it } from 'vitest';
import type { Channel } from '../../delivery/fan-out/channels.ts';
import type { RunState } from '../../delivery/fan-out/options.ts';
import { BatchSender, type SendLimits } from '../../delivery/fan-out/send-batch.ts';
import { batchRetryKey } from '../../delivery/ids.ts';
import { MULTICAST_HEAD, RequestTimeout } from '../../delivery/multicast-http.ts';
import type { BatchOutcome } from '../../delivery/store.ts';

// Sending one batch and acting on LINE's answer, without any server: the channel's connection
// bound, pacer and HTTP client are fakes that log what the sender does, in order.
const limits: SendLimits = { requestTimeoutMs: 20_000, maxAttempts: 3, max429: 200, retryBaseMs: 1, backoff429Ms: 1 };

function lineError(status: number, body: unknown = {}, headers: Record<string, string> = {}): HTTPFetchError {
  return new HTTPFetchError('LINE error', {
    status,
    statusText: `status ${status}`,
    headers: new Headers(headers),
    body: JSON.stringify(body),
  });
}

type Answer = { status: number; requestId: string } | Error;

function setUp(answers: Answer[], onPacer?: () => void) {
  const log: string[] = [];
  const sent: Array<{ parts: Buffer[]; key: string; timeout: number }> = [];
  const settled: BatchOutcome[] = [];
  const run: RunState = { stopped: false };
  const channel = {
    channel: 'ch1',
    inFlight: {
      acquire: async () => void log.push('connection'),
      release: () => void log.push('release'),
    },
    pacer: {
      acquire: async () => {
        log.push('slot');
        onPacer?.();
      },
      reset: () => void log.push('pacer reset'),
    },
    http: {
      send: async (parts: Buffer[], key: string, timeout: number) => {
        log.push('send');
        sent.push({ parts, key, timeout });
        const a = answers.shift()!;
        if (a instanceof Error) throw a;
        return a;
      },
    },
  } as unknown as Channel;
  const state = {
    backoff: async (ch: string, base: number, max: number) => {
      log.push(`backoff ${ch} ${base} ${max}`);
      return base;
    },
    clearBackoff: async (ch: string) => void log.push(`clear backoff ${ch}`),
  };
  const settler = {
    settle: async (o: BatchOutcome) => {
      log.push('settle');
      settled.push({ ...o });
    },
  };
  const sender = new BatchSender(limits, state, run, settler);
  const send = () => sender.send(channel, 't1', 'd1', 4, 500, Buffer.from('"U1"'), Buffer.from('],"messages":[]}'));
  return { log, sent, settled, run, sender, send };
}

describe('sending a batch', () => {
  it('a connection first, then the send slot; the body is head, ids, tail; the batch retry key', async () => {
    const { log, sent, settled, send } = setUp([{ status: 200, requestId: 'r1' }]);
    expect(await send()).toBe('settled');
    expect(log).toEqual(['connection', 'slot', 'send', 'release', 'settle']);
    expect(Buffer.concat(sent[0]!.parts).toString()).toBe(`${MULTICAST_HEAD.toString()}"U1"],"messages":[]}`);
    expect(sent[0]!.key).toBe(batchRetryKey('d1', 4));
    expect(sent[0]!.timeout).toBe(20_000);
    expect(settled).toEqual([
      expect.objectContaining({
        batch_no: 4,
        recipients: 500,
        status: 'accepted',
        http_status: 200,
        request_id: 'r1',
        attempts: 1,
        reason: '',
      }),
    ]);
  });

  it('a 5xx, then a timeout: the slot is freed, the same key sent again; accepted with no reason left', async () => {
    const { log, sent, settled, send } = setUp([
      lineError(500, { message: 'boom' }),
      new RequestTimeout('timeout'),
      { status: 200, requestId: 'r3' },
    ]);
    expect(await send()).toBe('settled');
    expect(log.filter((x) => x === 'send')).toHaveLength(3);
    expect(log.filter((x) => x === 'release')).toHaveLength(3);
    expect(new Set(sent.map((s) => s.key))).toEqual(new Set([batchRetryKey('d1', 4)]));
    expect(settled).toEqual([
      expect.objectContaining({ status: 'accepted', attempts: 3, reason: '', request_id: 'r3' }),
    ]);
  });

  it('5xx past maxAttempts: failed with the last reason', async () => {
    const { sent, settled, send } = setUp([lineError(502), lineError(503), lineError(500, { message: 'last' })]);
    await send();
    expect(sent).toHaveLength(3);
    expect(settled).toEqual([
      expect.objectContaining({ status: 'failed', http_status: 500, attempts: 3, reason: 'LINE 500: last' }),
    ]);
  });

  it('a 429 backs the channel off and resets its pacer; the next success clears the back-off', async () => {
    const { log, settled, send } = setUp([
      lineError(429, { message: 'Too Many Requests' }),
      { status: 200, requestId: 'r' },
    ]);
    await send();
    expect(log).toEqual([
      'connection',
      'slot',
      'send',
      'release',
      'backoff ch1 1 10000',
      'pacer reset',
      'connection',
      'slot',
      'send',
      'release',
      'clear backoff ch1',
      'settle',
    ]);
    expect(settled[0]).toMatchObject({ status: 'accepted', attempts: 2 });
  });

  it("a 409 is accepted with the earlier request's id; another 4xx fails at once", async () => {
    const accepted = setUp([lineError(409, {}, { 'x-line-accepted-request-id': 'earlier' })]);
    await accepted.send();
    expect(accepted.settled).toEqual([
      expect.objectContaining({ status: 'accepted', http_status: 409, request_id: 'earlier', attempts: 1 }),
    ]);
    const bad = setUp([lineError(400, { message: 'The request body has 1 error(s)' })]);
    await bad.send();
    expect(bad.sent).toHaveLength(1);
    expect(bad.settled).toEqual([
      expect.objectContaining({
        status: 'failed',
        http_status: 400,
        reason: 'LINE 400: The request body has 1 error(s)',
      }),
    ]);
  });

  it('stopping: nothing is sent or settled, and a held connection is given back', async () => {
    const before = setUp([{ status: 200, requestId: 'r' }]);
    before.run.stopped = true;
    expect(await before.send()).toBe('stopped');
    expect(before.log).toEqual([]);

    // a stopping pacer lets its waiters go: none of them may be sent
    const during = setUp([{ status: 200, requestId: 'r' }], () => (during.run.stopped = true));
    expect(await during.send()).toBe('stopped');
    expect(during.log).toEqual(['connection', 'slot', 'release']);
    expect(during.settled).toEqual([]);
  });

  it('judging without a channel (the broadcast): a 429 waits here and asks for a retry', async () => {
    const { sender, log } = setUp([]);
    const outcome = { http_status: 0, reason: '', status: 'failed' } as BatchOutcome;
    const counts = { strikes429: 0, transient: 0 };
    expect(await sender.judge(lineError(429, { message: 'Too Many Requests' }), outcome, undefined, counts)).toBe(
      'retry',
    );
    expect(counts.strikes429).toBe(1);
    expect(outcome).toMatchObject({ http_status: 429, reason: 'LINE 429: Too Many Requests' });
    expect(log).toEqual([]);
  });
});
