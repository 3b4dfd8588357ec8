import type { ClickHouseClient } from '../core/clickhouse.ts';
import { GroupCommitWriter, type GroupCommitOptions } from '../core/group-commit.ts';
import type { FrontHandlers } from '../core/http.ts';
import type { LineEndpoints } from '../core/line.ts';
import type { Logger } from '../core/logger.ts';
import type { Redis } from '../core/redis.ts';
import type { TenantStore } from '../core/tenants.ts';
import { registerAutoReply } from './auto-reply.ts';
import { DailyRollup } from './daily-rollup.ts';
import { EventHandlerRegistry } from './event-handlers.ts';
import { TenantSecretsCache } from './tenant-secrets.ts';
import type { RawEventRow } from './webhook-body.ts';
import { createWebhookReceiver, isWebhookRequest } from './webhook-receiver.ts';

export { EventHandlerRegistry, type EventContext, type EventHandler } from './event-handlers.ts';
export { defaultAutoReply } from './auto-reply.ts';
export { jstDay, replyTokenUsable, type WebhookEvent } from './webhook-body.ts';

export interface IngestDeps {
  ch: ClickHouseClient;
  redis: Redis;
  tenants: TenantStore;
  endpoints: () => LineEndpoints;
  logger: Logger;
  writer?: GroupCommitOptions;
  rollupIntervalMs?: number;
}

export interface Ingest {
  /** Registry feature folders use to react to stored events. */
  handlers: EventHandlerRegistry;
  writer: GroupCommitWriter<RawEventRow>;
  rollup: DailyRollup;
  /** Puts POST /webhook/:tenantId in front of the API app. */
  mount(front: FrontHandlers): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Webhook receiver, group-commit writer and daily rollups (Insight pollers live in ./insight). */
export function createIngest(deps: IngestDeps): Ingest {
  const rollup = new DailyRollup(deps.ch, deps.logger, deps.rollupIntervalMs);
  // One INSERT in flight: everything that arrives meanwhile joins the next one, so batches grow
  // with load (the embedded engine runs queries one at a time anyway).
  const writer = new GroupCommitWriter<RawEventRow>(
    deps.ch,
    'raw_webhook_events',
    { concurrency: 1, ...deps.writer },
    (rows) => rollup.markDirty(rows),
  );
  const handlers = new EventHandlerRegistry(deps.logger);
  registerAutoReply(handlers, deps);
  const secrets = new TenantSecretsCache(deps.tenants);
  const receiver = createWebhookReceiver({ secrets, writer, handlers, logger: deps.logger });
  return {
    handlers,
    writer,
    rollup,
    mount: (front) => front.add(isWebhookRequest, receiver),
    async start() {
      await secrets.reload();
      await rollup.start();
    },
    async stop() {
      await writer.close();
      await rollup.stop();
    },
  };
}
