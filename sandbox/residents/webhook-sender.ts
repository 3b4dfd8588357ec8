/**
 * Sends one channel's webhook events to its webhook URL the way the LINE Platform does: batched
 * POSTs of `{destination, events}` signed with `x-line-signature`, bounded concurrency (shared by
 * every channel through a `Semaphore`), a timeout per request, and — when the channel has
 * redelivery on — the same events sent again later with `deliveryContext.isRedelivery: true`,
 * with exponential backoff, for a bounded number of attempts and time. The backlog is bounded:
 * beyond it the oldest events are dropped and counted.
 */
import type { WebhookEvent } from './events.ts';
import { signBody } from './signature.ts';

export interface WebhookSenderOptions {
  /** Most events per POST (LINE sends one or several; more when many are waiting). Default 100. */
  batchSize?: number;
  /** Requests in flight per channel. Default 4. */
  concurrencyPerChannel?: number;
  /** Time to wait for a response before counting it as failed. Default 5000 ms (real time). */
  timeoutMs?: number;
  /** First redelivery delay; doubles each attempt up to maxBackoffMs. Defaults 1000 / 60000 ms. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Redelivery stops after this many attempts in all, or this long after the first. Defaults 8 / 10 min. */
  maxAttempts?: number;
  maxRedeliveryMs?: number;
  /** Most events kept waiting (new and to be redelivered) per channel. Default 100000. */
  maxBacklog?: number;
  /** Delay before a partial batch is sent, to let events gather. Default 5 ms. */
  lingerMs?: number;
}

export interface WebhookStats {
  /** Events acknowledged with 2xx (counting each redelivered copy once it succeeds). */
  delivered: number;
  /** POST requests made (first deliveries and redeliveries). */
  requests: number;
  /** Requests that failed (non-2xx, timeout, unreachable). */
  failedRequests: number;
  /** Events sent again with isRedelivery true. */
  redelivered: number;
  /** Events given up on (redelivery off, out of attempts, or backlog overflow). */
  dropped: number;
  /** Events waiting now. */
  backlog: number;
}

/** Counting semaphore shared by every channel's sender. */
export class Semaphore {
  private waiting: Array<() => void> = [];
  private used = 0;
  constructor(private readonly limit: number) {}
  async acquire(): Promise<void> {
    if (this.used < this.limit) {
      this.used++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.used--;
  }
}

interface Batch {
  events: WebhookEvent[];
  attempts: number;
  firstTriedAt: number;
  dueAt: number;
}

export class WebhookSender {
  private readonly fresh: WebhookEvent[] = [];
  private freshHead = 0;
  private readonly retries: Batch[] = [];
  private inFlight = 0;
  private readonly inFlightPromises = new Set<Promise<void>>();
  private retryTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  private readonly o: Required<WebhookSenderOptions>;
  readonly stats: WebhookStats = {
    delivered: 0,
    requests: 0,
    failedRequests: 0,
    redelivered: 0,
    dropped: 0,
    backlog: 0,
  };

  constructor(
    private readonly url: string,
    private readonly channelSecret: string,
    private readonly destination: string,
    private readonly redelivery: boolean,
    private readonly fetchFn: typeof fetch,
    private readonly shared: Semaphore,
    opts: WebhookSenderOptions = {},
    private readonly realNow: () => number = Date.now,
  ) {
    this.o = {
      batchSize: opts.batchSize ?? 100,
      concurrencyPerChannel: opts.concurrencyPerChannel ?? 4,
      timeoutMs: opts.timeoutMs ?? 5000,
      initialBackoffMs: opts.initialBackoffMs ?? 1000,
      maxBackoffMs: opts.maxBackoffMs ?? 60_000,
      maxAttempts: opts.maxAttempts ?? 8,
      maxRedeliveryMs: opts.maxRedeliveryMs ?? 600_000,
      maxBacklog: opts.maxBacklog ?? 100_000,
      lingerMs: opts.lingerMs ?? 5,
    };
  }

  /** Events not yet attempted (the simulation slows down while this is high). */
  get waiting(): number {
    return this.freshCount;
  }

  private get freshCount(): number {
    return this.fresh.length - this.freshHead;
  }

  private backlog(): number {
    let n = this.freshCount;
    for (const b of this.retries) n += b.events.length;
    return n;
  }

  enqueue(ev: WebhookEvent): void {
    if (this.stopped) return;
    this.fresh.push(ev);
    this.trimBacklog();
    this.stats.backlog = this.backlog();
    if (this.freshCount >= this.o.batchSize) this.pump();
    else if (!this.lingerTimer) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = undefined;
        this.pump();
      }, this.o.lingerMs);
      this.lingerTimer.unref?.();
    }
  }

  /** Drops the oldest waiting events (redeliveries first) beyond the backlog bound. */
  private trimBacklog(): void {
    let over = this.backlog() - this.o.maxBacklog;
    while (over > 0 && this.retries.length > 0) {
      const b = this.retries[0]!;
      const cut = Math.min(over, b.events.length);
      b.events.splice(0, cut);
      if (b.events.length === 0) this.retries.shift();
      this.stats.dropped += cut;
      over -= cut;
    }
    if (over > 0) {
      this.freshHead += over;
      this.stats.dropped += over;
    }
    if (this.freshHead > 4096 && this.freshHead * 2 > this.fresh.length) {
      this.fresh.splice(0, this.freshHead);
      this.freshHead = 0;
    }
  }

  private takeFresh(): WebhookEvent[] {
    const n = Math.min(this.o.batchSize, this.freshCount);
    const out = this.fresh.slice(this.freshHead, this.freshHead + n);
    this.freshHead += n;
    if (this.freshHead === this.fresh.length) {
      this.fresh.length = 0;
      this.freshHead = 0;
    }
    return out;
  }

  private pump(): void {
    if (this.stopped) return;
    const now = this.realNow();
    while (this.inFlight < this.o.concurrencyPerChannel) {
      let batch: Batch | undefined;
      const due = this.retries.findIndex((b) => b.dueAt <= now);
      if (due >= 0) {
        batch = this.retries.splice(due, 1)[0]!;
      } else if (this.freshCount > 0) {
        batch = { events: this.takeFresh(), attempts: 0, firstTriedAt: now, dueAt: now };
      } else break;
      this.launch(batch);
    }
    this.armRetryTimer();
    this.stats.backlog = this.backlog();
    this.checkIdle();
  }

  private launch(batch: Batch): void {
    this.inFlight++;
    const p = this.send(batch).finally(() => {
      this.inFlight--;
      this.inFlightPromises.delete(p);
      this.pump();
    });
    this.inFlightPromises.add(p);
  }

  private async send(batch: Batch): Promise<void> {
    await this.shared.acquire();
    let ok = false;
    try {
      const body = JSON.stringify({ destination: this.destination, events: batch.events });
      this.stats.requests++;
      if (batch.attempts > 0) this.stats.redelivered += batch.events.length;
      try {
        const res = await this.fetchFn(this.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'x-line-signature': signBody(body, this.channelSecret),
            'user-agent': 'LineBotWebhook/2.0',
          },
          body,
          signal: AbortSignal.timeout(this.o.timeoutMs),
        });
        ok = res.status >= 200 && res.status < 300;
        await res.arrayBuffer().catch(() => undefined);
      } catch {
        ok = false;
      }
    } finally {
      this.shared.release();
    }
    if (ok) {
      this.stats.delivered += batch.events.length;
      return;
    }
    this.stats.failedRequests++;
    this.retry(batch);
  }

  private retry(batch: Batch): void {
    const now = this.realNow();
    const attempts = batch.attempts + 1;
    if (
      !this.redelivery ||
      this.stopped ||
      attempts >= this.o.maxAttempts ||
      now - batch.firstTriedAt >= this.o.maxRedeliveryMs
    ) {
      this.stats.dropped += batch.events.length;
      return;
    }
    const events = batch.events.map((e) =>
      e.deliveryContext.isRedelivery ? e : { ...e, deliveryContext: { isRedelivery: true } },
    );
    const backoff = Math.min(this.o.maxBackoffMs, this.o.initialBackoffMs * 2 ** (attempts - 1));
    this.retries.push({ events, attempts, firstTriedAt: batch.firstTriedAt, dueAt: now + backoff });
    this.trimBacklog();
  }

  private armRetryTimer(): void {
    if (this.retryTimer || this.retries.length === 0 || this.stopped) return;
    const next = Math.min(...this.retries.map((b) => b.dueAt));
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        this.pump();
      },
      Math.max(0, next - this.realNow()),
    );
    this.retryTimer.unref?.();
  }

  private checkIdle(): void {
    if (this.inFlight === 0 && this.freshCount === 0 && this.retries.length === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  /** Resolves once nothing is waiting or in flight (including redeliveries still to come). */
  idle(): Promise<void> {
    if (this.inFlight === 0 && this.freshCount === 0 && this.retries.length === 0) return Promise.resolve();
    if (!this.lingerTimer) this.pump();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops sending; waits for requests in flight. Events still waiting are dropped. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.lingerTimer);
    this.retryTimer = undefined;
    this.lingerTimer = undefined;
    await Promise.allSettled([...this.inFlightPromises]);
    const left = this.backlog();
    this.stats.dropped += left;
    this.fresh.length = 0;
    this.freshHead = 0;
    this.retries.length = 0;
    this.stats.backlog = 0;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}
