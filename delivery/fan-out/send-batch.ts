/**
 * Sending one multicast batch: a connection, then a send slot, then the request with the batch's
 * retry key; on a failure LINE's answer is judged (line-answer.ts) and acted on — the channel backs
 * off (429), the batch waits its backoff (5xx, timeouts) or is settled (accepted, failed for good).
 */
import { counter } from '../../core/metrics-registry.ts';
import type { DeliveryRedis } from '../redis-state.ts';
import type { BatchOutcome } from '../store.ts';
import { type AttemptCounts, isRateLimited, isTransient, judgeFailure } from '../line-answer.ts';
import { MULTICAST_HEAD } from '../multicast-http.ts';
import type { Channel } from './channels.ts';
import type { FanOutConfig, RunState } from './options.ts';
import { blankOutcome, type OutcomeSettler } from './settle-outcomes.ts';

// /metrics: settled batches by outcome (their rate is batches/s) and LINE's 429s
const batchesSettled = counter('tayori_delivery_batches_total', 'Multicast batches settled, by outcome', ['outcome']);
const BATCHES = { accepted: batchesSettled.labels('accepted'), failed: batchesSettled.labels('failed') };
const rateLimited = counter('tayori_delivery_429_total', "LINE's 429 answers to multicast requests");

/** What sending needs of the options. */
export type SendLimits = Pick<
  FanOutConfig,
  'requestTimeoutMs' | 'maxAttempts' | 'max429' | 'retryBaseMs' | 'backoff429Ms'
>;

export class BatchSender {
  readonly #o: SendLimits;
  readonly #state: Pick<DeliveryRedis, 'backoff' | 'clearBackoff'>;
  readonly #run: RunState;
  readonly #settler: Pick<OutcomeSettler, 'settle'>;
  /** Channels that saw a 429 lately (their back-off streak is reset on the next success). */
  readonly #recent429 = new Map<string, number>();

  constructor(
    o: SendLimits,
    state: Pick<DeliveryRedis, 'backoff' | 'clearBackoff'>,
    run: RunState,
    settler: Pick<OutcomeSettler, 'settle'>,
  ) {
    this.#o = o;
    this.#state = state;
    this.#run = run;
    this.#settler = settler;
  }

  async send(
    channel: Channel,
    tenantId: string,
    id: string,
    b: number,
    recipients: number,
    to: Buffer,
    tail: Buffer,
  ): Promise<'settled' | 'stopped'> {
    const outcome = blankOutcome(tenantId, id, b, recipients);
    const parts = [MULTICAST_HEAD, to, tail];
    const counts: AttemptCounts = { strikes429: 0, transient: 0 };
    for (;;) {
      if (this.#run.stopped) return 'stopped';
      // a connection first, then the send slot: a request that holds a slot leaves at once (one
      // that waited for a connection after its slot would leave bunched with later ones, and LINE
      // counts requests as they arrive)
      await channel.inFlight.acquire();
      if (this.#run.stopped) {
        channel.inFlight.release();
        return 'stopped';
      }
      await channel.pacer.acquire();
      if (this.#run.stopped) {
        // a stopping pacer lets every waiter go at once: none of them may be sent
        channel.inFlight.release();
        return 'stopped';
      }
      outcome.attempts++;
      let failure: unknown;
      try {
        const res = await channel.http.send(parts, outcome.retry_key, this.#o.requestTimeoutMs);
        outcome.status = 'accepted';
        outcome.http_status = res.status;
        outcome.request_id = res.requestId;
      } catch (err) {
        failure = err;
      } finally {
        channel.inFlight.release();
      }
      if (failure === undefined) break;
      // the request's slot is free again while this batch waits for its retry
      if ((await this.judge(failure, outcome, channel, counts)) === 'done') break;
    }
    await this.#accepted(outcome, channel.channel);
    await this.#settler.settle(outcome);
    (outcome.status === 'accepted' ? BATCHES.accepted : BATCHES.failed).inc();
    return 'settled';
  }

  /**
   * Acts on LINE's answer to a failed attempt (judgeFailure decides what it means): 'done' (accepted
   * after all — a 409 —, or failed for good), 'retry' (a 429: the channel has backed off) or
   * 'retry-later' (a 5xx / timeout: this batch has waited its backoff). Without a channel (the
   * broadcast) a 429 waits here instead.
   */
  async judge(
    err: unknown,
    outcome: BatchOutcome,
    channel: Channel | undefined,
    counts: AttemptCounts,
  ): Promise<'done' | 'retry' | 'retry-later'> {
    if (isRateLimited(err)) {
      counts.strikes429++;
      rateLimited.inc();
    } else if (isTransient(err)) counts.transient++;
    const v = judgeFailure(err, counts, {
      requestTimeoutMs: this.#o.requestTimeoutMs,
      maxAttempts: this.#o.maxAttempts,
      max429: this.#o.max429,
      retryBaseMs: this.#o.retryBaseMs,
    });
    outcome.http_status = v.httpStatus;
    switch (v.kind) {
      case 'accepted':
        outcome.status = 'accepted';
        outcome.request_id = v.requestId;
        return 'done';
      case 'failed':
        outcome.reason = v.reason;
        return 'done';
      case 'retry-channel':
        outcome.reason = v.reason;
        if (channel) {
          this.#recent429.set(channel.channel, Date.now());
          await this.#state.backoff(channel.channel, this.#o.backoff429Ms, 10_000);
          channel.pacer.reset();
        } else {
          await sleep(Math.min(10_000, this.#o.backoff429Ms * 2 ** Math.min(6, counts.strikes429 - 1)));
        }
        return 'retry';
      case 'retry-later':
        outcome.reason = v.reason;
        await sleep(v.waitMs);
        return 'retry-later';
    }
  }

  async #accepted(outcome: BatchOutcome, channel: string): Promise<void> {
    if (outcome.status !== 'accepted') return;
    outcome.reason = '';
    const last429 = this.#recent429.get(channel);
    if (last429 !== undefined) {
      this.#recent429.delete(channel);
      if (Date.now() - last429 < 10_000) await this.#state.clearBackoff(channel);
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
