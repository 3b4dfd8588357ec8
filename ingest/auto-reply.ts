import { lineClients, type LineEndpoints } from '../core/line.ts';
import type { Logger } from '../core/logger.ts';
import type { Redis } from '../core/redis.ts';
import type { TenantStore } from '../core/tenants.ts';
import type { EventHandlerRegistry } from './event-handlers.ts';
import { jstDay, replyTokenUsable } from './webhook-body.ts';

export function defaultAutoReply(tenantName: string): string {
  return (
    'メッセージをお送りいただきありがとうございます。\n' +
    'このアカウントでは、個別のメッセージにはお返事できません。' +
    `お問い合わせは${tenantName}の担当窓口までお願いいたします。`
  );
}

/**
 * Residents cannot hold a conversation with these accounts: one who sends a message anyway gets
 * one polite reply through the reply API, at most once per resident per day (Asia/Tokyo).
 */
export function registerAutoReply(
  registry: EventHandlerRegistry,
  deps: { redis: Redis; tenants: TenantStore; endpoints: () => LineEndpoints; logger: Logger },
): void {
  registry.on('message', async ({ tenantId, event }) => {
    const userId = event.source?.userId;
    if (event.source?.type !== 'user' || !userId || !replyTokenUsable(event)) return;
    const key = `tayori:auto-reply:${tenantId}:${userId}:${jstDay(event.timestamp)}`;
    if ((await deps.redis.set(key, '1', 'EX', 2 * 86_400, 'NX')) !== 'OK') return;
    try {
      const tenant = await deps.tenants.require(tenantId);
      const { messaging } = lineClients(await deps.tenants.credentials(tenantId), deps.endpoints());
      await messaging.replyMessage({
        replyToken: event.replyToken!,
        messages: [{ type: 'text', text: tenant.autoReplyText || defaultAutoReply(tenant.name) }],
      });
    } catch (err) {
      await deps.redis.del(key);
      throw err;
    }
  });
}
