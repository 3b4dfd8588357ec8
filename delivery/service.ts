/** Compose, validate, schedule, send, cancel, test-send, count: what the API calls. */
import { HTTPFetchError } from '@line/bot-sdk';
import { AuditLog, type AuditAction, type AuditContext } from '../core/audit.ts';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import { lineClients, type LineEndpoints } from '../core/line.ts';
import type { TenantStore } from '../core/tenants.ts';
import { z } from '../core/zod.ts';
import { audienceLabel, audienceSchema, compileCondition, skippedOf, type Audience } from './audience.ts';
import type { FanOut } from './fan-out.ts';
import { aggregationUnitOf, newDeliveryId } from './ids.ts';
import {
  japaneseLineMessage,
  lineFieldPath,
  messagesSchema,
  type DeliveryMessage,
  type FieldError,
} from './messages.ts';
import type { DeliveryRecord, DeliveryStore, SendMethod } from './store.ts';

/** 'YYYY-MM-DDTHH:mm[:ss]' without an offset is Asia/Tokyo; an ISO time with an offset is taken as is. */
export function parseTokyoTime(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s.trim());
  if (m) return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]! - 9, +m[5]!, +(m[6] ?? 0));
  if (!/([+-]\d{2}:?\d{2}|Z)$/.test(s.trim())) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

const scheduledAtSchema = z
  .string({ error: '配信日時は文字列 (例: 2026-06-01T09:00) で指定してください' })
  .refine((s) => parseTokyoTime(s) !== undefined, '配信日時の形式が正しくありません (例: 2026-06-01T09:00、日本時間)');

export const deliveryInputSchema = z.object({
  title: z
    .string({ error: '件名を入力してください' })
    .trim()
    .min(1, '件名を入力してください')
    .max(100, '件名は 100 文字以内です'),
  messages: messagesSchema,
  audience: audienceSchema.default({ type: 'all' }),
  notificationDisabled: z.boolean({ error: '通知の有無は true か false です' }).default(false),
  scheduledAt: scheduledAtSchema.optional(),
  /** draft: save only; now: send now; schedule: at scheduledAt (default: schedule when scheduledAt is given, else draft). */
  send: z.enum(['draft', 'now', 'schedule'], { message: 'send は draft・now・schedule のいずれかです' }).optional(),
  /** Wrap links in text messages in Tayori's redirect (/r/<token>) to count clicks. */
  trackClicks: z.boolean({ error: 'trackClicks は true か false です' }).default(false),
  /** Count clicks per group of the audience: gender, age (birth decade) or residence. */
  clickBucket: z
    .enum(['', 'gender', 'age', 'residence'], { message: 'clickBucket は gender・age・residence のいずれかです' })
    .default(''),
  /** How it goes out; default: broadcast for all friends, multicast for a segment. */
  sendMethod: z
    .enum(['broadcast', 'multicast'], { message: 'sendMethod は broadcast (一斉配信) か multicast (500 人ずつ) です' })
    .optional(),
});

/** delivery.audience_count_*: count() is a UInt64, bare from chDB and quoted from a server. */
const countRow = z.object({ n: z.coerce.number() });

const URL_IN_TEXT = /https?:\/\/[^\s<>"]+/g;

/** Replaces the URLs of text messages with {{link:N}} placeholders; returns the links in order. */
export function extractLinks(messages: DeliveryMessage[]): { messages: DeliveryMessage[]; links: string[] } {
  const links: string[] = [];
  const out = messages.map((m) => {
    if (m.type !== 'text') return m;
    return {
      ...m,
      text: m.text.replace(URL_IN_TEXT, (u) => {
        let n = links.indexOf(u);
        if (n < 0) n = links.push(u) - 1;
        return `{{link:${n}}}`;
      }),
    };
  });
  return { messages: out, links };
}
/** The messages as staff wrote them: each {{link:N}} placeholder back to links[N]. */
export function restoreLinks(messages: DeliveryMessage[], links: readonly string[]): DeliveryMessage[] {
  return messages.map((m) =>
    m.type !== 'text'
      ? m
      : { ...m, text: m.text.replace(/\{\{link:(\d+)\}\}/g, (_, n: string) => links[Number(n)] ?? '') },
  );
}
export type DeliveryInput = z.input<typeof deliveryInputSchema>;

export const testSendSchema = z.object({
  title: z.string().trim().max(100, '件名は 100 文字以内です').default('テスト配信'),
  messages: messagesSchema,
  notificationDisabled: z.boolean().default(false),
});

export const scheduleSchema = z.object({ scheduledAt: scheduledAtSchema });

export interface ServiceDeps {
  ch: ClickHouseClient;
  tenants: TenantStore;
  endpoints: () => LineEndpoints;
  store: DeliveryStore;
  fanOut: FanOut;
  /** Where residents' clicks on tracked links arrive (the suite's public URL). */
  publicUrl?: () => string | undefined;
  /** The audit log (default: audit_log in the same ClickHouse). */
  audit?: AuditLog;
}

function invalid(errors: FieldError[], code = 'invalid_delivery'): AppError {
  return new AppError(
    code,
    `入力内容に誤りがあります: ${errors.map((e) => `${e.field || '(全体)'} — ${e.message}`).join(' / ')}`,
    400,
    errors,
  );
}

function zodFieldErrors(e: z.ZodError): FieldError[] {
  return e.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
}

export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, code = 'invalid_delivery'): z.infer<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw invalid(zodFieldErrors(r.error), code);
  return r.data;
}

/** What a record's status means for the audit log when it leaves (or will leave) for residents; a draft is only saved. */
function sendAction(status: DeliveryRecord['status']): AuditAction | undefined {
  return status === 'queued' ? 'send' : status === 'scheduled' ? 'send_scheduled' : undefined;
}

/**
 * Every send, schedule, cancel and test-send is audited here, by the caller the route hands in
 * (`by`), before the delivery is queued: when the audit record cannot be written, nothing is queued
 * and the caller gets 503 `audit_unavailable`.
 */
export class DeliveryService {
  readonly audit: AuditLog;
  constructor(private readonly d: ServiceDeps) {
    this.audit = d.audit ?? new AuditLog(d.ch);
  }

  async #audit(by: AuditContext, action: AuditAction, r: DeliveryRecord, extra: Record<string, unknown> = {}) {
    await this.audit.by(by, {
      action,
      tenantId: r.tenantId,
      target: r.id,
      detail: {
        title: r.title.slice(0, 100),
        audience: r.audience.type,
        ...(r.audience.type === 'users' ? { recipients: r.audience.userIds.length } : {}),
        sendMethod: r.sendMethod,
        ...(r.scheduledAt ? { scheduledAt: new Date(r.scheduledAt).toISOString() } : {}),
        ...extra,
      },
    });
  }

  /** Checks messages with LINE's validate endpoint; its details come back per field, in Japanese. */
  async validateWithLine(tenantId: string, messages: DeliveryMessage[]): Promise<void> {
    const creds = await this.d.tenants.credentials(tenantId);
    const { messaging } = lineClients(creds, this.d.endpoints());
    try {
      await messaging.validateMulticast({ messages: messages as never });
    } catch (err) {
      if (err instanceof HTTPFetchError && err.status === 400) {
        let body: { message?: string; details?: Array<{ message?: string; property?: string }> } = {};
        try {
          body = JSON.parse(err.body ?? '{}');
        } catch {
          /* not JSON */
        }
        const errors = (body.details ?? []).map((x) => ({
          field: lineFieldPath(x.property ?? 'messages'),
          message: japaneseLineMessage(x.message ?? ''),
        }));
        throw invalid(
          errors.length ? errors : [{ field: 'messages', message: japaneseLineMessage(body.message ?? 'invalid') }],
          'invalid_messages',
        );
      }
      if (err instanceof HTTPFetchError)
        throw new AppError('line_validate_failed', `LINE の検証 API がエラーを返しました (${err.status})`, 502);
      throw new AppError('line_unreachable', `LINE の検証 API に接続できません: ${(err as Error).message}`, 503);
    }
  }

  /** Our checks, then LINE's; returns the parsed input. */
  async validate(
    tenantId: string,
    input: unknown,
  ): Promise<z.infer<typeof deliveryInputSchema> & { sendMethod: SendMethod; at?: number }> {
    await this.d.tenants.require(tenantId);
    const parsed = parseOrThrow(deliveryInputSchema, input);
    let at: number | undefined;
    if (parsed.scheduledAt !== undefined) {
      at = parseTokyoTime(parsed.scheduledAt)!;
      if (at <= Date.now())
        throw invalid([{ field: 'scheduledAt', message: '配信日時は現在より後の日時を指定してください' }]);
    }
    if (parsed.trackClicks && !this.d.publicUrl?.())
      throw invalid([{ field: 'trackClicks', message: 'TAYORI_PUBLIC_URL が未設定のため、クリック計測は使えません' }]);
    if (parsed.clickBucket && !parsed.trackClicks)
      throw invalid([{ field: 'clickBucket', message: '属性別のクリック集計には trackClicks: true が必要です' }]);
    if (parsed.send === 'schedule' && at === undefined)
      throw invalid([{ field: 'scheduledAt', message: '予約配信には配信日時を指定してください' }]);
    const sendMethod = parsed.sendMethod ?? (parsed.audience.type === 'all' ? 'broadcast' : 'multicast');
    if (sendMethod === 'broadcast' && parsed.audience.type !== 'all') {
      throw invalid([
        { field: 'sendMethod', message: '一斉配信 (broadcast) は配信対象が「すべての友だち」のときだけ使えます' },
      ]);
    }
    if (sendMethod === 'broadcast' && parsed.clickBucket) {
      throw invalid([
        {
          field: 'clickBucket',
          message: '属性別のクリック集計は multicast でのみ使えます (一斉配信では全員が同じリンクを受け取ります)',
        },
      ]);
    }
    if (parsed.audience.type === 'segment') compileCondition(parsed.audience.condition);
    await this.validateWithLine(tenantId, parsed.messages);
    return { ...parsed, sendMethod, at };
  }

  /**
   * A new delivery (a draft, sent now or scheduled). `opts.audit`: what the calling feature adds to
   * the audit record (cards: which push it was), beside the delivery's own details.
   */
  async create(
    tenantId: string,
    input: unknown,
    by: AuditContext,
    opts: { audit?: Record<string, unknown> } = {},
  ): Promise<DeliveryRecord> {
    const v = await this.validate(tenantId, input);
    const now = Date.now();
    const id = newDeliveryId(now);
    const record = this.#record(tenantId, id, v, now, now);
    await this.#audit(by, sendAction(record.status) ?? 'delivery_saved', record, opts.audit);
    await this.d.store.put(record);
    await this.d.fanOut.state.setState(id, record.status);
    await this.#start(record, now);
    return record;
  }

  /**
   * Replaces a draft with new contents (same id), kept as a draft, sent now or scheduled. Only a
   * draft can change this way: once it is scheduled or sent, reschedule or cancel it instead.
   */
  async update(tenantId: string, id: string, input: unknown, by: AuditContext): Promise<DeliveryRecord> {
    const d = await this.d.store.require(tenantId, id);
    if (d.status !== 'draft') throw notEditable(d);
    const v = await this.validate(tenantId, input);
    const now = Date.now();
    const record = { ...this.#record(tenantId, id, v, d.createdAt, now), aggregationUnit: d.aggregationUnit };
    // a send of this draft racing the edit: only one of them moves it on
    const [moved] = await this.d.fanOut.state.cas(id, record.status, ['', 'draft']);
    if (!moved) throw notEditable({ ...d, status: (await this.d.store.require(tenantId, id)).status });
    try {
      await this.#audit(by, sendAction(record.status) ?? 'delivery_saved', record);
      await this.d.store.put(record);
    } catch (err) {
      // nothing half-done: the draft stays a draft
      await this.d.fanOut.state.setState(id, 'draft');
      throw err;
    }
    await this.#start(record, now);
    return record;
  }

  #record(
    tenantId: string,
    id: string,
    v: Awaited<ReturnType<DeliveryService['validate']>>,
    createdAt: number,
    now: number,
  ): DeliveryRecord {
    const mode = v.send ?? (v.at !== undefined ? 'schedule' : 'draft');
    const tracked = v.trackClicks ? extractLinks(v.messages) : { messages: v.messages, links: [] };
    return {
      tenantId,
      id,
      kind: 'normal',
      title: v.title,
      messages: tracked.messages,
      links: tracked.links,
      clickBucket: tracked.links.length ? v.clickBucket : '',
      audience: v.audience,
      audienceLabel: audienceLabel(v.audience),
      sendMethod: v.sendMethod,
      notificationDisabled: v.notificationDisabled,
      aggregationUnit: aggregationUnitOf(id),
      requestId: '',
      status: mode === 'now' ? 'queued' : mode === 'schedule' ? 'scheduled' : 'draft',
      scheduledAt: v.at ?? null,
      startedAt: null,
      finishedAt: null,
      targets: 0,
      skipped: 0,
      batches: 0,
      accepted: 0,
      failed: 0,
      error: '',
      createdAt,
      updatedAt: now,
    };
  }

  /** The audit record of a state change already claimed in Redis; on failure the claim is given back. */
  async #auditOrRevert(
    by: AuditContext,
    action: AuditAction,
    next: DeliveryRecord,
    id: string,
    claimed: DeliveryRecord['status'],
    previous: DeliveryRecord['status'],
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    try {
      await this.#audit(by, action, next, extra);
    } catch (err) {
      await this.d.fanOut.state.cas(id, previous, [claimed]);
      throw err;
    }
  }

  async #start(record: DeliveryRecord, now: number): Promise<void> {
    if (record.status === 'queued') await this.d.fanOut.enqueueStart(record.tenantId, record.id, 0);
    if (record.status === 'scheduled')
      await this.d.fanOut.enqueueStart(record.tenantId, record.id, record.scheduledAt! - now);
  }

  async sendNow(tenantId: string, id: string, by: AuditContext): Promise<DeliveryRecord> {
    const d = await this.d.store.require(tenantId, id);
    if (d.status !== 'draft' && d.status !== 'scheduled') throw notChangeable(d);
    const [moved] = await this.d.fanOut.state.cas(id, 'queued', ['', 'draft', 'scheduled']);
    if (!moved) throw notChangeable(d);
    const next = { ...d, status: 'queued' as const, scheduledAt: null, updatedAt: Date.now() };
    await this.#auditOrRevert(by, 'send', next, id, 'queued', d.status);
    await this.d.fanOut.removeStart(id);
    await this.d.store.put(next);
    await this.d.fanOut.enqueueStart(tenantId, id, 0);
    return next;
  }

  async schedule(tenantId: string, id: string, input: unknown, by: AuditContext): Promise<DeliveryRecord> {
    const { scheduledAt } = parseOrThrow(scheduleSchema, input);
    const at = parseTokyoTime(scheduledAt)!;
    if (at <= Date.now())
      throw invalid([{ field: 'scheduledAt', message: '配信日時は現在より後の日時を指定してください' }]);
    const d = await this.d.store.require(tenantId, id);
    if (d.status !== 'draft' && d.status !== 'scheduled') throw notChangeable(d);
    const [moved] = await this.d.fanOut.state.cas(id, 'scheduled', ['', 'draft', 'scheduled']);
    if (!moved) throw notChangeable(d);
    const next = { ...d, status: 'scheduled' as const, scheduledAt: at, updatedAt: Date.now() };
    await this.#auditOrRevert(by, 'send_scheduled', next, id, 'scheduled', d.status, {
      ...(d.status === 'scheduled' && d.scheduledAt ? { rescheduledFrom: new Date(d.scheduledAt).toISOString() } : {}),
    });
    await this.d.store.put(next);
    await this.d.fanOut.removeStart(id);
    await this.d.fanOut.enqueueStart(tenantId, id, at - Date.now());
    return next;
  }

  /** Audited first: stopping a send is never undone because its record could not be written. */
  async cancel(tenantId: string, id: string, by: AuditContext): Promise<DeliveryRecord> {
    const d = await this.d.store.require(tenantId, id);
    if (!['draft', 'scheduled', 'queued'].includes(d.status)) throw notChangeable(d);
    await this.#audit(by, 'send_cancelled', d, { from: d.status });
    const [moved] = await this.d.fanOut.state.cas(id, 'cancelled', ['', 'draft', 'scheduled', 'queued']);
    if (!moved) throw new AppError('delivery_started', '配信はすでに開始されているため取り消せません', 409);
    await this.d.fanOut.removeStart(id);
    const next = { ...d, status: 'cancelled' as const, updatedAt: Date.now() };
    await this.d.store.put(next);
    return next;
  }

  async testSend(tenantId: string, input: unknown, by: AuditContext): Promise<DeliveryRecord> {
    await this.d.tenants.require(tenantId);
    const v = parseOrThrow(testSendSchema, input);
    const devices = await this.d.store.testDevices(tenantId);
    if (devices.length === 0)
      throw new AppError('no_test_devices', 'テスト端末が登録されていません。先にテスト端末を登録してください', 400);
    await this.validateWithLine(tenantId, v.messages);
    const now = Date.now();
    const id = newDeliveryId(now);
    const audience: Audience = { type: 'test' };
    const record: DeliveryRecord = {
      tenantId,
      id,
      kind: 'test',
      title: v.title,
      messages: v.messages,
      links: [],
      clickBucket: '',
      audience,
      audienceLabel: audienceLabel(audience),
      sendMethod: 'multicast',
      notificationDisabled: v.notificationDisabled,
      aggregationUnit: aggregationUnitOf(id),
      requestId: '',
      status: 'queued',
      scheduledAt: null,
      startedAt: null,
      finishedAt: null,
      targets: 0,
      skipped: 0,
      batches: 0,
      accepted: 0,
      failed: 0,
      error: '',
      createdAt: now,
      updatedAt: now,
    };
    await this.#audit(by, 'test_send', record, { devices: devices.length });
    await this.d.store.put(record);
    await this.d.fanOut.state.setState(id, 'queued');
    await this.d.fanOut.enqueueStart(tenantId, id, 0);
    return record;
  }

  /**
   * How many residents the audience reaches now (friends only; blocked residents never count), and
   * for a list of users how many of those named it would skip.
   */
  /** Erasure: the deliveries to named residents under `label` lose their user ids (DeliveryStore.forgetNamedAudiences). */
  forgetNamedAudiences(tenantId: string, label: string): Promise<number> {
    return this.d.store.forgetNamedAudiences(tenantId, label);
  }

  async count(tenantId: string, input: unknown): Promise<{ count: number; skipped: number; audienceLabel: string }> {
    await this.d.tenants.require(tenantId);
    const audience = parseOrThrow(z.object({ audience: audienceSchema }), input, 'invalid_audience').audience;
    const label = audienceLabel(audience);
    if (audience.type === 'test')
      return { count: (await this.d.store.testDevices(tenantId)).length, skipped: 0, audienceLabel: label };
    let rows: Array<{ n: number }>;
    if (audience.type === 'all')
      rows = await query(this.d.ch, 'delivery.audience_count_all', { tenant: tenantId }, countRow);
    else if (audience.type === 'users')
      rows = await query(
        this.d.ch,
        'delivery.audience_count_users',
        { tenant: tenantId, ids: audience.userIds },
        countRow,
      );
    else {
      const c = compileCondition(audience.condition);
      rows = await query(this.d.ch, 'delivery.audience_count_segment', { tenant: tenantId, ...c.params }, countRow, {
        segment: c.sql,
      });
    }
    const count = rows[0]?.n ?? 0;
    return { count, skipped: skippedOf(audience, count), audienceLabel: label };
  }

  /** The record, with live counts from Redis while it runs. */
  async get(tenantId: string, id: string): Promise<DeliveryRecord & { progress: Record<string, unknown> | null }> {
    const d = await this.d.store.require(tenantId, id);
    const p = await this.d.fanOut.state.progress(id);
    if (p && (d.status === 'queued' || d.status === 'sending')) {
      return {
        ...d,
        targets: p.targets,
        skipped: p.enumerated ? skippedOf(d.audience, p.targets) : d.skipped,
        batches: p.enumerated ? p.batches : p.enqueued,
        accepted: p.accepted,
        failed: p.failed,
        progress: {
          state: p.state,
          enumerated: p.enumerated,
          batchesQueued: p.enqueued,
          batchesSettled: p.settled,
          batchesAccepted: p.acceptedBatches,
          batchesFailed: p.failedBatches,
        },
      };
    }
    return { ...d, progress: null };
  }
}

/** What a delivery's status is called on the pages and in messages. */
const STATUS_LABEL: Record<string, string> = {
  queued: '送信待ち',
  sending: '送信中',
  done: '送信済み',
  failed: '失敗',
  cancelled: '取り消し済み',
  draft: '下書き',
  scheduled: '予約済み',
};

function notEditable(d: Pick<DeliveryRecord, 'status'>): AppError {
  return new AppError(
    'delivery_not_editable',
    `内容を変えられるのは下書きだけです (この配信は${STATUS_LABEL[d.status] ?? d.status})。予約済みの配信は取り消してから作り直してください`,
    409,
  );
}

function notChangeable(d: DeliveryRecord): AppError {
  return new AppError(
    'delivery_not_changeable',
    `この配信は${STATUS_LABEL[d.status] ?? d.status}のため変更できません`,
    409,
  );
}
