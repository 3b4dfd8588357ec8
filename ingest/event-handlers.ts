import type { Logger } from '../core/logger.ts';
import type { WebhookEvent } from './webhook-body.ts';

export interface EventContext {
  tenantId: string;
  event: WebhookEvent;
}

export type EventHandler = (ctx: EventContext) => unknown;

/**
 * How feature folders react to stored webhook events: by type, or for postbacks by the prefix of
 * their data. Handlers run after the events are stored and acknowledged; a failing handler is
 * logged and never loses the event. A redelivered event may reach a handler again: handlers are
 * idempotent.
 */
export class EventHandlerRegistry {
  #byType = new Map<string, EventHandler[]>();
  #postback: Array<{ prefix: string; handler: EventHandler }> = [];

  constructor(private readonly logger: Logger) {}

  on(type: string, handler: EventHandler): void {
    this.#byType.set(type, [...(this.#byType.get(type) ?? []), handler]);
  }

  onPostback(prefix: string, handler: EventHandler): void {
    this.#postback.push({ prefix, handler });
  }

  dispatch(tenantId: string, events: WebhookEvent[]): Promise<void> {
    const runs: Promise<unknown>[] = [];
    for (const event of events) {
      const handlers = [...(this.#byType.get(event.type) ?? [])];
      if (event.type === 'postback' && typeof event.postback?.data === 'string') {
        for (const p of this.#postback) if (event.postback.data.startsWith(p.prefix)) handlers.push(p.handler);
      }
      for (const h of handlers) {
        runs.push(
          Promise.resolve()
            .then(() => h({ tenantId, event }))
            .catch((err: unknown) =>
              this.logger.error(
                { err, tenantId, type: event.type, webhookEventId: event.webhookEventId },
                'webhook event handler failed',
              ),
            ),
        );
      }
    }
    return Promise.all(runs).then(() => undefined);
  }
}
