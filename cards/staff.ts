/**
 * What staff do with the cards, each call audited with the caller (AuditContext):
 *  - counts for anyone who may see the tenant (no personal data): registered, eligible, by kind, by
 *    registration month;
 *  - with カード利用者情報 (card_holders) only: search and view holders, a streamed CSV export, a push
 *    to chosen holders;
 *  - the card and pass images (prefecture, contractor and admin accounts): upload a draft, preview,
 *    publish; the shop code.
 * Audit records carry counts and ids, never a name or a birth date.
 */
import { Readable } from 'node:stream';
import { type Principal, requirePermission, requireTenant } from '../core/auth.ts';
import type { AuditContext, AuditLog } from '../core/audit.ts';
import { CSV_BOM, csvLine } from '../core/csv.ts';
import { AppError } from '../core/errors.ts';
import type { TenantStore } from '../core/tenants.ts';
import { tokyoMonth, tokyoToday } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { type DeliveryRecord, MAX_LISTED_USERS } from '../delivery/index.ts';
import { eligibility } from './eligibility.ts';
import type { Household, Households, ImageKind } from './households.ts';
import type { CardImages } from './images.ts';
import { KIND_LABELS } from './schemas.ts';

export interface CardCounts {
  tenantId: string;
  registered: number;
  eligible: number;
  ineligible: number;
  byKind: Record<Household['kind'], number>;
  /** Households registered per month (Tokyo), oldest first. */
  byMonth: Array<{ month: string; registered: number }>;
}

export interface HolderRow {
  userId: string;
  holderName: string;
  relationship: string;
  kind: string;
  children: Array<{ name: string; birthDate: string }>;
  eligible: boolean;
  eligibleUntil: string | null;
  registeredAt: string;
  updatedAt: string;
}

export const holderSearchSchema = z.object({
  q: z.string().trim().max(50, '検索語は 50 文字以内です').default(''),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

export const pushSchema = z.object({
  userIds: z
    .array(z.string().regex(/^U[0-9a-f]{32}$/, '送信先の LINE ユーザー ID が不正です'))
    .min(1, '送信先を選んでください')
    .max(MAX_LISTED_USERS, `一度に送れるのは ${MAX_LISTED_USERS} 人までです`),
  text: z.string().trim().min(1, 'メッセージを入力してください').max(5000, 'メッセージは 5000 文字以内です'),
});

const COUNTS_TTL_MS = 60_000;
/** The push's title in delivery's list (staff read it there; residents see only the text). */
const PUSH_TITLE = '優待カード利用者へのお知らせ';
/** The push's audience label: how the erasure finds the pushes whose recipients it removes. */
export const PUSH_AUDIENCE_LABEL = 'カード利用者';

/** What the cards need of delivery's service: a delivery created (and sent now), audited there. */
export interface CardDeliveries {
  create(
    tenantId: string,
    input: unknown,
    by: AuditContext,
    opts?: { audit?: Record<string, unknown> },
  ): Promise<DeliveryRecord>;
  /** Erasure: the tenant's deliveries to named residents under `label` lose their user ids; how many. */
  forgetNamedAudiences(tenantId: string, label: string): Promise<number>;
}

export class CardStaff {
  readonly #counts = new Map<string, { at: number; value: CardCounts }>();

  constructor(
    private readonly d: {
      households: Households;
      images: CardImages;
      audit: AuditLog;
      tenants: TenantStore;
      /** delivery's service: the push goes out as a delivery (absent: the push answers 503). */
      deliveries?: CardDeliveries;
      now: () => number;
    },
  ) {}

  /** Counts only (no personal data): for anyone who may see the tenant. */
  counts(actor: Principal, tenantId: string): CardCounts {
    requireTenant(actor, tenantId);
    const hit = this.#counts.get(tenantId);
    if (hit && this.d.now() - hit.at < COUNTS_TTL_MS) return hit.value;
    const today = tokyoToday(this.d.now());
    const value: CardCounts = {
      tenantId,
      registered: 0,
      eligible: 0,
      ineligible: 0,
      byKind: { children: 0, pregnant: 0, grandparent: 0 },
      byMonth: [],
    };
    const months = new Map<string, number>();
    for (const h of this.d.households.list(tenantId)) {
      value.registered++;
      value.byKind[h.kind]++;
      if (eligibility({ kind: h.kind, birthDates: h.children.map((c) => c.birthDate) }, today).eligible)
        value.eligible++;
      else value.ineligible++;
      const m = tokyoMonth(h.registeredAt);
      months.set(m, (months.get(m) ?? 0) + 1);
    }
    value.byMonth = [...months]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([month, registered]) => ({ month, registered }));
    this.#counts.set(tenantId, { at: this.d.now(), value });
    return value;
  }

  /** Holders matching a name (holder's or a child's), with カード利用者情報; the look-up is audited. */
  async search(by: AuditContext, tenantId: string, input: unknown): Promise<{ holders: HolderRow[]; total: number }> {
    this.#requireHolders(by.actor, tenantId);
    const q = holderSearchSchema.parse(input ?? {});
    const today = tokyoToday(this.d.now());
    const all: HolderRow[] = [];
    for (const h of this.d.households.list(tenantId)) {
      if (q.q && !h.holderName.includes(q.q) && !h.children.some((c) => c.name.includes(q.q))) continue;
      all.push(holderRow(h, today));
    }
    const holders = all.slice(q.offset, q.offset + q.limit);
    await this.d.audit.by(by, {
      action: 'card_holders_viewed',
      tenantId,
      detail: { searched: q.q !== '', matched: all.length, returned: holders.length },
    });
    return { holders, total: all.length };
  }

  /**
   * The tenant's holders as CSV (UTF-8 BOM, formula-neutralised cells), streamed; the export is
   * audited with its row count before the first byte leaves (no record, no file).
   */
  async exportCsv(by: AuditContext, tenantId: string): Promise<{ stream: Readable; rows: number }> {
    this.#requireHolders(by.actor, tenantId);
    let rows = 0;
    for (const _ of this.d.households.stored(tenantId)) rows++;
    await this.d.audit.by(by, {
      action: 'export',
      tenantId,
      target: 'card_holders.csv',
      detail: { what: 'card_holders', rows },
    });
    const today = tokyoToday(this.d.now());
    const households = this.d.households;
    function* lines(): Generator<string> {
      const head = ['LINEユーザーID', 'カード対象者氏名', '続柄', '区分'];
      for (let i = 1; i <= 5; i++) head.push(`第${i}子氏名`, `第${i}子生年月日`);
      head.push('利用可否', '利用期限', '登録日時', '更新日時');
      yield CSV_BOM + csvLine(head);
      for (const h of households.list(tenantId)) {
        const r = holderRow(h, today);
        const kids: string[] = [];
        for (let i = 0; i < 5; i++) kids.push(r.children[i]?.name ?? '', r.children[i]?.birthDate ?? '');
        yield csvLine([
          r.userId,
          r.holderName,
          r.relationship,
          r.kind,
          ...kids,
          r.eligible ? '利用可' : '対象外',
          r.eligibleUntil ?? '',
          r.registeredAt,
          r.updatedAt,
        ]);
      }
    }
    return { stream: Readable.from(lines()), rows };
  }

  /**
   * A text message to chosen registered holders, as a delivery (delivery's audience of named users:
   * in its list and statistics, retry keys per batch, blocked residents skipped). Delivery's service
   * audits it (the caller, the delivery, how many, and that it is this push) before it is queued.
   */
  async push(
    by: AuditContext,
    tenantId: string,
    input: unknown,
  ): Promise<{ deliveryId: string; status: string; recipients: number; audienceLabel: string }> {
    this.#requireHolders(by.actor, tenantId);
    const v = pushSchema.parse(input ?? {});
    const ids = [...new Set(v.userIds)];
    const unknown = ids.filter((id) => !this.d.households.has(tenantId, id));
    if (unknown.length)
      throw new AppError('not_card_holder', `登録されていない送信先が ${unknown.length} 件あります`, 400);
    if (!this.d.deliveries) throw new AppError('delivery_unavailable', '配信機能が使えません', 503);
    const d = await this.d.deliveries.create(
      tenantId,
      {
        title: PUSH_TITLE,
        messages: [{ type: 'text', text: v.text }],
        audience: { type: 'users', userIds: ids, label: PUSH_AUDIENCE_LABEL },
        send: 'now',
      },
      by,
      { audit: { what: 'card_holders_push' } },
    );
    return { deliveryId: d.id, status: d.status, recipients: ids.length, audienceLabel: d.audienceLabel };
  }

  async upload(by: AuditContext, tenantId: string, kind: ImageKind, input: unknown) {
    this.#requireImages(by.actor, tenantId);
    const r = await this.d.images.upload(tenantId, kind, input, actorName(by.actor));
    await this.d.audit.by(by, { action: 'card_image_uploaded', tenantId, target: kind, detail: r });
    return r;
  }

  async publish(by: AuditContext, tenantId: string, kind: ImageKind) {
    this.#requireImages(by.actor, tenantId);
    await this.d.images.publish(tenantId, kind, actorName(by.actor));
    await this.d.audit.by(by, { action: 'card_image_published', tenantId, target: kind });
  }

  async setShopCode(by: AuditContext, tenantId: string, input: unknown) {
    this.#requireImages(by.actor, tenantId);
    const shopCode = await this.d.images.setShopCode(tenantId, input);
    await this.d.audit.by(by, { action: 'card_shop_code_changed', tenantId });
    return { shopCode };
  }

  image(actor: Principal, tenantId: string, kind: ImageKind, state: 'draft' | 'published') {
    requireTenant(actor, tenantId);
    const img = this.d.images.get(tenantId, kind, state);
    if (!img) throw new AppError('no_image', '画像はありません', 404);
    return img;
  }

  #requireHolders(actor: Principal, tenantId: string): void {
    requireTenant(actor, tenantId);
    requirePermission(actor, 'card_holders');
  }

  #requireImages(actor: Principal, tenantId: string): void {
    requireTenant(actor, tenantId);
    if (actor.kind === 'staff' && actor.role === 'municipality') {
      throw new AppError('forbidden', 'カードとパスの画像は県・受託者・管理者のアカウントで変更してください', 403);
    }
  }
}

const actorName = (p: Principal) => (p.kind === 'staff' ? p.username : 'operator');
const isoTokyo = (ms: number) => new Date(ms + 9 * 3_600_000).toISOString().replace('Z', '+09:00').slice(0, 25);

function holderRow(h: Household, today: string): HolderRow {
  const e = eligibility({ kind: h.kind, birthDates: h.children.map((c) => c.birthDate) }, today);
  return {
    userId: h.userId,
    holderName: h.holderName,
    relationship: h.relationship,
    kind: KIND_LABELS[h.kind],
    children: h.children,
    eligible: e.eligible,
    eligibleUntil: e.until,
    registeredAt: isoTokyo(h.registeredAt),
    updatedAt: isoTokyo(h.updatedAt),
  };
}
