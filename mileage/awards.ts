/**
 * Awards: each rule's points added exactly once. An award passes the guard (one Redis script: the
 * idempotency key NX and the caps), then its row goes into mileage_ledger through the group-commit
 * writer (concurrent awards share INSERTs; the call answers once the row is stored). If the INSERT
 * fails, the ledger is asked whether the row landed anyway (a server may time out after storing):
 * absent → the guard is undone and the caller gets 503; present → the award stands; unknown (the
 * ledger does not answer) → the tenant's guards are dropped, to be rebuilt from the ledger, and 503.
 * Nothing half-done is kept either way.
 */
import { memberNumber } from '../core/check-digit.ts';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { AppError, unavailableError } from '../core/errors.ts';
import type { GroupCommitWriter } from '../core/group-commit.ts';
import type { Logger } from '../core/logger.ts';
import { chDateTime } from '../core/time.ts';
import { z } from '../core/zod.ts';
import type { CardService } from './cards.ts';
import { type AwardGuards, type GuardAward, type GuardOutcome, STALE } from './guards.ts';
import type { Members } from './members.ts';
import type { Activity, AwardResult, Programme } from './schemas.ts';

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

const entryRow = z.object({ entry_id: z.string() });

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

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly guards: AwardGuards,
    private readonly members: Members,
    private readonly writer: GroupCommitWriter<LedgerRow>,
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
      // a first participation: the number is stored with the entry, its member row follows
      if (o.memberCreated) this.members.given(req.tenantId, req.userId, memberNo);
      if (o.kind === 'awarded') await this.#store(req, epoch, guard, memberNo);
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

  async #store(req: AwardRequest, epoch: string, guard: GuardAward, memberNo: string): Promise<void> {
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
    try {
      await this.writer.write([row]);
    } catch (err) {
      this.logger?.warn({ err, tenantId: req.tenantId, entryId: req.entryId }, 'mileage ledger INSERT failed');
      let landed: boolean | undefined;
      try {
        landed =
          (
            await query(
              this.ch,
              'mileage.entry',
              { tenant: req.tenantId, programme: req.programme.programmeId, entry: req.entryId },
              entryRow,
            )
          ).length > 0;
      } catch {
        landed = undefined;
      }
      if (landed) return;
      if (landed === false)
        await this.guards
          .undo(req.tenantId, epoch, guard)
          .catch(() => this.guards.invalidate(req.tenantId).catch(() => {}));
      else await this.guards.invalidate(req.tenantId).catch(() => {});
      throw unavailableError('clickhouse', err);
    }
  }
}
