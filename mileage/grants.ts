/**
 * Staff grants and corrections: one grant by member number (the client's key makes a retry land
 * once), a CSV/xlsx import shown first as a preview with per-row errors in Japanese (nothing is
 * written until confirmed; the confirm applies exactly the previewed rows, each once, however often
 * it is submitted), and corrections as new negative entries naming the entry they correct. Every
 * grant, import and correction is audited in the call, before anything is written.
 */
import { randomUUID } from 'node:crypto';
import type { AuditContext, AuditLog } from '../core/audit.ts';
import { AppError, isAppError } from '../core/errors.ts';
import type { Redis } from '../core/redis.ts';
import { daySchema, tokyoToday } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { actorName, requireGrant } from './access.ts';
import type { Awards } from './awards.ts';
import type { Catalogue } from './catalogue.ts';
import { type AwardGuards, awardFields } from './guards.ts';
import { readGrantFile } from './import-file.ts';
import type { LedgerReads } from './ledger.ts';
import type { Members } from './members.ts';
import {
  type Activity,
  type AwardResult,
  correctionInputSchema,
  grantInputSchema,
  type ImportConfirmation,
  type ImportPreview,
  type ImportRowResult,
  importInputSchema,
  type Programme,
} from './schemas.ts';
import { parseInput } from './validate.ts';

const IMPORT_TTL_S = 3600;
const importKey = (id: string) => `tayori:mileage-imports:${id}`;

const storedImport = z.object({
  importId: z.string(),
  tenantId: z.string(),
  programmeId: z.string(),
  fileName: z.string(),
  by: z.string(),
  rows: z.array(
    z.object({
      row: z.number(),
      userId: z.string(),
      memberNo: z.string(),
      activityId: z.string(),
      activityOn: z.string(),
      reason: z.string(),
    }),
  ),
});
type StoredImport = z.infer<typeof storedImport>;

export interface GrantDeps {
  catalogue: Catalogue;
  awards: Awards;
  members: Members;
  guards: AwardGuards;
  ledger: LedgerReads;
  audit: AuditLog;
  redis: Redis;
  now: () => number;
}

export class Grants {
  constructor(private readonly d: GrantDeps) {}

  async grant(tenantId: string, programmeId: string, body: unknown, ctx: AuditContext): Promise<AwardResult> {
    requireGrant(ctx.actor, tenantId);
    const input = parseInput(grantInputSchema, body);
    const programme = await this.d.catalogue.programme(tenantId, programmeId);
    const activity = await this.d.catalogue.activity(tenantId, programmeId, input.activityId);
    const member = await this.d.members.resolve(tenantId, input.memberNo);
    const activityOn = input.activityOn ?? tokyoToday(this.d.now());
    await this.d.audit.by(ctx, {
      action: 'mileage_grant',
      tenantId,
      target: member.memberNo,
      detail: {
        programmeId,
        activityId: activity.activityId,
        points: activity.points,
        activityOn,
        reason: input.reason,
        key: input.key,
      },
    });
    return this.d.awards.award({
      tenantId,
      programme,
      activity,
      userId: member.userId,
      entryId: `grant:${input.key}`,
      kind: 'grant',
      points: activity.points,
      activityOn,
      sourceId: input.key,
      reason: input.reason,
      actor: actorName(ctx.actor),
    });
  }

  /** A correction: a negative entry naming the entry it corrects (at most one per entry). */
  async correct(tenantId: string, programmeId: string, body: unknown, ctx: AuditContext): Promise<AwardResult> {
    requireGrant(ctx.actor, tenantId);
    const input = parseInput(correctionInputSchema, body);
    const programme = await this.d.catalogue.programme(tenantId, programmeId);
    const entry = await this.d.ledger.entry(tenantId, programmeId, input.entryId);
    if (!entry) throw new AppError('entry_not_found', '訂正する記録が見つかりません', 404);
    if (entry.kind === 'correction') throw new AppError('entry_is_correction', '訂正の記録はさらに訂正できません', 409);
    const points = input.points ?? entry.points;
    if (points > entry.points) {
      throw new AppError('correction_too_large', `訂正できるのは元の記録の ${entry.points} ポイントまでです`, 400);
    }
    await this.d.audit.by(ctx, {
      action: 'mileage_correction',
      tenantId,
      target: entry.entry_id,
      detail: { programmeId, userId: entry.user_id, points: -points, reason: input.reason },
    });
    const activity = programme.activities.find((a) => a.activityId === entry.activity_id) ?? null;
    return this.d.awards.award({
      tenantId,
      programme,
      activity,
      userId: entry.user_id,
      entryId: `corr:${entry.entry_id}`,
      kind: 'correction',
      points: -points,
      activityOn: entry.activity_on,
      corrects: entry.entry_id,
      sourceId: entry.entry_id,
      reason: input.reason,
      actor: actorName(ctx.actor),
    });
  }

  /** Reads the file and checks each row; keeps the rows to apply for an hour; writes nothing. */
  async preview(tenantId: string, programmeId: string, body: unknown, ctx: AuditContext): Promise<ImportPreview> {
    requireGrant(ctx.actor, tenantId);
    const input = parseInput(importInputSchema, body);
    const programme = await this.d.catalogue.programme(tenantId, programmeId);
    const rows = await readGrantFile(input.fileName, Buffer.from(input.data, 'base64'));
    const known = await this.d.members.lookup(
      tenantId,
      rows.map((r) => r.memberNo),
    );
    const today = tokyoToday(this.d.now());
    const results: ImportRowResult[] = [];
    const toApply: StoredImport['rows'] = [];
    const seen = new Map<string, number>();
    // caps: what the guards already count, plus the file's own rows before this one
    const counted = new Map<string, number>();
    for (const r of rows) {
      const errors: string[] = [];
      const activity = findActivity(programme, r.activity);
      const activityOn = r.activityOn || today;
      let memberNo = r.memberNo;
      let userId = '';
      if (!r.memberNo) errors.push('会員番号がありません');
      else {
        try {
          const m = await this.d.members.resolve(tenantId, r.memberNo, known);
          memberNo = m.memberNo;
          userId = m.userId;
        } catch (e) {
          if (!isAppError(e)) throw e;
          errors.push(e.message);
        }
      }
      if (!activity) errors.push(r.activity ? `活動「${r.activity}」はこの事業にありません` : '活動がありません');
      else if (activity.retired) errors.push(`活動「${activity.name}」は終了しています`);
      if (!daySchema.safeParse(activityOn).success)
        errors.push(`活動日「${r.activityOn}」は日付 (例: 2026-06-01) ではありません`);
      else if (activityOn < programme.startsOn || activityOn > programme.endsOn)
        errors.push(`活動日 ${activityOn} は事業の期間 (${programme.startsOn}〜${programme.endsOn}) の外です`);
      const reason = r.reason || input.reason;
      if (!reason) errors.push('理由がありません (ファイルの「理由」列か、取り込み時の理由を指定してください)');
      if (userId && activity && errors.length === 0) {
        const dupKey = `${userId}|${activity.activityId}|${activityOn}`;
        const first = seen.get(dupKey);
        if (first !== undefined && (activity.dailyCap === 0 || activity.dailyCap === 1)) {
          errors.push(`${first} 行目と同じ内容です (重複)`);
        } else {
          seen.set(dupKey, first ?? r.row);
          const capError = await this.#capCheck(tenantId, programme, activity, userId, activityOn, counted);
          if (capError) errors.push(capError);
        }
      }
      results.push({
        row: r.row,
        memberNo,
        activity: activity?.name ?? r.activity,
        activityOn,
        points: activity?.points ?? 0,
        reason,
        errors,
      });
      if (errors.length === 0)
        toApply.push({ row: r.row, userId, memberNo, activityId: activity!.activityId, activityOn, reason });
    }
    const importId = randomUUID();
    const stored: StoredImport = {
      importId,
      tenantId,
      programmeId,
      fileName: input.fileName,
      by: actorName(ctx.actor),
      rows: toApply,
    };
    await this.d.audit.by(ctx, {
      action: 'mileage_import_previewed',
      tenantId,
      target: importId,
      detail: { programmeId, fileName: input.fileName, rows: rows.length, valid: toApply.length },
    });
    await this.d.redis.set(importKey(importId), JSON.stringify(stored), 'EX', IMPORT_TTL_S);
    return {
      importId,
      fileName: input.fileName,
      rows: results,
      valid: toApply.length,
      invalid: results.length - toApply.length,
      expiresAt: new Date(this.d.now() + IMPORT_TTL_S * 1000).toISOString(),
    };
  }

  async #capCheck(
    tenantId: string,
    programme: Programme,
    activity: Activity,
    userId: string,
    activityOn: string,
    counted: Map<string, number>,
  ): Promise<string | undefined> {
    if (activity.dailyCap === 0 && activity.periodCap === 0) return undefined;
    const f = awardFields({
      programmeId: programme.programmeId,
      userId,
      entryId: '',
      points: 0,
      activityId: activity.activityId,
      activityOn,
      dailyCap: 0,
      periodCap: 0,
    });
    const [daily = 0, period = 0] = await this.d.guards.run(tenantId, (epoch) =>
      this.d.guards.counts(tenantId, epoch, programme.programmeId, userId, [f.daily, f.period]),
    );
    const dk = `${userId}|${f.daily}`;
    const pk = `${userId}|${f.period}`;
    const d = daily + (counted.get(dk) ?? 0);
    const p = period + (counted.get(pk) ?? 0);
    if (activity.dailyCap > 0 && d >= activity.dailyCap)
      return `「${activity.name}」は 1 日 ${activity.dailyCap} 回までです (上限に達しています)`;
    if (activity.periodCap > 0 && p >= activity.periodCap)
      return `「${activity.name}」は期間中 ${activity.periodCap} 回までです (上限に達しています)`;
    counted.set(dk, (counted.get(dk) ?? 0) + 1);
    counted.set(pk, (counted.get(pk) ?? 0) + 1);
    return undefined;
  }

  /** Applies exactly the previewed rows, each once (grant:import:<id>:<row>), however often it is confirmed. */
  async confirm(
    tenantId: string,
    programmeId: string,
    importId: string,
    ctx: AuditContext,
  ): Promise<ImportConfirmation> {
    requireGrant(ctx.actor, tenantId);
    const raw = await this.d.redis.get(importKey(importId));
    if (!raw) {
      throw new AppError(
        'import_expired',
        '取り込みの確認期限 (1 時間) が過ぎたか、取り込みが見つかりません。もう一度ファイルを選んでください',
        404,
      );
    }
    const stored = storedImport.parse(JSON.parse(raw));
    if (stored.tenantId !== tenantId || stored.programmeId !== programmeId) {
      throw new AppError('import_not_found', '取り込みが見つかりません', 404);
    }
    const programme = await this.d.catalogue.programme(tenantId, programmeId);
    await this.d.audit.by(ctx, {
      action: 'mileage_import_confirmed',
      tenantId,
      target: importId,
      detail: { programmeId, fileName: stored.fileName, rows: stored.rows.length },
    });
    const out: ImportConfirmation = { importId, applied: 0, alreadyApplied: 0, failed: [] };
    for (const r of stored.rows) {
      const activity = programme.activities.find((a) => a.activityId === r.activityId);
      try {
        if (!activity) throw new AppError('activity_not_found', '活動が見つかりません', 404);
        const res = await this.d.awards.award({
          tenantId,
          programme,
          activity,
          userId: r.userId,
          entryId: `grant:import:${importId}:${r.row}`,
          kind: 'grant',
          points: activity.points,
          activityOn: r.activityOn,
          sourceId: `import:${importId}`,
          reason: r.reason,
          actor: actorName(ctx.actor),
        });
        if (res.awarded) out.applied++;
        else out.alreadyApplied++;
      } catch (e) {
        if (!isAppError(e) || e.status >= 500) throw e;
        out.failed.push({ row: r.row, message: e.message });
      }
    }
    return out;
  }
}

/** An activity of the programme by its name or id (as the file gives it). */
function findActivity(p: Programme, text: string): Activity | undefined {
  const t = text.normalize('NFKC').trim();
  return (
    p.activities.find((a) => a.activityId === t) ??
    p.activities.find((a) => !a.retired && a.name.normalize('NFKC') === t) ??
    p.activities.find((a) => a.name.normalize('NFKC') === t)
  );
}
