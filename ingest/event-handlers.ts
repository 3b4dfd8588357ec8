import type { Logger } from '../core/logger.ts';
import type { WebhookEvent } from './webhook-body.ts';

export interface EventContext {
  tenantId: string;
  event: WebhookEvent;
}

export type EventHandler = (ctx: EventContext) => unknown;

export interface HandlerRun {
  handler: EventHandler;
  ctx: EventContext;
}

/**
 * How feature folders react to webhook events: by type, or for postbacks by the prefix of their
 * data. Handlers run from the event log once the events are durable (see handler-runner.ts), at
 * least once: after a crash, or when LINE redelivers, an event may reach a handler again, so
 * handlers are idempotent. A failing handler is logged and retried; it never loses the event.
 */
export class EventHandlerRegistry {
  #byType = new Map<string, EventHandler[]>();
  #postback: Array<{ prefix: string; handler: EventHandler }> = [];
  #messageClaims: Array<(ctx: EventContext) => Promise<boolean>> = [];
  /** Typed text of message events, in memory only (the event log keeps none), for a claiming feature. */
  #texts = new Map<string, { text: string; until: number }>();

  constructor(private readonly logger: Logger) {}

  on(type: string, handler: EventHandler): void {
    this.#byType.set(type, [...(this.#byType.get(type) ?? []), handler]);
  }

  onPostback(prefix: string, handler: EventHandler): void {
    this.#postback.push({ prefix, handler });
  }

  /**
   * A feature that answers residents' typed messages itself (faq/, where a tenant turned typed
   * questions on) claims them, so the auto-reply stays silent for them.
   */
  claimMessages(claim: (ctx: EventContext) => Promise<boolean>): void {
    this.#messageClaims.push(claim);
  }

  /** Whether a feature wants typed text (the receiver then holds it in memory for it). */
  get wantsText(): boolean {
    return this.#messageClaims.length > 0;
  }

  /**
   * The receiver hands over a message's text before the event is logged without it; kept in memory for
   * a minute at most (a reply token's life), never written anywhere, bounded in number.
   */
  holdText(tenantId: string, webhookEventId: string, text: string, now = Date.now()): void {
    if (this.#texts.size >= 10_000) {
      for (const [k, v] of this.#texts) if (v.until < now || this.#texts.size >= 10_000) this.#texts.delete(k);
    }
    this.#texts.set(`${tenantId}\n${webhookEventId}`, { text: text.slice(0, 1000), until: now + 60_000 });
  }

  /** The held text of a message event, taken (once), or undefined (never held, expired, or after a restart). */
  takeText(ctx: EventContext, now = Date.now()): string | undefined {
    const key = `${ctx.tenantId}\n${ctx.event.webhookEventId}`;
    const held = this.#texts.get(key);
    this.#texts.delete(key);
    return held && held.until >= now ? held.text : undefined;
  }

  /** True when a feature answers this message event itself. */
  async messageClaimed(ctx: EventContext): Promise<boolean> {
    for (const claim of this.#messageClaims) if (await claim(ctx)) return true;
    return false;
  }

  /** Runs every handler the events call for; resolves once all are done (failures are logged). */
  async dispatch(tenantId: string, events: WebhookEvent[]): Promise<void> {
    await this.run(this.runsFor(tenantId, events));
  }

  /** One run per (handler, event) the events call for. */
  runsFor(tenantId: string, events: WebhookEvent[]): HandlerRun[] {
    const runs: HandlerRun[] = [];
    for (const event of events) {
      for (const handler of this.#byType.get(event.type) ?? []) runs.push({ handler, ctx: { tenantId, event } });
      if (event.type === 'postback' && typeof event.postback?.data === 'string') {
        for (const p of this.#postback)
          if (event.postback.data.startsWith(p.prefix)) runs.push({ handler: p.handler, ctx: { tenantId, event } });
      }
    }
    return runs;
  }

  /** Runs them concurrently; resolves with the runs that failed (each logged), for a retry. */
  async run(runs: HandlerRun[]): Promise<HandlerRun[]> {
    const failed: HandlerRun[] = [];
    await Promise.all(
      runs.map((r) =>
        Promise.resolve()
          .then(() => r.handler(r.ctx))
          .catch((err: unknown) => {
            failed.push(r);
            this.logger.error(
              { err, tenantId: r.ctx.tenantId, type: r.ctx.event.type, webhookEventId: r.ctx.event.webhookEventId },
              'webhook event handler failed',
            );
          }),
      ),
    );
    return failed;
  }
}
