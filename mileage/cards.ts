/**
 * The benefit card (とこわか健康応援カード): issued once, when a participant's balance first reaches
 * the programme's goal within the period; card number = member number; valid for the programme's
 * card_valid_months from the issue date (Tokyo). The resident gets a push message (Flex) with a
 * retry key, so a retried push is delivered once. Nothing here is keyed on follow state: a resident
 * who blocks and unblocks keeps points and card. The card row goes through the event log (durable
 * there before the card is answered, in mileage_cards about a second later); until it is shipped,
 * card() answers from the cards this process issued recently.
 *
 * The card's one design (all municipalities) is managed by prefecture staff: draft → preview →
 * published; the newest published design is the one in use.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { messagingApi } from '@line/bot-sdk';
import type { AuditContext, AuditLog } from '../core/audit.ts';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import { lineClients, type LineEndpoints } from '../core/line.ts';
import type { Logger } from '../core/logger.ts';
import type { ResidentShell } from '../core/resident-shell.ts';
import type { TenantStore } from '../core/tenants.ts';
import { chDateTime, nextVersion, tokyoToday } from '../core/time.ts';
import { z } from '../core/zod.ts';
import type { LogTables } from '../ingest/index.ts';
import { actorName, requireDesign } from './access.ts';
import { cardMessage } from './flex.ts';
import { type AwardGuards, STALE } from './guards.ts';
import { checkCardImage } from './images.ts';
import { logRefused } from './logged.ts';
import { type Card, type Design, designInputSchema, type Programme } from './schemas.ts';
import { parseInput } from './validate.ts';

const cardRow = z.object({
  card_no: z.string(),
  design_id: z.string(),
  issued_ms: z.coerce.number(),
  valid_until: z.string(),
});
const designRow = z.object({
  design_id: z.string(),
  name: z.string(),
  title: z.string(),
  note: z.string(),
  colour: z.string(),
  image_base64: z.string(),
  image_type: z.string(),
  image_sha256: z.string(),
  status: z.enum(['draft', 'published']),
  created_by: z.string(),
  created_ms: z.coerce.number(),
  published_ms: z.coerce.number(),
  version: z.coerce.number(),
});
type DesignRow = z.infer<typeof designRow>;

/** mileage_cards' columns the event log ships. */
export const CARD_COLUMNS = [
  'tenant_id',
  'programme_id',
  'user_id',
  'card_no',
  'design_id',
  'issued_at',
  'valid_until',
  'version',
] as const;

/** How long a card issued here is answered from memory if ClickHouse has not got its row yet. */
const RECENT_MS = 10 * 60_000;

const daysIn = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();

/**
 * The card's last valid day: the day before the same date `months` later, or the last day of that
 * month when it has no such date (the Civil Code's rule, 民法 143 条): issued 2026-04-10 for 12
 * months → 2027-04-09; 2026-01-31 for 1 month → 2026-02-28; 2026-04-01 for 12 months → 2027-03-31.
 */
export function cardValidUntil(issuedOn: string, months: number): string {
  const [y, m, d] = issuedOn.split('-').map(Number) as [number, number, number];
  const total = y * 12 + (m - 1) + months;
  const ty = Math.floor(total / 12);
  const tm = (total % 12) + 1;
  if (d > daysIn(ty, tm)) return `${ty}-${String(tm).padStart(2, '0')}-${String(daysIn(ty, tm)).padStart(2, '0')}`;
  return new Date(Date.UTC(ty, tm - 1, d) - 86_400_000).toISOString().slice(0, 10);
}

/** A UUID made from a string, for LINE's X-Line-Retry-Key (the same push gets the same key). */
export function retryKeyOf(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  const v = `4${h.slice(13, 16)}`;
  const variant = ((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16) + h.slice(17, 20);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${v}-${variant}-${h.slice(20, 32)}`;
}

export class CardService {
  #published: { at: number; design: Promise<Design | undefined> } | undefined;
  /** Cards issued by this process lately (key tenant, programme, user): their rows may not be shipped yet. */
  readonly #recent = new Map<string, { at: number; card: Card }>();

  constructor(
    private readonly deps: {
      ch: ClickHouseClient;
      guards: AwardGuards;
      tables: LogTables;
      tenants: TenantStore;
      endpoints: () => LineEndpoints;
      audit: AuditLog;
      logger?: Logger;
      residents?: () => ResidentShell | undefined;
      /** Issue dates come from here (tests set the clock). */
      now?: () => number;
      /** The https URL of a resident's card image for the card message, if the suite has one. */
      imageUrl?: (tenantId: string, programmeId: string, userId: string) => Promise<string | undefined>;
    },
  ) {}

  #now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /**
   * Issues the card if this participant has none yet (the guard's `c` flag makes it once), stores it
   * and pushes the card message; undefined when a card was issued before.
   */
  async issueOnGoal(
    tenantId: string,
    programme: Programme,
    userId: string,
    memberNo: string,
  ): Promise<Card | undefined> {
    const { guards } = this.deps;
    return guards.run(tenantId, async (epoch) => {
      const won = await guards.flag(tenantId, epoch, programme.programmeId, userId, 'c', true);
      if (won === STALE || !won) return won === STALE ? STALE : undefined;
      const now = this.#now();
      const design = await this.published();
      const card: Card = {
        cardNo: memberNo,
        designId: design?.designId ?? '',
        issuedAt: new Date(now).toISOString(),
        validUntil: cardValidUntil(tokyoToday(now), programme.cardValidMonths),
        expired: false,
      };
      const row = {
        tenant_id: tenantId,
        programme_id: programme.programmeId,
        user_id: userId,
        card_no: card.cardNo,
        design_id: card.designId,
        issued_at: chDateTime(now),
        valid_until: card.validUntil,
        version: nextVersion(),
      } satisfies Record<(typeof CARD_COLUMNS)[number], unknown>;
      try {
        await this.deps.tables.append([{ table: 'mileage_cards', rows: [row] }]);
      } catch (err) {
        await guards.flag(tenantId, epoch, programme.programmeId, userId, 'c', false).catch(() => {});
        throw logRefused(err);
      }
      this.#remember(tenantId, programme.programmeId, userId, card);
      void this.#push(tenantId, programme, userId, card, design).catch((err: unknown) =>
        this.deps.logger?.warn({ err, tenantId }, 'mileage card message not pushed'),
      );
      return card;
    });
  }

  async #push(tenantId: string, programme: Programme, userId: string, card: Card, design?: Design): Promise<void> {
    const tenant = await this.deps.tenants.require(tenantId);
    const { messaging } = lineClients(await this.deps.tenants.credentials(tenantId), this.deps.endpoints());
    const url = this.deps.residents?.()?.liffUrl(tenant, 'mileage/card');
    const imageUrl = await this.deps.imageUrl?.(tenantId, programme.programmeId, userId);
    const message = cardMessage({ tenantName: tenant.name, programme, card, design, url, imageUrl });
    const key = retryKeyOf(`mileage-card:${tenantId}:${programme.programmeId}:${userId}`);
    for (let attempt = 0; ; attempt++) {
      try {
        await messaging.pushMessage({ to: userId, messages: [message as messagingApi.Message] }, key);
        return;
      } catch (err) {
        // 409: LINE accepted this retry key before (delivered once)
        if ((err as { status?: number }).status === 409) return;
        if (attempt >= 3) throw err;
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
      }
    }
  }

  #remember(tenantId: string, programmeId: string, userId: string, card: Card): void {
    const t = Date.now();
    if (this.#recent.size >= 10_000) {
      for (const [k, v] of this.#recent) if (t - v.at > RECENT_MS) this.#recent.delete(k);
      if (this.#recent.size >= 10_000) this.#recent.clear();
    }
    this.#recent.set(`${tenantId}\u0000${programmeId}\u0000${userId}`, { at: t, card });
  }

  /** The participant's card, with whether it has expired (Tokyo day). */
  async card(tenantId: string, programmeId: string, userId: string): Promise<Card | null> {
    const [row] = await query(
      this.deps.ch,
      'mileage.card',
      { tenant: tenantId, programme: programmeId, user: userId },
      cardRow,
    );
    if (!row) {
      // issued here a moment ago: its row is in the event log, not yet in ClickHouse
      const key = `${tenantId}\u0000${programmeId}\u0000${userId}`;
      const recent = this.#recent.get(key);
      if (!recent) return null;
      if (Date.now() - recent.at > RECENT_MS) {
        this.#recent.delete(key);
        return null;
      }
      return { ...recent.card, expired: tokyoToday(this.#now()) > recent.card.validUntil };
    }
    return {
      cardNo: row.card_no,
      designId: row.design_id,
      issuedAt: new Date(row.issued_ms).toISOString(),
      validUntil: row.valid_until,
      expired: tokyoToday(this.#now()) > row.valid_until,
    };
  }

  // ---------------------------------------------------------------- designs

  async designs(): Promise<Design[]> {
    return (await query(this.deps.ch, 'mileage.designs', { design: '', with_image: 0 }, designRow)).map(toDesign);
  }

  async design(designId: string): Promise<Design> {
    const [row] = await query(this.deps.ch, 'mileage.designs', { design: designId, with_image: 0 }, designRow);
    if (!row) throw new AppError('design_not_found', 'カードのデザインが見つかりません', 404);
    return toDesign(row);
  }

  /** The design's artwork (for the preview and the card page), or undefined when it has none. */
  async image(designId: string): Promise<{ type: string; bytes: Buffer } | undefined> {
    const [row] = await query(this.deps.ch, 'mileage.designs', { design: designId, with_image: 1 }, designRow);
    if (!row) throw new AppError('design_not_found', 'カードのデザインが見つかりません', 404);
    return row.image_base64 ? { type: row.image_type, bytes: Buffer.from(row.image_base64, 'base64') } : undefined;
  }

  /** The design in use: the newest published (cached a few seconds). */
  published(): Promise<Design | undefined> {
    if (this.#published && Date.now() - this.#published.at < 5_000) return this.#published.design;
    const design = this.designs().then(
      (all) =>
        all
          .filter((d) => d.status === 'published')
          .sort((a, b) => (b.publishedAt ?? '').localeCompare(a.publishedAt ?? ''))[0],
    );
    design.catch(() => (this.#published = undefined));
    this.#published = { at: Date.now(), design };
    return design;
  }

  async createDesign(body: unknown, ctx: AuditContext): Promise<Design> {
    requireDesign(ctx.actor);
    const input = parseInput(designInputSchema, body);
    const image = input.image ? checkCardImage(input.image) : undefined;
    const id = randomUUID();
    await this.deps.audit.by(ctx, {
      action: 'mileage_design_created',
      target: id,
      detail: { name: input.name, title: input.title, image: image ? `${image.width}x${image.height}` : null },
    });
    await this.#writeDesign({
      design_id: id,
      name: input.name,
      title: input.title,
      note: input.note,
      colour: input.colour,
      image_png: image ? image.bytes.toString('base64') : '',
      image_type: image?.type ?? 'image/png',
      image_sha256: image ? createHash('sha256').update(image.bytes).digest('hex') : '',
      status: 'draft',
      created_by: actorName(ctx.actor),
      created_at: chDateTime(Date.now()),
      published_at: null,
    });
    return this.design(id);
  }

  /** A draft's new contents (a published design is never changed: make a new draft). */
  async updateDesign(designId: string, body: unknown, ctx: AuditContext): Promise<Design> {
    requireDesign(ctx.actor);
    const [old] = await query(this.deps.ch, 'mileage.designs', { design: designId, with_image: 1 }, designRow);
    if (!old) throw new AppError('design_not_found', 'カードのデザインが見つかりません', 404);
    if (old.status !== 'draft') {
      throw new AppError('design_published', '公開済みのデザインは変更できません。新しい下書きを作成してください', 409);
    }
    const input = parseInput(designInputSchema, { ...toDesign(old), image: undefined, ...(body as object) });
    const image = input.image ? checkCardImage(input.image) : undefined;
    await this.deps.audit.by(ctx, {
      action: 'mileage_design_changed',
      target: designId,
      detail: { name: input.name, title: input.title, image: image ? `${image.width}x${image.height}` : 'unchanged' },
    });
    await this.#writeDesign({
      design_id: designId,
      name: input.name,
      title: input.title,
      note: input.note,
      colour: input.colour,
      image_png: image ? image.bytes.toString('base64') : old.image_base64,
      image_type: image?.type ?? old.image_type,
      image_sha256: image ? createHash('sha256').update(image.bytes).digest('hex') : old.image_sha256,
      status: 'draft',
      created_by: old.created_by,
      created_at: chDateTime(old.created_ms),
      published_at: null,
    });
    return this.design(designId);
  }

  async publishDesign(designId: string, ctx: AuditContext): Promise<Design> {
    requireDesign(ctx.actor);
    const [old] = await query(this.deps.ch, 'mileage.designs', { design: designId, with_image: 1 }, designRow);
    if (!old) throw new AppError('design_not_found', 'カードのデザインが見つかりません', 404);
    await this.deps.audit.by(ctx, { action: 'mileage_design_published', target: designId, detail: { name: old.name } });
    await this.#writeDesign({
      design_id: designId,
      name: old.name,
      title: old.title,
      note: old.note,
      colour: old.colour,
      image_png: old.image_base64,
      image_type: old.image_type,
      image_sha256: old.image_sha256,
      status: 'published',
      created_by: old.created_by,
      created_at: chDateTime(old.created_ms),
      published_at: chDateTime(Date.now()),
    });
    this.#published = undefined;
    return this.design(designId);
  }

  async #writeDesign(row: Record<string, unknown>): Promise<void> {
    await this.deps.ch.insert({
      table: 'mileage_card_designs',
      values: [{ ...row, version: nextVersion(), is_deleted: 0 }],
      format: 'JSONEachRow',
    });
  }
}

function toDesign(r: DesignRow): Design {
  return {
    designId: r.design_id,
    name: r.name,
    title: r.title,
    note: r.note,
    colour: r.colour,
    hasImage: r.image_sha256 !== '',
    imageType: r.image_type,
    status: r.status,
    createdBy: r.created_by,
    createdAt: new Date(r.created_ms).toISOString(),
    publishedAt: r.published_ms ? new Date(r.published_ms).toISOString() : null,
  };
}
