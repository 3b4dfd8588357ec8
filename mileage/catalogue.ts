/**
 * Programmes, their activities and event sessions: versioned rows (a change appends a version,
 * readers use FINAL), audited in the call that makes the change. What awards need (the tenant's
 * programmes, activities and sessions) is cached in memory per tenant for a few seconds and
 * dropped on every change made here.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../core/auth.ts';
import type { AuditContext, AuditLog } from '../core/audit.ts';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import { chDateTime, nextVersion } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { actorName, requireManage, requireRead } from './access.ts';
import {
  type Activity,
  activityInputSchema,
  activityPatchSchema,
  type Programme,
  programmeInputSchema,
  type Session,
  sessionInputSchema,
  sessionPatchSchema,
} from './schemas.ts';
import { parseInput } from './validate.ts';

const programmeRow = z.object({
  tenant_id: z.string(),
  programme_id: z.string(),
  fiscal_year: z.coerce.number(),
  name: z.string(),
  description: z.string(),
  starts_on: z.string(),
  ends_on: z.string(),
  goal_points: z.coerce.number(),
  card_valid_months: z.coerce.number(),
  created_by: z.string(),
  created_ms: z.coerce.number(),
  updated_by: z.string(),
  updated_ms: z.coerce.number(),
  version: z.coerce.number(),
});
type ProgrammeRow = z.infer<typeof programmeRow>;

const activityRow = z.object({
  tenant_id: z.string(),
  programme_id: z.string(),
  activity_id: z.string(),
  name: z.string(),
  points: z.coerce.number(),
  method: z.enum(['qr', 'self_report', 'grant']),
  self_report_label: z.string(),
  daily_cap: z.coerce.number(),
  period_cap: z.coerce.number(),
  sort: z.coerce.number(),
  retired: z.coerce.number(),
  updated_by: z.string(),
  updated_ms: z.coerce.number(),
  version: z.coerce.number(),
});

const sessionRow = z.object({
  tenant_id: z.string(),
  session_id: z.string(),
  programme_id: z.string(),
  activity_id: z.string(),
  title: z.string(),
  held_on: z.string(),
  place: z.string(),
  valid_from_ms: z.coerce.number(),
  valid_until_ms: z.coerce.number(),
  created_by: z.string(),
  created_ms: z.coerce.number(),
  version: z.coerce.number(),
});
type SessionRow = z.infer<typeof sessionRow>;
const countRow = z.object({ n: z.coerce.number() });

/** A tenant's programmes (with activities) and sessions, as awards read them. */
export interface TenantCatalogue {
  programmes: Programme[];
  sessions: Map<string, Session>;
}

const CACHE_MS = 5_000;

interface CacheEntry {
  at: number;
  data: Promise<TenantCatalogue>;
  /** The last answer read (kept while a fresh one is read). */
  ready?: TenantCatalogue;
}

export class Catalogue {
  readonly #cache = new Map<string, CacheEntry>();

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly audit: AuditLog,
    /** Resolves once the awards acknowledged so far are in ClickHouse (the event log shipped). */
    private readonly shipped: () => Promise<void> = async () => {},
  ) {}

  /**
   * The tenant's programmes and sessions (cached a few seconds; changes made here drop the cache).
   * Past the few seconds, the last answer is still given while a fresh one is read (a crowd of
   * awards never waits on that read); changes made here drop it at once.
   */
  tenant(tenantId: string): Promise<TenantCatalogue> {
    const hit = this.#cache.get(tenantId);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.ready ? Promise.resolve(hit.ready) : hit.data;
    const data = this.#load(tenantId);
    // stale but read before: that answer until the fresh one is in
    const entry: CacheEntry = { at: Date.now(), data, ready: hit?.ready };
    data.then(
      (v) => {
        entry.ready = v;
      },
      () => {
        if (this.#cache.get(tenantId) === entry) this.#cache.delete(tenantId);
      },
    );
    this.#cache.set(tenantId, entry);
    return entry.ready ? Promise.resolve(entry.ready) : data;
  }

  /** Called after a change drops a tenant's cache (the suite prepares the award path again). */
  onChange?: (tenantId: string) => void;

  invalidate(tenantId: string): void {
    this.#cache.delete(tenantId);
    this.onChange?.(tenantId);
  }

  async #load(tenantId: string): Promise<TenantCatalogue> {
    const [programmes, activities, sessions] = await Promise.all([
      query(this.ch, 'mileage.programmes', { tenant: tenantId }, programmeRow),
      query(this.ch, 'mileage.activities', { tenant: tenantId, programme: '' }, activityRow),
      query(this.ch, 'mileage.sessions', { tenant: tenantId, programme: '' }, sessionRow),
    ]);
    const byProgramme = new Map<string, Activity[]>();
    for (const a of activities) {
      const list = byProgramme.get(a.programme_id) ?? [];
      list.push({
        activityId: a.activity_id,
        programmeId: a.programme_id,
        name: a.name,
        points: a.points,
        method: a.method,
        selfReportLabel: a.self_report_label,
        dailyCap: a.daily_cap,
        periodCap: a.period_cap,
        sort: a.sort,
        retired: a.retired === 1,
      });
      byProgramme.set(a.programme_id, list);
    }
    return {
      programmes: programmes.map((p) => toProgramme(p, byProgramme.get(p.programme_id) ?? [])),
      sessions: new Map(sessions.map((s) => [s.session_id, toSession(s)])),
    };
  }

  /** Every programme of the tenants given, for a caller who may see them. */
  async list(who: Principal, tenantId: string): Promise<Programme[]> {
    requireRead(who, tenantId);
    return (await this.tenant(tenantId)).programmes;
  }

  async programme(tenantId: string, programmeId: string): Promise<Programme> {
    const p = (await this.tenant(tenantId)).programmes.find((x) => x.programmeId === programmeId);
    if (!p) throw new AppError('programme_not_found', 'マイレージ事業が見つかりません', 404);
    return p;
  }

  /** The programme whose period includes the Tokyo day (the latest to start, if periods touch). */
  async current(tenantId: string, day: string): Promise<Programme | undefined> {
    const list = (await this.tenant(tenantId)).programmes.filter((p) => p.startsOn <= day && day <= p.endsOn);
    return list.sort((a, b) => b.startsOn.localeCompare(a.startsOn))[0];
  }

  /** The programme a resident sees: the current one, else the latest that has started, else the next. */
  async forResident(tenantId: string, day: string): Promise<Programme | undefined> {
    const all = (await this.tenant(tenantId)).programmes;
    return (
      (await this.current(tenantId, day)) ??
      [...all].filter((p) => p.startsOn <= day).sort((a, b) => b.endsOn.localeCompare(a.endsOn))[0] ??
      [...all].sort((a, b) => a.startsOn.localeCompare(b.startsOn))[0]
    );
  }

  async createProgramme(tenantId: string, body: unknown, ctx: AuditContext): Promise<Programme> {
    requireManage(ctx.actor, tenantId);
    const input = parseInput(programmeInputSchema, body);
    await this.#refuseOverlap(tenantId, '', input.startsOn, input.endsOn);
    const id = randomUUID();
    const now = Date.now();
    const actor = actorName(ctx.actor);
    const row = {
      tenant_id: tenantId,
      programme_id: id,
      fiscal_year: input.fiscalYear,
      name: input.name,
      description: input.description,
      starts_on: input.startsOn,
      ends_on: input.endsOn,
      goal_points: input.goalPoints,
      card_valid_months: input.cardValidMonths,
      created_by: actor,
      created_at: chDateTime(now),
      updated_by: actor,
      updated_at: chDateTime(now),
      version: nextVersion(),
      is_deleted: 0,
    };
    await this.audit.by(ctx, {
      action: 'mileage_programme_created',
      tenantId,
      target: id,
      detail: { name: input.name, fiscalYear: input.fiscalYear, goalPoints: input.goalPoints },
    });
    await this.ch.insert({ table: 'mileage_programmes', values: [row], format: 'JSONEachRow' });
    this.invalidate(tenantId);
    return this.programme(tenantId, id);
  }

  async updateProgramme(tenantId: string, programmeId: string, body: unknown, ctx: AuditContext): Promise<Programme> {
    requireManage(ctx.actor, tenantId);
    const old = await this.programme(tenantId, programmeId);
    const merged = parseInput(programmeInputSchema, {
      fiscalYear: old.fiscalYear,
      name: old.name,
      description: old.description,
      startsOn: old.startsOn,
      endsOn: old.endsOn,
      goalPoints: old.goalPoints,
      cardValidMonths: old.cardValidMonths,
      ...(typeof body === 'object' && body ? body : {}),
    });
    await this.#refuseOverlap(tenantId, programmeId, merged.startsOn, merged.endsOn);
    const now = Date.now();
    await this.audit.by(ctx, {
      action: 'mileage_programme_changed',
      tenantId,
      target: programmeId,
      detail: { before: pick(old), after: merged },
    });
    await this.ch.insert({
      table: 'mileage_programmes',
      values: [
        {
          tenant_id: tenantId,
          programme_id: programmeId,
          fiscal_year: merged.fiscalYear,
          name: merged.name,
          description: merged.description,
          starts_on: merged.startsOn,
          ends_on: merged.endsOn,
          goal_points: merged.goalPoints,
          card_valid_months: merged.cardValidMonths,
          created_by: old.createdBy,
          created_at: chDateTime(Date.parse(old.createdAt)),
          updated_by: actorName(ctx.actor),
          updated_at: chDateTime(now),
          version: nextVersion(),
          is_deleted: 0,
        },
      ],
      format: 'JSONEachRow',
    });
    this.invalidate(tenantId);
    return this.programme(tenantId, programmeId);
  }

  async #refuseOverlap(tenantId: string, self: string, startsOn: string, endsOn: string): Promise<void> {
    this.invalidate(tenantId);
    const clash = (await this.tenant(tenantId)).programmes.find(
      (p) => p.programmeId !== self && p.startsOn <= endsOn && startsOn <= p.endsOn,
    );
    if (clash) {
      throw new AppError(
        'programme_overlap',
        `期間が「${clash.name}」(${clash.startsOn}〜${clash.endsOn}) と重なっています。1 つの市町で同じ日に実施できる事業は 1 つです`,
        409,
      );
    }
  }

  async addActivity(tenantId: string, programmeId: string, body: unknown, ctx: AuditContext): Promise<Activity> {
    requireManage(ctx.actor, tenantId);
    const programme = await this.programme(tenantId, programmeId);
    const input = parseInput(activityInputSchema, body);
    const last = Math.max(0, ...programme.activities.map((x) => x.sort));
    const a: Activity = {
      activityId: randomUUID(),
      programmeId,
      name: input.name,
      points: input.points,
      method: input.method,
      selfReportLabel: input.selfReportLabel,
      dailyCap: input.dailyCap,
      periodCap: input.periodCap,
      sort: input.sort ?? (programme.activities.length ? last + 1 : 0),
      retired: false,
    };
    await this.audit.by(ctx, {
      action: 'mileage_activity_added',
      tenantId,
      target: a.activityId,
      detail: { programmeId, ...input },
    });
    await this.#writeActivity(tenantId, a, ctx.actor, 0);
    return a;
  }

  /** A changed activity: its points apply to awards from now on; earned points stay as they were. */
  async updateActivity(
    tenantId: string,
    programmeId: string,
    activityId: string,
    body: unknown,
    ctx: AuditContext,
  ): Promise<Activity> {
    requireManage(ctx.actor, tenantId);
    const old = await this.activity(tenantId, programmeId, activityId);
    const patch = onlyGiven(parseInput(activityPatchSchema, body), body);
    const next = parseInput(activityInputSchema, { ...old, ...patch });
    const a: Activity = { ...old, ...next, sort: next.sort ?? old.sort };
    await this.audit.by(ctx, {
      action: 'mileage_activity_changed',
      tenantId,
      target: activityId,
      detail: { programmeId, before: old, after: a },
    });
    await this.#writeActivity(tenantId, a, ctx.actor, 0);
    return a;
  }

  /**
   * Retires an activity (no longer offered; its earned points stay). One without any award is
   * deleted instead, when `remove` is asked for.
   */
  async retireActivity(
    tenantId: string,
    programmeId: string,
    activityId: string,
    ctx: AuditContext,
    opts: { remove?: boolean } = {},
  ): Promise<{ activity: Activity; deleted: boolean }> {
    requireManage(ctx.actor, tenantId);
    const old = await this.activity(tenantId, programmeId, activityId);
    // awards acknowledged a moment ago count too; if the log cannot be shipped now, retire only
    const settled = await this.shipped().then(
      () => true,
      () => false,
    );
    const [awards] = await query(
      this.ch,
      'mileage.activity_awards',
      { tenant: tenantId, programme: programmeId, activity: activityId },
      countRow,
    );
    const deleted = opts.remove === true && settled && (awards?.n ?? 0) === 0;
    const a = { ...old, retired: true };
    await this.audit.by(ctx, {
      action: deleted ? 'mileage_activity_deleted' : 'mileage_activity_retired',
      tenantId,
      target: activityId,
      detail: { programmeId, name: old.name, awards: awards?.n ?? 0 },
    });
    await this.#writeActivity(tenantId, a, ctx.actor, deleted ? 1 : 0);
    return { activity: a, deleted };
  }

  async activity(tenantId: string, programmeId: string, activityId: string): Promise<Activity> {
    const p = await this.programme(tenantId, programmeId);
    const a = p.activities.find((x) => x.activityId === activityId);
    if (!a) throw new AppError('activity_not_found', '活動が見つかりません', 404);
    return a;
  }

  async #writeActivity(tenantId: string, a: Activity, who: Principal, isDeleted: 0 | 1): Promise<void> {
    await this.ch.insert({
      table: 'mileage_activities',
      values: [
        {
          tenant_id: tenantId,
          programme_id: a.programmeId,
          activity_id: a.activityId,
          name: a.name,
          points: a.points,
          method: a.method,
          self_report_label: a.selfReportLabel,
          daily_cap: a.dailyCap,
          period_cap: a.periodCap,
          sort: a.sort,
          retired: a.retired ? 1 : 0,
          updated_by: actorName(who),
          updated_at: chDateTime(Date.now()),
          version: nextVersion(),
          is_deleted: isDeleted,
        },
      ],
      format: 'JSONEachRow',
    });
    this.invalidate(tenantId);
  }

  async sessions(who: Principal, tenantId: string, programmeId = ''): Promise<Session[]> {
    requireRead(who, tenantId);
    return [...(await this.tenant(tenantId)).sessions.values()].filter(
      (s) => programmeId === '' || s.programmeId === programmeId,
    );
  }

  async session(tenantId: string, sessionId: string): Promise<Session | undefined> {
    return (await this.tenant(tenantId)).sessions.get(sessionId);
  }

  async requireSession(tenantId: string, sessionId: string): Promise<Session> {
    const s = await this.session(tenantId, sessionId);
    if (!s) throw new AppError('session_not_found', 'イベント (QR コード) が見つかりません', 404);
    return s;
  }

  async createSession(tenantId: string, body: unknown, ctx: AuditContext): Promise<Session> {
    requireManage(ctx.actor, tenantId);
    const input = parseInput(sessionInputSchema, body);
    const a = await this.activity(tenantId, input.programmeId, input.activityId);
    if (a.retired) throw new AppError('activity_retired', `活動「${a.name}」は終了しています`, 409);
    const s: Session = {
      sessionId: randomUUID(),
      tenantId,
      programmeId: input.programmeId,
      activityId: input.activityId,
      title: input.title,
      heldOn: input.heldOn,
      place: input.place,
      validFrom: new Date(input.validFrom).toISOString(),
      validUntil: new Date(input.validUntil).toISOString(),
      createdBy: actorName(ctx.actor),
      createdAt: new Date().toISOString(),
    };
    await this.audit.by(ctx, { action: 'mileage_session_created', tenantId, target: s.sessionId, detail: input });
    await this.#writeSession(s, 0);
    return s;
  }

  async updateSession(tenantId: string, sessionId: string, body: unknown, ctx: AuditContext): Promise<Session> {
    requireManage(ctx.actor, tenantId);
    const old = await this.requireSession(tenantId, sessionId);
    const patch = onlyGiven(parseInput(sessionPatchSchema, body), body);
    const merged = parseInput(sessionInputSchema, { ...old, ...patch });
    const s: Session = {
      ...old,
      title: merged.title,
      heldOn: merged.heldOn,
      place: merged.place,
      validFrom: new Date(merged.validFrom).toISOString(),
      validUntil: new Date(merged.validUntil).toISOString(),
    };
    await this.audit.by(ctx, {
      action: 'mileage_session_changed',
      tenantId,
      target: sessionId,
      detail: { before: old, after: s },
    });
    await this.#writeSession(s, 0);
    return s;
  }

  /** Retires a session: its code is no longer accepted; awards made stay. */
  async retireSession(tenantId: string, sessionId: string, ctx: AuditContext): Promise<void> {
    requireManage(ctx.actor, tenantId);
    const old = await this.requireSession(tenantId, sessionId);
    await this.audit.by(ctx, { action: 'mileage_session_retired', tenantId, target: sessionId, detail: { ...old } });
    await this.#writeSession(old, 1);
  }

  async #writeSession(s: Session, isDeleted: 0 | 1): Promise<void> {
    await this.ch.insert({
      table: 'mileage_sessions',
      values: [
        {
          tenant_id: s.tenantId,
          session_id: s.sessionId,
          programme_id: s.programmeId,
          activity_id: s.activityId,
          title: s.title,
          held_on: s.heldOn,
          place: s.place,
          valid_from: chDateTime(Date.parse(s.validFrom)),
          valid_until: chDateTime(Date.parse(s.validUntil)),
          created_by: s.createdBy,
          created_at: chDateTime(Date.parse(s.createdAt)),
          version: nextVersion(),
          is_deleted: isDeleted,
        },
      ],
      format: 'JSONEachRow',
    });
    this.invalidate(s.tenantId);
  }
}

function toProgramme(p: ProgrammeRow, activities: Activity[]): Programme {
  return {
    tenantId: p.tenant_id,
    programmeId: p.programme_id,
    fiscalYear: p.fiscal_year,
    name: p.name,
    description: p.description,
    startsOn: p.starts_on,
    endsOn: p.ends_on,
    goalPoints: p.goal_points,
    cardValidMonths: p.card_valid_months,
    createdBy: p.created_by,
    createdAt: new Date(p.created_ms).toISOString(),
    updatedBy: p.updated_by,
    updatedAt: new Date(p.updated_ms).toISOString(),
    activities,
  };
}

function toSession(s: SessionRow): Session {
  return {
    sessionId: s.session_id,
    tenantId: s.tenant_id,
    programmeId: s.programme_id,
    activityId: s.activity_id,
    title: s.title,
    heldOn: s.held_on,
    place: s.place,
    validFrom: new Date(s.valid_from_ms).toISOString(),
    validUntil: new Date(s.valid_until_ms).toISOString(),
    createdBy: s.created_by,
    createdAt: new Date(s.created_ms).toISOString(),
  };
}

/** The fields of a parsed patch that the caller sent (schema defaults must not overwrite stored values). */
function onlyGiven<T extends object>(parsed: T, body: unknown): Partial<T> {
  const sent = typeof body === 'object' && body ? Object.keys(body) : [];
  return Object.fromEntries(Object.entries(parsed).filter(([k]) => sent.includes(k))) as Partial<T>;
}

function pick(p: Programme) {
  const { activities: _a, ...rest } = p;
  return rest;
}
