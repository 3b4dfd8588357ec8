import { randomUUID } from 'node:crypto';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import { chDateTime, nextVersion } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { dueDateFor } from './due-date.ts';
import {
  MINUTES_STATUS_LABELS,
  tokyoIso,
  tokyoMonth,
  tokyoMonthRange,
  tokyoToday,
  type IssueInput,
  type IssuePatch,
  type MinutesInput,
  type MinutesPatch,
} from './schemas.ts';

export type MinutesStatus = 'draft' | 'approved';
export type IssueStatus = '未着手' | '対応中' | '完了';

export interface Minutes {
  id: string;
  heldAt: string; // ISO, +09:00
  endedAt: string | null;
  kind: string;
  title: string;
  place: string;
  tenantIds: string[];
  attendees: Array<{ organization: string; name: string }>;
  agenda: string[];
  discussion: string;
  decisions: string[];
  actionItems: Array<{ task: string; owner: string; due: string | null }>;
  status: MinutesStatus;
  statusLabel: string;
  approvedBy: string;
  approvedAt: string | null;
  /** The month (Tokyo) the meeting was held in, and when its minutes are due at the prefecture. */
  reportMonth: string;
  reportDue: string;
  createdBy: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
  version: number;
}

export interface Issue {
  id: string;
  no: number;
  tenantId: string;
  raisedOn: string;
  category: string;
  description: string;
  response: string;
  owner: string;
  status: IssueStatus;
  dueOn: string | null;
  resolvedOn: string | null;
  createdBy: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
  version: number;
}

export interface FieldChange {
  field: string;
  label: string;
  from: unknown;
  to: unknown;
}

export interface HistoryEntry<T> {
  version: number;
  action: string;
  changedBy: string;
  changedAt: string;
  changes?: FieldChange[];
  note?: string;
  record: T;
}

export const ISSUE_FIELD_LABELS: Record<string, string> = {
  tenantId: '団体',
  raisedOn: '起票日',
  category: '分類',
  description: '課題の内容',
  response: '対応内容',
  owner: '担当',
  status: '状況',
  dueOn: '期限',
  resolvedOn: '完了日',
};
const ISSUE_TRACKED = Object.keys(ISSUE_FIELD_LABELS) as Array<keyof Issue>;

// Rows of sql/queries/reports.sql. Epoch milliseconds and versions are 64-bit integers (a server
// sends them quoted, chDB bare); days are toString(Date), NULL when not set.
const int64 = z.coerce.number();
const dateOrNull = (v: string | null) => (v === null || v === '' || v === '\\N' ? null : v);

const minutesRow = z.object({
  minutes_id: z.string(),
  held_ms: int64,
  ended_ms: int64.nullable(),
  kind: z.string(),
  title: z.string(),
  place: z.string(),
  tenant_ids: z.array(z.string()),
  attendees: z.string(),
  agenda: z.array(z.string()),
  discussion: z.string(),
  decisions: z.array(z.string()),
  action_items: z.string(),
  status: z.enum(['draft', 'approved']),
  approved_by: z.string(),
  approved_ms: int64.nullable(),
  created_by: z.string(),
  created_ms: int64,
  updated_by: z.string(),
  updated_ms: int64,
  version: int64,
});

const issueRow = z.object({
  issue_id: z.string(),
  issue_no: z.number(),
  tenant_id: z.string(),
  raised_day: z.string(),
  category: z.string(),
  description: z.string(),
  response: z.string(),
  owner: z.string(),
  status: z.enum(['未着手', '対応中', '完了']),
  due_day: z.string().nullable(),
  resolved_day: z.string().nullable(),
  created_by: z.string(),
  created_ms: int64,
  updated_by: z.string(),
  updated_ms: int64,
  version: int64,
});

const historyRow = z.object({
  version: int64,
  action: z.string(),
  changed_by: z.string(),
  changed_ms: int64,
  record: z.string(),
});
const issueHistoryRow = historyRow.extend({ changes: z.string(), note: z.string() });
const parseJson = <T>(v: unknown, fallback: T): T => {
  try {
    return JSON.parse(String(v)) as T;
  } catch {
    return fallback;
  }
};

function toMinutes(r: z.infer<typeof minutesRow>): Minutes {
  const held = r.held_ms;
  const ended = r.ended_ms;
  const approved = r.approved_ms;
  const status = r.status;
  const reportMonth = tokyoMonth(held);
  let reportDue = '';
  try {
    reportDue = dueDateFor(reportMonth).due;
  } catch {
    /* a month outside the holiday table has no due date */
  }
  return {
    id: r.minutes_id,
    heldAt: tokyoIso(held),
    endedAt: ended === null ? null : tokyoIso(ended),
    kind: r.kind,
    title: r.title,
    place: r.place,
    tenantIds: r.tenant_ids,
    attendees: parseJson(r.attendees, []),
    agenda: r.agenda,
    discussion: r.discussion,
    decisions: r.decisions,
    actionItems: parseJson(r.action_items, []),
    status,
    statusLabel: MINUTES_STATUS_LABELS[status] ?? status,
    approvedBy: r.approved_by,
    approvedAt: approved === null ? null : tokyoIso(approved),
    reportMonth,
    reportDue,
    createdBy: r.created_by,
    createdAt: tokyoIso(r.created_ms),
    updatedBy: r.updated_by,
    updatedAt: tokyoIso(r.updated_ms),
    version: r.version,
  };
}

function toIssue(r: z.infer<typeof issueRow>): Issue {
  return {
    id: r.issue_id,
    no: r.issue_no,
    tenantId: r.tenant_id,
    raisedOn: r.raised_day,
    category: r.category,
    description: r.description,
    response: r.response,
    owner: r.owner,
    status: r.status,
    dueOn: dateOrNull(r.due_day),
    resolvedOn: dateOrNull(r.resolved_day),
    createdBy: r.created_by,
    createdAt: tokyoIso(r.created_ms),
    updatedBy: r.updated_by,
    updatedAt: tokyoIso(r.updated_ms),
    version: r.version,
  };
}

/** Resolution rules of the issue log: 完了 carries the day it was resolved, nothing else does. */
function settleResolution(i: Issue, resolvedGiven: boolean): void {
  if (i.status === '完了') {
    i.resolvedOn ??= tokyoToday();
  } else if (resolvedGiven && i.resolvedOn !== null) {
    throw new AppError('invalid_issue', '完了日は状況が「完了」の課題にだけ入れられます', 400, [
      { field: 'resolvedOn', message: '状況が「完了」ではありません' },
    ]);
  } else {
    i.resolvedOn = null;
  }
  if (i.resolvedOn !== null && i.resolvedOn < i.raisedOn) {
    throw new AppError('invalid_issue', '完了日は起票日より後の日付にしてください', 400, [
      { field: 'resolvedOn', message: '起票日より前です' },
    ]);
  }
}

/**
 * Minutes and the issue log in ClickHouse. Each change is one INSERT of the new version into the
 * history table; materialized views (migration 0022) write the current-state row in the same
 * statement; changes to one record are serialized within this process,
 * and a change made on an older version than the stored one is refused (409).
 */
export class ReportStore {
  #locks = new Map<string, Promise<unknown>>();

  constructor(private readonly ch: ClickHouseClient) {}

  /** Runs fn after every earlier change to the same key has finished. */
  async #serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.#locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    }
  }

  async #insert(table: string, row: Record<string, unknown>): Promise<void> {
    await this.ch.insert({ table, values: [row], format: 'JSONEachRow' });
  }

  /** Those of the given tenant ids that are not registered. */
  async unknownTenants(ids: readonly string[]): Promise<string[]> {
    if (!ids.length) return [];
    const known = new Set(
      (
        await query(this.ch, 'reports.tenants_known', { ids: [...new Set(ids)] }, z.object({ tenant_id: z.string() }))
      ).map((r) => r.tenant_id),
    );
    return ids.filter((id) => !known.has(id));
  }

  // ---- minutes ---------------------------------------------------------------------------------

  async getMinutes(id: string): Promise<Minutes | undefined> {
    const [row] = await query(this.ch, 'reports.minutes_get', { id }, minutesRow);
    return row && toMinutes(row);
  }

  async requireMinutes(id: string): Promise<Minutes> {
    const m = await this.getMinutes(id);
    if (!m) throw new AppError('minutes_not_found', `議事録 ${id} は見つかりません`, 404);
    return m;
  }

  async listMinutes(q: { month?: string; tenant?: string; status?: string; limit: number }): Promise<Minutes[]> {
    const range = q.month ? tokyoMonthRange(q.month) : { from: 0, to: Date.UTC(2200, 0, 1) };
    return (
      await query(
        this.ch,
        'reports.minutes_list',
        { ...range, tenant: q.tenant ?? '', status: q.status ?? '', limit: q.limit },
        minutesRow,
      )
    ).map(toMinutes);
  }

  async minutesHistory(id: string): Promise<Array<HistoryEntry<Minutes>>> {
    return (await query(this.ch, 'reports.minutes_history', { id }, historyRow)).map((r) => ({
      version: r.version,
      action: r.action,
      changedBy: r.changed_by,
      changedAt: tokyoIso(r.changed_ms),
      record: parseJson<Minutes>(r.record, {} as Minutes),
    }));
  }

  async #writeMinutes(m: Minutes, action: string, actor: string): Promise<void> {
    await this.#insert('report_minutes_history', {
      minutes_id: m.id,
      version: m.version,
      action,
      changed_by: actor,
      changed_at: chDateTime(Date.parse(m.updatedAt)),
      record: JSON.stringify(m),
    });
  }

  async createMinutes(input: MinutesInput, actor: string): Promise<Minutes> {
    const now = Date.now();
    const m: Minutes = {
      id: randomUUID(),
      heldAt: tokyoIso(input.heldAt),
      endedAt: input.endedAt === null ? null : tokyoIso(input.endedAt),
      kind: input.kind,
      title: input.title,
      place: input.place,
      tenantIds: [...new Set(input.tenantIds)],
      attendees: input.attendees,
      agenda: input.agenda,
      discussion: input.discussion,
      decisions: input.decisions,
      actionItems: input.actionItems,
      status: 'draft',
      statusLabel: MINUTES_STATUS_LABELS.draft,
      approvedBy: '',
      approvedAt: null,
      reportMonth: '',
      reportDue: '',
      createdBy: actor,
      createdAt: tokyoIso(now),
      updatedBy: actor,
      updatedAt: tokyoIso(now),
      version: nextVersion(),
    };
    checkMinutesTimes(m);
    Object.assign(m, reportFields(m));
    await this.#writeMinutes(m, 'created', actor);
    return m;
  }

  /**
   * Applies a change to a minutes record under the record's lock. `check` sees the stored record
   * first (permissions, state); `change` returns the action name after changing the copy.
   */
  async changeMinutes(
    id: string,
    actor: string,
    expectedVersion: number | undefined,
    check: (m: Minutes) => void | Promise<void>,
    change: (m: Minutes) => string,
  ): Promise<Minutes> {
    return this.#serial(`minutes:${id}`, async () => {
      const current = await this.requireMinutes(id);
      await check(current);
      if (expectedVersion !== undefined && expectedVersion !== current.version) throw staleVersion();
      const m: Minutes = structuredClone(current);
      const action = change(m);
      checkMinutesTimes(m);
      const now = Date.now();
      Object.assign(m, reportFields(m), { updatedBy: actor, updatedAt: tokyoIso(now), version: nextVersion() });
      await this.#writeMinutes(m, action, actor);
      return m;
    });
  }

  static applyMinutesPatch(m: Minutes, p: MinutesPatch): void {
    if (p.heldAt !== undefined) m.heldAt = tokyoIso(p.heldAt);
    if (p.endedAt !== undefined) m.endedAt = p.endedAt === null ? null : tokyoIso(p.endedAt);
    if (p.kind !== undefined) m.kind = p.kind;
    if (p.title !== undefined) m.title = p.title;
    if (p.place !== undefined) m.place = p.place;
    if (p.tenantIds !== undefined) m.tenantIds = [...new Set(p.tenantIds)];
    if (p.attendees !== undefined) m.attendees = p.attendees;
    if (p.agenda !== undefined) m.agenda = p.agenda;
    if (p.discussion !== undefined) m.discussion = p.discussion;
    if (p.decisions !== undefined) m.decisions = p.decisions;
    if (p.actionItems !== undefined) m.actionItems = p.actionItems;
  }

  // ---- issue log -------------------------------------------------------------------------------

  async getIssue(id: string): Promise<Issue | undefined> {
    const [row] = await query(this.ch, 'reports.issue_get', { id }, issueRow);
    return row && toIssue(row);
  }

  async requireIssue(id: string): Promise<Issue> {
    const i = await this.getIssue(id);
    if (!i) throw new AppError('issue_not_found', `課題 ${id} は見つかりません`, 404);
    return i;
  }

  /** The log; with a month, the entries of that month's log: raised by its end and not resolved before its start. */
  async listIssues(q: { month?: string; tenant?: string; status?: string; limit: number }): Promise<Issue[]> {
    let raisedBy = '2149-01-01';
    let openFrom = '1970-01-01';
    if (q.month) {
      const [y, m] = q.month.split('-').map(Number) as [number, number];
      raisedBy = new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
      openFrom = `${q.month}-01`;
    }
    return (
      await query(
        this.ch,
        'reports.issue_list',
        { tenant: q.tenant ?? '', status: q.status ?? '', raisedBy, openFrom, limit: q.limit },
        issueRow,
      )
    ).map(toIssue);
  }

  async issueHistory(id: string): Promise<Array<HistoryEntry<Issue>>> {
    return (await query(this.ch, 'reports.issue_history', { id }, issueHistoryRow)).map((r) => ({
      version: r.version,
      action: r.action,
      changedBy: r.changed_by,
      changedAt: tokyoIso(r.changed_ms),
      changes: parseJson<FieldChange[]>(r.changes, []),
      note: r.note,
      record: parseJson<Issue>(r.record, {} as Issue),
    }));
  }

  async #writeIssue(i: Issue, action: string, actor: string, changes: FieldChange[], note: string): Promise<void> {
    await this.#insert('report_issues_history', {
      issue_id: i.id,
      version: i.version,
      action,
      changed_by: actor,
      changed_at: chDateTime(Date.parse(i.updatedAt)),
      changes: JSON.stringify(changes),
      note,
      record: JSON.stringify(i),
    });
  }

  async createIssue(input: IssueInput, actor: string): Promise<Issue> {
    // Nos. are given in order under one lock: one process owns the records (the running suite).
    return this.#serial('issues:no', async () => {
      const [row] = await query(this.ch, 'reports.issue_max_no', {}, z.object({ n: z.coerce.number() }));
      const now = Date.now();
      const i: Issue = {
        id: randomUUID(),
        no: (row?.n ?? 0) + 1,
        tenantId: input.tenantId,
        raisedOn: input.raisedOn ?? tokyoToday(now),
        category: input.category,
        description: input.description,
        response: input.response,
        owner: input.owner,
        status: input.status,
        dueOn: input.dueOn,
        resolvedOn: input.resolvedOn,
        createdBy: actor,
        createdAt: tokyoIso(now),
        updatedBy: actor,
        updatedAt: tokyoIso(now),
        version: nextVersion(),
      };
      settleResolution(i, input.resolvedOn !== null);
      const changes = ISSUE_TRACKED.map((f) => ({ field: f, label: ISSUE_FIELD_LABELS[f]!, from: null, to: i[f] }));
      await this.#writeIssue(i, 'created', actor, changes, input.note);
      return i;
    });
  }

  async changeIssue(
    id: string,
    actor: string,
    patch: IssuePatch | 'delete',
    check: (current: Issue, next: Issue) => void | Promise<void>,
  ): Promise<Issue> {
    return this.#serial(`issue:${id}`, async () => {
      const current = await this.requireIssue(id);
      const i: Issue = structuredClone(current);
      const del = patch === 'delete';
      if (!del) {
        for (const f of [
          'tenantId',
          'raisedOn',
          'category',
          'description',
          'response',
          'owner',
          'status',
          'dueOn',
          'resolvedOn',
        ] as const) {
          if (patch[f] !== undefined) (i as unknown as Record<string, unknown>)[f] = patch[f];
        }
        settleResolution(i, patch.resolvedOn !== undefined && patch.resolvedOn !== null);
      }
      await check(current, i);
      if (!del && patch.version !== undefined && patch.version !== current.version) throw staleVersion();
      const changes = ISSUE_TRACKED.filter((f) => JSON.stringify(current[f]) !== JSON.stringify(i[f])).map((f) => ({
        field: f,
        label: ISSUE_FIELD_LABELS[f]!,
        from: current[f],
        to: i[f],
      }));
      if (!del && !changes.length) return current; // nothing changed: no new version
      const now = Date.now();
      Object.assign(i, { updatedBy: actor, updatedAt: tokyoIso(now), version: nextVersion() });
      await this.#writeIssue(i, del ? 'deleted' : 'updated', actor, changes, del ? '' : patch.note);
      return i;
    });
  }
}

function reportFields(m: Minutes): Pick<Minutes, 'reportMonth' | 'reportDue' | 'statusLabel'> {
  const reportMonth = tokyoMonth(Date.parse(m.heldAt));
  let reportDue = '';
  try {
    reportDue = dueDateFor(reportMonth).due;
  } catch {
    /* outside the holiday table */
  }
  return { reportMonth, reportDue, statusLabel: MINUTES_STATUS_LABELS[m.status] };
}

function checkMinutesTimes(m: Minutes): void {
  if (m.endedAt !== null && Date.parse(m.endedAt) < Date.parse(m.heldAt)) {
    throw new AppError('invalid_minutes', '終了日時は開始日時より後にしてください', 400, [
      { field: 'endedAt', message: '開始日時より前です' },
    ]);
  }
}

function staleVersion(): AppError {
  return new AppError(
    'stale_version',
    'ほかの人がこの記録を先に更新しました。最新の内容を読み込み直してから変更してください',
    409,
  );
}
