/**
 * Mileage in the chat, from the rich menu's postbacks (residents cannot type to these accounts):
 *
 *   mileage:summary      「マイレージ」: a Flex card (points, progress to the goal, recent activities,
 *                        period end, a button to the LIFF mileage page), by the reply API (no quota)
 *   mileage:record       「記録する」: quick replies of the programme's self-report activities
 *   mileage:self:<id>    one tap records the activity once (the webhook event id is the key; LINE
 *                        redelivers with the same id), within its daily cap; the reply gives the balance
 *
 * Handlers run from ingest's event log at least once: the award is idempotent, and a reply is
 * only attempted while the event's reply token is usable.
 *
 * The tenant's default rich menu (delivery/rich-menu.ts) is a compact menu of three fixed areas
 * (登録内容・お知らせ・問い合わせ) whose image and tests belong to delivery; the two mileage entries
 * (postback data `mileage:summary` with displayText 「マイレージ」, `mileage:record` with 「記録する」)
 * are left for the rich-menu redesign (another issue) rather than squeezed into that layout.
 */
import type { messagingApi } from '@line/bot-sdk';
import { isAppError } from '../core/errors.ts';
import { lineClients, type LineEndpoints } from '../core/line.ts';
import type { Logger } from '../core/logger.ts';
import type { Redis } from '../core/redis.ts';
import type { ResidentShell } from '../core/resident-shell.ts';
import type { TenantStore } from '../core/tenants.ts';
import { tokyoToday } from '../core/time.ts';
import { type EventContext, type EventHandler, replyTokenUsable } from '../ingest/index.ts';
import type { Catalogue } from './catalogue.ts';
import { summaryMessage } from './flex.ts';
import type { ResidentMileage } from './resident.ts';

export const MILEAGE_POSTBACK_PREFIX = 'mileage:';
const P = MILEAGE_POSTBACK_PREFIX;

export interface PostbackRegistry {
  onPostback(prefix: string, handler: EventHandler): void;
}

interface ChatDeps {
  catalogue: Catalogue;
  resident: ResidentMileage;
  tenants: TenantStore;
  endpoints: () => LineEndpoints;
  redis: Redis;
  logger: Logger;
  residents: () => ResidentShell | undefined;
}

const text = (t: string, items?: messagingApi.QuickReplyItem[]): messagingApi.Message => ({
  type: 'text',
  text: t,
  ...(items?.length ? { quickReply: { items: items.slice(0, 13) } } : {}),
});

export function registerMileageChat(registry: PostbackRegistry, deps: ChatDeps): void {
  const reply = async (ctx: EventContext, messages: messagingApi.Message[]) => {
    if (!replyTokenUsable(ctx.event)) return;
    const { messaging } = lineClients(await deps.tenants.credentials(ctx.tenantId), deps.endpoints());
    await messaging.replyMessage({ replyToken: ctx.event.replyToken!, messages });
  };
  /** A summary or menu is answered once per event (a redelivered event is not answered twice). */
  const once = async (ctx: EventContext) =>
    (await deps.redis.set(
      `tayori:mileage-chat:${ctx.tenantId}:${ctx.event.webhookEventId}`,
      '1',
      'EX',
      2 * 86_400,
      'NX',
    )) === 'OK';

  registry.onPostback(P, async (ctx) => {
    const userId = ctx.event.source?.userId;
    const data = ctx.event.postback?.data ?? '';
    if (ctx.event.source?.type !== 'user' || !userId) return;
    const tenant = await deps.tenants.require(ctx.tenantId);
    const liff = deps.residents()?.liffUrl(tenant, 'mileage');

    if (data === `${P}summary`) {
      if (!(await once(ctx))) return;
      const s = await deps.resident.summary(ctx.tenantId, userId);
      const programme = await deps.catalogue.forResident(ctx.tenantId, tokyoToday(ctx.event.timestamp));
      if (!programme) {
        await reply(ctx, [text('現在実施中のマイレージ事業はありません。')]);
        return;
      }
      await reply(ctx, [
        summaryMessage({
          programme,
          balance: s.balance,
          recent: s.recent,
          memberNo: s.memberNo ?? undefined,
          card: s.card,
          url: liff,
        }),
      ]);
      return;
    }

    if (data === `${P}record`) {
      if (!(await once(ctx))) return;
      const programme = await deps.catalogue.current(ctx.tenantId, tokyoToday(ctx.event.timestamp));
      const acts = programme?.activities.filter((a) => a.method === 'self_report' && !a.retired) ?? [];
      if (!programme || acts.length === 0) {
        await reply(ctx, [text('いま記録できる活動はありません。')]);
        return;
      }
      await reply(ctx, [
        text(
          '記録する活動を選んでください。',
          acts.map((a) => ({
            type: 'action',
            action: {
              type: 'postback',
              label: a.selfReportLabel.slice(0, 20),
              data: `${P}self:${a.activityId}`,
              displayText: a.selfReportLabel,
            },
          })),
        ),
      ]);
      return;
    }

    const self = /^mileage:self:([0-9a-f-]{36})$/.exec(data);
    if (self) {
      let message: string;
      try {
        const r = await deps.resident.selfReport(ctx.tenantId, userId, self[1]!, ctx.event);
        message = r.awarded
          ? `記録しました (+${r.points} ポイント)。現在 ${r.balance} ポイントです (目標 ${r.goal} ポイント)。` +
            (r.cardIssued ? '\n目標を達成しました！応援カードをお送りします。' : '')
          : `この記録は受け付け済みです。現在 ${r.balance} ポイントです。`;
      } catch (e) {
        if (!isAppError(e) || e.status >= 500) throw e;
        message = e.message;
      }
      await reply(ctx, [text(message)]);
      return;
    }
    deps.logger.debug({ tenantId: ctx.tenantId, data }, 'unknown mileage postback');
  });
}
