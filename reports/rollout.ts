/**
 * 業務工程表 (the rollout board): per municipality, the steps from opening the account to launching,
 * with planned and actual dates. Actual dates come from Tayori's own records where it keeps them
 * (credentials registered, rich menu applied, mileage programme set up, first delivery = launch),
 * else from what the contractor entered; planned dates are always entered. Entries keep their
 * history like the issue log, and every change is audited in the call that makes it.
 */
import type { AuditContext, AuditLog } from '../core/audit.ts';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import type { Tenant } from '../core/tenants.ts';
import { chDateTime, daySchema, nextVersion, tokyoIso, tokyoToday } from '../core/time.ts';
import { z } from '../core/zod.ts';

export const ROLLOUT_STEPS = [
  { key: 'account_opened', label: 'アカウント開設', record: null },
  { key: 'credentials', label: 'チャネル情報の登録', record: 'credentials_day' },
  { key: 'rich_menu', label: 'リッチメニューの設定', record: 'rich_menu_day' },
  { key: 'mileage', label: 'マイレージ事業の設定', record: 'mileage_day' },
  { key: 'staff_trained', label: '職員研修', record: null },
  { key: 'launched', label: '運用開始 (初回配信)', record: 'delivery_day' },
] as const;

export type RolloutStepKey = (typeof ROLLOUT_STEPS)[number]['key'];
export const ROLLOUT_STEP_KEYS = ROLLOUT_STEPS.map((s) => s.key) as [RolloutStepKey, ...RolloutStepKey[]];
export const ROLLOUT_STEP_LABELS = Object.fromEntries(ROLLOUT_STEPS.map((s) => [s.key, s.label])) as Record<
  RolloutStepKey,
  string
>;

/** done: finished on time (or without a plan); done_late: finished after the plan; late: past the plan, not done. */
export type StepStatus = 'done' | 'done_late' | 'late' | 'planned' | 'unplanned';
export const STEP_STATUS_LABELS: Record<StepStatus, string> = {
  done: '完了',
  done_late: '完了 (遅延)',
  late: '遅延',
  planned: '予定',
  unplanned: '未計画',
};

export interface BoardStep {
  key: RolloutStepKey;
  label: string;
  plannedOn: string | null;
  actualOn: string | null;
  /** Where the actual date comes from: Tayori's records or the contractor's entry. */
  actualSource: 'record' | 'entered' | null;
  /** Whether Tayori records this step itself (its actual date cannot be entered while the record exists). */
  recorded: boolean;
  status: StepStatus;
  /** Days past the plan: finished late, or still open after the planned day. 0 otherwise. */
  daysLate: number;
  note: string;
  version: number;
  updatedBy: string;
  updatedAt: string | null;
}

export interface BoardRow {
  tenantId: string;
  name: string;
  steps: BoardStep[];
  lateSteps: number;
  doneSteps: number;
}

export interface RolloutBoard {
  asOf: string;
  rows: BoardRow[];
  /** Steps late (open past their plan, or done after it) over every row. */
  lateSteps: number;
}

const enteredRow = z.object({
  tenant_id: z.string(),
  step: z.string(),
  planned_day: z.string().nullable(),
  actual_day: z.string().nullable(),
  note: z.string(),
  updated_by: z.string(),
  updated_ms: z.coerce.number(),
  version: z.coerce.number(),
});
const recordsRow = z.object({
  tenant_id: z.string(),
  credentials_day: z.string(),
  rich_menu_day: z.string(),
  mileage_day: z.string(),
  delivery_day: z.string(),
});
const historyRow = z.object({
  step: z.string(),
  version: z.coerce.number(),
  action: z.string(),
  planned_day: z.string().nullable(),
  actual_day: z.string().nullable(),
  note: z.string(),
  changes: z.string(),
  changed_by: z.string(),
  changed_ms: z.coerce.number(),
});

const day = (v: string | null | undefined) => (v && v !== '\\N' ? v : null);
const daysBetween = (a: string, b: string) => Math.round((Date.parse(b) - Date.parse(a)) / 86_400_000);

/** A step's status as of a day (Tokyo). */
export function stepStatus(
  plannedOn: string | null,
  actualOn: string | null,
  asOf: string,
): {
  status: StepStatus;
  daysLate: number;
} {
  if (actualOn) {
    if (plannedOn && actualOn > plannedOn) return { status: 'done_late', daysLate: daysBetween(plannedOn, actualOn) };
    return { status: 'done', daysLate: 0 };
  }
  if (!plannedOn) return { status: 'unplanned', daysLate: 0 };
  if (plannedOn < asOf) return { status: 'late', daysLate: daysBetween(plannedOn, asOf) };
  return { status: 'planned', daysLate: 0 };
}

export const rolloutEntrySchema = z.strictObject({
  plannedOn: daySchema.nullable(),
  actualOn: daySchema.nullable(),
  note: z.string().trim().max(500, 'メモは 500 文字以内です').default(''),
  /** The version the caller saw (0: none yet); a newer one stored means someone else changed it. */
  version: z.number().int().min(0).optional(),
});
export type RolloutEntry = z.infer<typeof rolloutEntrySchema>;

export interface RolloutHistoryEntry {
  step: RolloutStepKey;
  stepLabel: string;
  version: number;
  action: string;
  plannedOn: string | null;
  actualOn: string | null;
  note: string;
  changes: Array<{ field: string; label: string; from: unknown; to: unknown }>;
  changedBy: string;
  changedAt: string;
}

const FIELD_LABELS: Record<string, string> = { plannedOn: '予定日', actualOn: '実績日', note: 'メモ' };

export class RolloutStore {
  constructor(
    private readonly ch: ClickHouseClient,
    private readonly audit?: AuditLog,
  ) {}

  /** The board for these municipalities as of a Tokyo day. */
  async board(tenants: readonly Tenant[], asOf = tokyoToday()): Promise<RolloutBoard> {
    const ids = tenants.filter((t) => t.kind === 'municipality').map((t) => t.id);
    const [entered, records] = ids.length
      ? await Promise.all([
          query(this.ch, 'rollout.entered', { tenants: ids }, enteredRow),
          query(this.ch, 'rollout.records', { tenants: ids }, recordsRow),
        ])
      : [[], []];
    const byKey = new Map(entered.map((e) => [`${e.tenant_id}/${e.step}`, e]));
    const recordOf = new Map(records.map((r) => [r.tenant_id, r]));
    const rows = tenants
      .filter((t) => t.kind === 'municipality')
      .map((t): BoardRow => {
        const rec = recordOf.get(t.id);
        const steps = ROLLOUT_STEPS.map((s): BoardStep => {
          const e = byKey.get(`${t.id}/${s.key}`);
          const recorded = s.record && rec ? day(rec[s.record]) : null;
          const entered = day(e?.actual_day);
          const actualOn = recorded ?? entered;
          const plannedOn = day(e?.planned_day);
          return {
            key: s.key,
            label: s.label,
            plannedOn,
            actualOn,
            actualSource: recorded ? 'record' : entered ? 'entered' : null,
            recorded: recorded !== null,
            ...stepStatus(plannedOn, actualOn, asOf),
            note: e?.note ?? '',
            version: e?.version ?? 0,
            updatedBy: e?.updated_by ?? '',
            updatedAt: e ? tokyoIso(e.updated_ms) : null,
          };
        });
        return {
          tenantId: t.id,
          name: t.name,
          steps,
          lateSteps: steps.filter((s) => s.status === 'late' || s.status === 'done_late').length,
          doneSteps: steps.filter((s) => s.actualOn !== null).length,
        };
      });
    return { asOf, rows, lateSteps: rows.reduce((n, r) => n + r.lateSteps, 0) };
  }

  /**
   * Sets a step's planned and entered actual date for a municipality: audited, then the history
   * row (which writes the current row). An actual date Tayori records itself cannot be entered.
   */
  async set(
    tenant: Tenant,
    step: RolloutStepKey,
    input: RolloutEntry,
    by: { actor: string; audit?: AuditContext },
  ): Promise<BoardStep> {
    if (tenant.kind !== 'municipality')
      throw new AppError('invalid_tenant', '業務工程表は市町ごとの記録です。市町を指定してください', 400);
    const board = await this.board([tenant]);
    const current = board.rows[0]!.steps.find((s) => s.key === step)!;
    if (input.version !== undefined && input.version !== current.version)
      throw new AppError(
        'rollout_conflict',
        'ほかの方がこの工程を更新しました。画面を読み込み直してから、もう一度入力してください',
        409,
      );
    if (input.actualOn !== null && current.recorded)
      throw new AppError(
        'rollout_recorded',
        `「${current.label}」の実績日は Tayori の記録 (${current.actualOn}) から表示されるため、入力できません`,
        400,
        [{ field: 'actualOn', message: 'Tayori の記録がある工程です' }],
      );
    const before = {
      plannedOn: current.plannedOn,
      actualOn: current.actualSource === 'entered' ? current.actualOn : null,
      note: current.note,
    };
    const after = { plannedOn: input.plannedOn, actualOn: input.actualOn, note: input.note };
    const changes = (Object.keys(after) as Array<keyof typeof after>)
      .filter((k) => before[k] !== after[k])
      .map((k) => ({ field: k, from: before[k], to: after[k] }));
    if (!changes.length) return current;
    if (this.audit && by.audit)
      await this.audit.by(by.audit, {
        action: 'rollout.step_set',
        tenantId: tenant.id,
        target: step,
        detail: { changes },
      });
    const now = Date.now();
    await this.ch.insert({
      table: 'report_rollout_history',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: tenant.id,
          step,
          version: nextVersion(),
          action: current.version ? 'updated' : 'created',
          planned_on: after.plannedOn,
          actual_on: after.actualOn,
          note: after.note,
          changes: JSON.stringify(changes),
          changed_by: by.actor,
          changed_at: chDateTime(now),
        },
      ],
    });
    return (await this.board([tenant])).rows[0]!.steps.find((s) => s.key === step)!;
  }

  async history(tenantId: string): Promise<RolloutHistoryEntry[]> {
    const rows = await query(this.ch, 'rollout.history', { tenant: tenantId }, historyRow);
    return rows.map((r) => ({
      step: r.step as RolloutStepKey,
      stepLabel: ROLLOUT_STEP_LABELS[r.step as RolloutStepKey] ?? r.step,
      version: r.version,
      action: r.action,
      plannedOn: day(r.planned_day),
      actualOn: day(r.actual_day),
      note: r.note,
      changes: (JSON.parse(r.changes) as Array<{ field: string; from: unknown; to: unknown }>).map((c) => ({
        ...c,
        label: FIELD_LABELS[c.field] ?? c.field,
      })),
      changedBy: r.changed_by,
      changedAt: tokyoIso(r.changed_ms),
    }));
  }
}
