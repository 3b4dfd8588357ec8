/**
 * "All friends" by broadcast: one request (retry key of batch 0), every friend of the account;
 * targets are the friends Tayori knows of. Its request id is kept for Insight statistics by request id.
 */
import type { messagingApi } from '@line/bot-sdk';
import { lineClients } from '../../core/line.ts';
import { z } from '../../core/zod.ts';
import type { Redis } from '../../core/redis.ts';
import { type AttemptCounts, SdkTimeout } from '../line-answer.ts';
import { type DeliveryRedis, keys } from '../redis-state.ts';
import type { DeliveryRecord } from '../store.ts';
import type { Finalizer } from './finalize.ts';
import type { FanOutConfig, Payload, RunState } from './options.ts';
import type { BatchSender } from './send-batch.ts';
import { blankOutcome, type OutcomeSettler } from './settle-outcomes.ts';
import type { TrackedLinks } from './tracked-links.ts';

export interface BroadcastDeps {
  o: FanOutConfig;
  state: DeliveryRedis;
  redis: Redis;
  run: RunState;
  links: TrackedLinks;
  /** The delivery's payload (FanOut's cache). */
  payload: (tenantId: string, id: string) => Promise<Payload>;
  sender: BatchSender;
  settler: OutcomeSettler;
  finalizer: Finalizer;
}

const countRow = z.object({ n: z.coerce.number() });

/** Sends a delivery by broadcast. A restart sends it again with the same key (409). */
export async function runBroadcast(x: BroadcastDeps, d: DeliveryRecord, startedAt: number): Promise<void> {
  const p = keys.progress(d.id);
  let prog = (await x.state.progress(d.id))!;
  if (!prog.enumerated) {
    const targets = Number(
      (await x.o.store.rows('delivery.audience_count_all', { tenant: d.tenantId }, countRow))[0]?.n ?? 0,
    );
    await x.redis.hset(p, 'targets', String(targets), 'batches', '1', 'enqueued', '1', 'enumerated', '1');
    prog = (await x.state.progress(d.id))!;
    await x.o.store.put({ ...d, status: 'sending', startedAt, targets, batches: 1, updatedAt: Date.now() });
  }
  if (!(await x.state.settledAmong(d.id, [0]))[0]) {
    const outcome = blankOutcome(d.tenantId, d.id, 0, prog.targets);
    let messages = d.messages;
    if (d.links.length) {
      await x.links.linkTokens(d, ['']);
      messages = await x.links.messagesFor(d.id, await x.payload(d.tenantId, d.id), '');
    }
    const counts: AttemptCounts = { strikes429: 0, transient: 0 };
    for (;;) {
      if (x.run.stopped) throw new Error('stopping; the broadcast is sent again (same retry key) after a restart');
      outcome.attempts++;
      try {
        const { messaging } = lineClients(await x.o.tenants.credentials(d.tenantId), x.o.endpoints());
        const res = await withTimeout(
          messaging.broadcastWithHttpInfo(
            { messages: messages as messagingApi.Message[], notificationDisabled: d.notificationDisabled },
            outcome.retry_key,
          ),
          x.o.requestTimeoutMs,
        );
        outcome.status = 'accepted';
        outcome.http_status = res.httpResponse.status;
        outcome.request_id = res.httpResponse.headers.get('x-line-request-id') ?? '';
        break;
      } catch (err) {
        if ((await x.sender.judge(err, outcome, undefined, counts)) === 'done') break;
      }
    }
    if (outcome.status === 'accepted') outcome.reason = '';
    await x.settler.settle(outcome);
  }
  await x.finalizer.finalize(d.tenantId, d.id);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new SdkTimeout('timeout')), ms))),
  ]);
}
