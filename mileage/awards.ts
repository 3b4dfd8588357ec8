/**
 * Awards: each rule's points added exactly once. The order of an award:
 *
 * 1. The guard (one Redis script): the idempotency key, the caps, the member serial on a first
 *    participation, and the participant's balance (HINCRBY with the award: the balance the
 *    resident is shown, including this award at once).
 * 2. Its ledger row (and the member row of a first participation) appended to the local event log
 *    (ingest.tables, one durable write: group-committed fsync). The call answers once the append
 *    resolves — not once ClickHouse has the row: the shipper inserts the log's rows into
 *    mileage_ledger in batches (about a second later; a crowd's awards share a few INSERTs),
 *    replay-safe (deduplication token), after a crash or a ClickHouse outage too.
 * 3. The card, when the guard's new balance first reaches the goal: its row through the log too.
 *
 * If the log refuses the append (backlog full, disk error), the row is not in the log: the guard
 * (and a serial given by it) is undone and the caller gets 503 — nothing half-done is kept. The
 * guards are rebuilt from ClickHouse only after the log's acknowledged rows are shipped
 * (guards.beforeRebuild), so a rebuild never misses an acknowledged award.
 */
import { memberNumber } from '../core/check-digit.ts';
import { AppError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { chDateTime } from '../core/time.ts';
import type { LogTables, TableRows } from '../ingest/index.ts';
import type { CardService } from './cards.ts';
import { type AwardGuards, type GuardAward, type GuardOutcome, STALE } from './guards.ts';
import { logRefused } from './logged.ts';
import type { Members } from './members.ts';
import { type Activity, type AwardResult, ENTRY_KIND_LABELS, type LedgerEntry, type Programme } from './schemas.ts';

/** How long an award made here is kept in memory for the resident's recent entries (shipping lag). */
const RECENT_MS = 120_000;

export type EntryKind = 'scan' | 'self_report' | 'grant' | 'correction';

export interface LedgerRow extends Record<string, unknown> {
  tenant_id: string;
  programme_id: string;
  user_id: string;
  entry_id: string;
  member_no: string;
  activity_id: string;
  kind: EntryKind;
  points: number;
  activity_on: string;
  source_id: string;
  corrects: string;
  reason: string;
  actor: string;
  recorded_at: string;
}

/** mileage_ledger's columns the event log ships. */
export const LEDGER_COLUMNS = [
  'tenant_id',
  'programme_id',
  'user_id',
  'entry_id',
  'member_no',
  'activity_id',
  'kind',
  'points',
  'activity_on',
  'source_id',
  'corrects',
  'reason',
  'actor',
  'recorded_at',
] as const satisfies ReadonlyArray<keyof LedgerRow>;

export interface AwardRequest {
  tenantId: string;
  programme: Programme;
  /** The activity earned (null for a correction). */
  activity: Activity | null;
  userId: string;
  /** The idempotency key: scan:<session>:<user>, self:<webhook event id>, grant:<key>, corr:<entry>. */
  entryId: string;
  kind: EntryKind;
  points: number;
  /** The Tokyo day the activity counts for. */
  activityOn: string;
  sourceId?: string;
  corrects?: string;
  reason?: string;
  /** 'resident' or the staff account. */
  actor: string;
}

export const awardErrors = {
  outsidePeriod: (p: Programme) =>
    new AppError(
      'outside_period',
      `「${p.name}」のポイント対象期間 (${p.startsOn}〜${p.endsOn}) の外の日付です。ポイントは付与されません`,
      409,
    ),
  retired: (a: Activity) =>
    new AppError('activity_retired', `活動「${a.name}」は終了しました。ポイントは付与されません`, 409),
  cap: (a: Activity, which: 'daily_cap' | 'period_cap') =>
    new AppError(
      'cap_reached',
      which === 'daily_cap'
        ? `「${a.name}」は 1 日 ${a.dailyCap} 回までです。今日の分はもう記録されています`
        : `「${a.name}」は期間中 ${a.periodCap} 回までです。上限に達しています`,
      409,
      { cap: which === 'daily_cap' ? 'daily' : 'period' },
    ),
};

export class Awards {
  /** Set by createMileage (cards need awards' balance, awards issue cards). */
  cards?: CardService;
  /** Ledger rows acknowledged here lately, per participant: shown before the ledger has them. */
  readonly #recent = new Map<string, { at: number; row: LedgerRow }[]>();

  constructor(
    private readonly guards: AwardGuards,
    private readonly members: Members,
    private readonly tables: LogTables,
    private readonly logger?: Logger,
  ) {}

  /** Checks the rule's period and activity, then awards once; AppError for a refusal. */
  async award(req: AwardRequest): Promise<AwardResult> {
    const { programme, activity } = req;
    if (req.kind !== 'correction') {
      if (req.activityOn < programme.startsOn || req.activityOn > programme.endsOn)
        throw awardErrors.outsidePeriod(programme);
      if (activity?.retired) throw awardErrors.retired(activity);
    }
    const guard: GuardAward = {
      programmeId: programme.programmeId,
      userId: req.userId,
      entryId: req.entryId,
      points: req.points,
      activityId: req.kind === 'correction' ? '' : (activity?.activityId ?? ''),
      activityOn: req.activityOn,
      dailyCap: req.kind === 'correction' ? 0 : (activity?.dailyCap ?? 0),
      periodCap: req.kind === 'correction' ? 0 : (activity?.periodCap ?? 0),
    };
    const outcome = await this.guards.run(req.tenantId, async (epoch): Promise<GuardOutcome | typeof STALE> => {
      const o = await this.guards.award(req.tenantId, epoch, guard);
      if (o === STALE) return o;
      const memberNo = memberNumber(req.tenantId, o.serial);
      // a first participation: its member row goes with the entry (one append)
      const member = o.memberCreated ? [this.members.row(req.tenantId, req.userId, memberNo)] : [];
      if (o.kind === 'awarded') await this.#store(req, epoch, guard, o, memberNo, member);
      else if (member.length) await this.members.store(req.tenantId, epoch, req.userId, o.serial, member);
      return o;
    });
    const memberNo = memberNumber(req.tenantId, outcome.serial);
    const base = {
      entryId: req.entryId,
      points: req.points,
      balance: outcome.balance,
      goal: programme.goalPoints,
      memberNo,
    };
    if (outcome.kind === 'daily_cap' || outcome.kind === 'period_cap') throw awardErrors.cap(activity!, outcome.kind);
    if (outcome.kind === 'already') return { ...base, awarded: false, reason: 'already' };
    const result: AwardResult = { ...base, awarded: true };
    if (outcome.balance >= programme.goalPoints && req.kind !== 'correction' && this.cards) {
      const card = await this.cards.issueOnGoal(req.tenantId, programme, req.userId, memberNo).catch((err: unknown) => {
        // the points are stored; the card comes with the resident's next look at the summary
        this.logger?.error({ err, tenantId: req.tenantId }, 'mileage card not issued');
        return undefined;
      });
      if (card) result.cardIssued = card;
    }
    return result;
  }

  #remember(row: LedgerRow): void {
    const t = Date.now();
    if (this.#recent.size >= 10_000) this.#recent.clear();
    const key = `${row.tenant_id}\u0000${row.programme_id}\u0000${row.user_id}`;
    const list = (this.#recent.get(key) ?? []).filter((x) => t - x.at < RECENT_MS);
    list.push({ at: t, row });
    this.#recent.set(key, list.slice(-10));
  }

  /**
   * The participant's entries acknowledged here in the last two minutes, newest first (the ledger
   * gets them with the event log's shipping, about a second later).
   */
  recent(tenantId: string, programme: Programme, userId: string): LedgerEntry[] {
    const key = `${tenantId}\u0000${programme.programmeId}\u0000${userId}`;
    const t = Date.now();
    const names = new Map(programme.activities.map((a) => [a.activityId, a.name]));
    return (this.#recent.get(key) ?? [])
      .filter((x) => t - x.at < RECENT_MS)
      .reverse()
      .map(({ at, row: r }) => ({
        entryId: r.entry_id,
        activityId: r.activity_id,
        activityName: names.get(r.activity_id) ?? '',
        kind: r.kind,
        kindLabel: ENTRY_KIND_LABELS[r.kind] ?? r.kind,
        points: r.points,
        activityOn: r.activity_on,
        corrects: r.corrects,
        reason: r.reason,
        actor: r.actor,
        recordedAt: new Date(at).toISOString(),
      }));
  }

  /** Appends the award's ledger row (and its member row) to the event log; on refusal undoes the guard. */
  async #store(
    req: AwardRequest,
    epoch: string,
    guard: GuardAward,
    o: GuardOutcome,
    memberNo: string,
    member: TableRows['rows'],
  ): Promise<void> {
    const row: LedgerRow = {
      tenant_id: req.tenantId,
      programme_id: req.programme.programmeId,
      user_id: req.userId,
      entry_id: req.entryId,
      member_no: memberNo,
      activity_id: req.activity?.activityId ?? '',
      kind: req.kind,
      points: req.points,
      activity_on: req.activityOn,
      source_id: req.sourceId ?? '',
      corrects: req.corrects ?? '',
      reason: req.reason ?? '',
      actor: req.actor,
      recorded_at: chDateTime(Date.now()),
    };
    const parts: TableRows[] = [{ table: 'mileage_ledger', rows: [row] }];
    if (member.length) parts.push({ table: 'mileage_members', rows: member });
    try {
      await this.tables.append(parts);
      this.#remember(row);
    } catch (err) {
      // not in the log (a refused append stores nothing): take the guard back, or drop the guards
      this.logger?.warn({ err, tenantId: req.tenantId, entryId: req.entryId }, 'mileage award not logged');
      const undone = await this.guards.undo(req.tenantId, epoch, guard).catch(() => false);
      if (member.length) await this.guards.memberUndo(req.tenantId, epoch, req.userId, o.serial).catch(() => {});
      if (!undone) await this.guards.invalidate(req.tenantId).catch(() => {});
      throw logRefused(err);
    }
  }
}
