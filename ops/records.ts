/**
 * ops/ records: 障害報告書 (incident), 対応履歴 (support), 運用課題 (issue) and planned stops (stop).
 * One store for the four kinds: every change is one INSERT into ops_records_history with the fields
 * that changed (label, from, to) and the record after it; the current row follows through the view
 * (migration 0065). Every change is audited in the call.
 */
import { randomUUID } from 'node:crypto';
import type { AuditContext, AuditLog } from '../core/audit.ts';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import { chDateTime, nextVersion, tokyoIso } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { CREATE_SCHEMAS, FIELD_LABELS, KIND_LABELS, PATCH_SCHEMAS, type RecordKind } from './schemas.ts';

export type IncidentFields = z.output<(typeof CREATE_SCHEMAS)['incident']> & {
  /** 自動検知 (the self-check) or 職員. */
  source: string;
  /** The self-check's problem key of an automatic incident. */
  checkKey: string;
};
export type SupportFields = z.output<(typeof CREATE_SCHEMAS)['support']>;
export type IssueFields = z.output<(typeof CREATE_SCHEMAS)['issue']>;
export type StopFields = z.output<(typeof CREATE_SCHEMAS)['stop']>;

interface Meta {
  id: string;
  no: number;
  createdBy: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
  version: number;
}

export type OpsRecord<K extends RecordKind> = Meta &
  (K extends 'incident'
    ? IncidentFields
    : K extends 'support'
      ? SupportFields
      : K extends 'issue'
        ? IssueFields
        : StopFields);

export interface FieldChange {
  field: string;
  label: string;
  from: unknown;
  to: unknown;
}

export interface HistoryEntry {
  version: number;
  action: string;
  changedBy: string;
  changedAt: string;
  changes: FieldChange[];
  note: string;
  record: Record<string, unknown>;
}

const int64 = z.coerce.number();
const recordRow = z.object({ record_id: z.string(), record_no: z.coerce.number(), record: z.string(), version: int64 });
const historyRow = z.object({
  version: int64,
  action: z.string(),
  changed_by: z.string(),
  changed_ms: int64,
  changes: z.string(),
  note: z.string(),
  record: z.string(),
});

const META = new Set(['id', 'no', 'createdBy', 'createdAt', 'updatedBy', 'updatedAt', 'version']);

export class OpsRecords {
  constructor(
    private readonly ch: ClickHouseClient,
    private readonly audit: AuditLog,
    private readonly now: () => number = Date.now,
  ) {}

  async list<K extends RecordKind>(kind: K, limit = 10_000): Promise<OpsRecord<K>[]> {
    const rows = await query(this.ch, 'ops.record_list', { kind, limit }, recordRow);
    return rows.map((r) => this.#parse<K>(r.record, r.version));
  }

  async get<K extends RecordKind>(kind: K, id: string): Promise<OpsRecord<K> | undefined> {
    const [r] = await query(this.ch, 'ops.record_get', { kind, id }, recordRow);
    return r ? this.#parse<K>(r.record, r.version) : undefined;
  }

  async require<K extends RecordKind>(kind: K, id: string): Promise<OpsRecord<K>> {
    const r = await this.get(kind, id);
    if (!r) throw new AppError('ops_record_not_found', `${KIND_LABELS[kind]}の記録 ${id} は見つかりません`, 404);
    return r;
  }

  async history(kind: RecordKind, id: string): Promise<HistoryEntry[]> {
    const rows = await query(this.ch, 'ops.record_history', { kind, id }, historyRow);
    return rows.map((r) => ({
      version: r.version,
      action: r.action,
      changedBy: r.changed_by,
      changedAt: tokyoIso(r.changed_ms),
      changes: JSON.parse(r.changes || '[]') as FieldChange[],
      note: r.note,
      record: JSON.parse(r.record) as Record<string, unknown>,
    }));
  }

  /** Validates `input` (400 invalid_ops_record) and stores a new record with the next No. */
  async create<K extends RecordKind>(
    kind: K,
    input: unknown,
    by: AuditContext | { system: string },
    extra: Record<string, unknown> = {},
  ): Promise<OpsRecord<K>> {
    const fields = parse(CREATE_SCHEMAS[kind] as z.ZodType, input) as Record<string, unknown>;
    const [max] = await query(this.ch, 'ops.record_max_no', { kind }, z.object({ n: z.coerce.number() }));
    const at = tokyoIso(this.now());
    const actor = actorOf(by);
    const record = {
      ...(kind === 'incident' ? { source: '職員', checkKey: '' } : {}),
      ...fields,
      ...extra,
      id: randomUUID(),
      no: (max?.n ?? 0) + 1,
      createdBy: actor,
      createdAt: at,
      updatedBy: actor,
      updatedAt: at,
    };
    const r = record as Record<string, unknown>;
    const changes = Object.keys(FIELD_LABELS[kind])
      .filter((f) => r[f] !== undefined && r[f] !== '' && r[f] !== null)
      .map((f) => ({ field: f, label: FIELD_LABELS[kind][f]!, from: null, to: r[f] }));
    await this.#audit(by, `ops_${kind}_created`, record.id);
    const version = await this.#write(kind, record, 'created', actor, changes, '');
    return { ...record, version } as unknown as OpsRecord<K>;
  }

  /** Changes fields of a record; the history keeps what changed. A change to nothing is not written. */
  async change<K extends RecordKind>(
    kind: K,
    id: string,
    patch: unknown,
    by: AuditContext | { system: string },
  ): Promise<OpsRecord<K>> {
    const { note, ...parsed } = parse(PATCH_SCHEMAS[kind] as z.ZodType, patch) as Record<string, unknown> & {
      note?: string;
    };
    // defaults of the create schema apply to fields that were given, not to the rest
    const given = new Set(Object.keys((patch ?? {}) as object));
    const fields = Object.fromEntries(Object.entries(parsed).filter(([k]) => given.has(k)));
    const current = (await this.require(kind, id)) as unknown as Record<string, unknown>;
    const next: Record<string, unknown> = { ...current, ...fields };
    if (kind === 'stop' && Date.parse(String(next.endsAt)) <= Date.parse(String(next.startsAt)))
      throw new AppError('invalid_ops_record', '終了日時は開始日時より後にしてください', 400, [
        { field: 'endsAt', message: '終了日時は開始日時より後にしてください' },
      ]);
    const changes: FieldChange[] = [];
    for (const [f, label] of Object.entries(FIELD_LABELS[kind])) {
      if (!(f in fields)) continue;
      if (JSON.stringify(current[f] ?? null) !== JSON.stringify(next[f] ?? null))
        changes.push({ field: f, label, from: current[f] ?? null, to: next[f] ?? null });
    }
    if (!changes.length) return current as OpsRecord<K>;
    const actor = actorOf(by);
    next.updatedBy = actor;
    next.updatedAt = tokyoIso(this.now());
    delete next.version;
    await this.#audit(by, `ops_${kind}_changed`, id, { fields: changes.map((c) => c.field) });
    const version = await this.#write(kind, next, 'updated', actor, changes, note ?? '');
    return { ...next, version } as OpsRecord<K>;
  }

  async remove(kind: RecordKind, id: string, by: AuditContext, note = ''): Promise<void> {
    const current = (await this.require(kind, id)) as unknown as Record<string, unknown>;
    const { version: _v, ...record } = current;
    await this.#audit(by, `ops_${kind}_deleted`, id);
    await this.#write(kind, record, 'deleted', actorOf(by), [], note);
  }

  async #audit(
    by: AuditContext | { system: string },
    action: string,
    target: string,
    detail?: Record<string, unknown>,
  ) {
    if ('system' in by) await this.audit.record({ action, target, detail: { by: by.system, ...detail } });
    else await this.audit.by(by, { action, target, ...(detail ? { detail } : {}) });
  }

  async #write(
    kind: RecordKind,
    record: Record<string, unknown>,
    action: string,
    actor: string,
    changes: FieldChange[],
    note: string,
  ): Promise<number> {
    const version = nextVersion();
    await this.ch.insert({
      table: 'ops_records_history',
      values: [
        {
          kind,
          record_id: record.id,
          version,
          action,
          changed_by: actor,
          changed_at: chDateTime(this.now()),
          changes: JSON.stringify(changes),
          note,
          record: JSON.stringify(record),
        },
      ],
      format: 'JSONEachRow',
    });
    return version;
  }

  #parse<K extends RecordKind>(json: string, version: number): OpsRecord<K> {
    return { ...(JSON.parse(json) as object), version } as OpsRecord<K>;
  }
}

function actorOf(by: AuditContext | { system: string }): string {
  if ('system' in by) return by.system;
  return by.actor.kind === 'staff' ? by.actor.username : 'operator';
}

function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const details = r.error.issues.map((i) => ({ field: i.path.map(String).join('.'), message: i.message }));
  throw new AppError(
    'invalid_ops_record',
    `入力内容に誤りがあります: ${details.map((d) => `${d.field || '(全体)'} — ${d.message}`).join(' / ')}`,
    400,
    details,
  );
}

/** Meta fields excluded: what a person filled in. */
export function fieldsOf(r: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(r).filter(([k]) => !META.has(k)));
}
