/**
 * The first-use survey: staff with 配信 pick one open survey per tenant; a resident who adds the account
 * as a friend is invited to it in the welcome reply, before the registration menu (delivery's
 * registration flow calls the hook registered here), with a button that starts it in the talk and one
 * to the LIFF form. Nothing is sent for a survey that is not open, or that the resident has answered.
 */
import type { messagingApi } from '@line/bot-sdk';
import type { AuditContext, AuditLog } from '../core/audit.ts';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import type { ResidentShell } from '../core/resident-shell.ts';
import type { TenantStore } from '../core/tenants.ts';
import { chDateTime, nextVersion } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { SURVEYS_POSTBACK_PREFIX } from './chat.ts';
import { phaseOf, type SurveyStore } from './store.ts';

const row = z.object({ survey_id: z.string() });
/** How long a tenant's first-use survey read is reused (a change in this process clears it at once). */
const FIRST_USE_CACHE_MS = 5000;
export const firstUseBody = z.object({
  surveyId: z
    .string({ error: 'surveyId にアンケートの ID (解除は空文字) を指定してください' })
    .regex(/^([0-9a-f-]{36})?$/, 'アンケートの ID が正しくありません'),
});

export class FirstUseSurveys {
  constructor(
    private readonly ch: ClickHouseClient,
    private readonly store: SurveyStore,
    private readonly audit: AuditLog,
    private readonly now: () => number,
  ) {}

  /** Each tenant's choice, read at most every few seconds: every new friend's welcome asks for it. */
  readonly #cache = new Map<string, { surveyId: Promise<string>; until: number }>();

  async get(tenantId: string): Promise<string> {
    const hit = this.#cache.get(tenantId);
    if (hit && hit.until > Date.now()) return hit.surveyId;
    const surveyId = query(this.ch, 'surveys.first_use', { tenant: tenantId }, row).then(([r]) => r?.survey_id ?? '');
    if (this.#cache.size > 1000) this.#cache.clear();
    this.#cache.set(tenantId, { surveyId, until: Date.now() + FIRST_USE_CACHE_MS });
    surveyId.catch(() => this.#cache.delete(tenantId));
    return surveyId;
  }

  /** Sets (or with '' clears) the tenant's first-use survey; a draft or closed survey is refused. */
  async set(tenantId: string, input: unknown, by: AuditContext, actor: string): Promise<{ surveyId: string }> {
    const { surveyId } = firstUseBody.parse(input);
    if (surveyId) {
      const s = await this.store.get(tenantId, surveyId);
      const phase = phaseOf(s, this.now());
      if (phase === 'draft' || phase === 'closed')
        throw new AppError(
          'survey_not_open',
          '下書きや受付を終えたアンケートは、友だち追加時のアンケートにできません',
          409,
        );
    }
    await this.audit.by(by, {
      action: 'survey_first_use_changed',
      tenantId,
      target: surveyId ? `surveys/${surveyId}` : 'surveys/first-use',
      detail: { surveyId },
    });
    await this.ch.insert({
      table: 'survey_first_use',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: tenantId,
          survey_id: surveyId,
          changed_by: actor,
          changed_at: chDateTime(this.now()),
          version: nextVersion(),
        },
      ],
    });
    this.#cache.delete(tenantId);
    return { surveyId };
  }

  /** The invitation for a new friend, or undefined (none set, not open, already answered). */
  async invitation(
    tenants: TenantStore,
    residents: ResidentShell | undefined,
    tenantId: string,
    userId: string,
  ): Promise<messagingApi.Message | undefined> {
    const surveyId = await this.get(tenantId);
    if (!surveyId) return undefined;
    const view = await this.store.forResident(tenantId, surveyId, userId).catch(() => undefined);
    if (!view || view.phase !== 'open' || (view.answeredAt !== null && !view.partial)) return undefined;
    const url = residents?.liffUrl(await tenants.require(tenantId), `surveys/${surveyId}`);
    const text = `はじめにアンケートにご協力ください。\n【${view.survey.title}】`;
    return {
      type: 'template',
      altText: text.slice(0, 400),
      template: {
        type: 'buttons',
        text: text.length > 160 ? `${text.slice(0, 159)}…` : text,
        actions: [
          {
            type: 'postback',
            label: 'トークで回答する',
            data: `${SURVEYS_POSTBACK_PREFIX}start:${surveyId}`,
            displayText: 'アンケートに回答する',
          },
          ...(url ? [{ type: 'uri' as const, label: '回答フォームを開く', uri: url }] : []),
        ],
      },
    };
  }
}
