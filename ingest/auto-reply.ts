import { lineClients, type LineEndpoints } from '../core/line.ts';
import type { Logger } from '../core/logger.ts';
import type { Redis } from '../core/redis.ts';
import type { EventHandlerRegistry } from './event-handlers.ts';
import type { TenantSecretsCache } from './tenant-secrets.ts';
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
 * Tenants and credentials come from the receiver's cache (no ClickHouse query per reply).
 */
export function registerAutoReply(
  registry: EventHandlerRegistry,
  deps: { redis: Redis; secrets: TenantSecretsCache; endpoints: () => LineEndpoints; logger: Logger },
): void {
  // one client per tenant's credentials (a reload brings new credentials objects, hence new clients)
  const clients = new WeakMap<object, { base: string; messaging: ReturnType<typeof lineClients>['messaging'] }>();
  registry.on('message', async ({ tenantId, event }) => {
    const userId = event.source?.userId;
    if (event.source?.type !== 'user' || !userId || !replyTokenUsable(event)) return;
    // a typed question the FAQ answers (the tenant turned that on) gets the FAQ's reply instead
    if (await registry.messageClaimed({ tenantId, event })) return;
    const key = `tayori:auto-reply:${tenantId}:${userId}:${jstDay(event.timestamp)}`;
    if ((await deps.redis.set(key, '1', 'EX', 2 * 86_400, 'NX')) !== 'OK') return;
    try {
      // from the cache the receiver keeps (reloaded on every tenant change): no query per reply
      const t = await deps.secrets.get(tenantId);
      if (!t?.credentials) throw new Error(`tenant ${tenantId} has no readable credentials`);
      const tenant = t.tenant;
      const endpoints = deps.endpoints();
      let c = clients.get(t.credentials);
      if (!c || c.base !== (endpoints.sandbox ?? '') + endpoints.line) {
        c = {
          base: (endpoints.sandbox ?? '') + endpoints.line,
          messaging: lineClients(t.credentials, endpoints).messaging,
        };
        clients.set(t.credentials, c);
      }
      const { messaging } = c;
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
