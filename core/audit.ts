import { randomUUID } from 'node:crypto';
import type { Principal } from './auth.ts';
import type { ClickHouseClient } from './clickhouse.ts';
import type { Logger } from './logger.ts';
import { sql } from './sql.ts';
import { chDateTime } from './time.ts';

/** What the audit log records. Features add their own actions (send, export, …). */
export type AuditAction =
  | 'sign_in'
  | 'sign_in_failed'
  | 'sign_out'
  | 'export'
  | 'send'
  | 'user_added'
  | 'user_permissions_changed'
  | 'user_password_changed'
  | 'user_disabled'
  | 'user_enabled'
  | 'api_token_created'
  | (string & {});

export interface AuditEntry {
  action: AuditAction;
  outcome?: 'ok' | 'denied' | 'failed';
  /** Who: a principal, or the username typed for a failed sign-in. */
  actor?: Principal;
  username?: string;
  tenantId?: string | null;
  target?: string;
  detail?: Record<string, unknown>;
  ip?: string;
  userAgent?: string;
}

export interface AuditRecord {
  at: string;
  eventId: string;
  action: string;
  outcome: string;
  actorKind: string;
  userId: string;
  username: string;
  role: string;
  tenantId: string;
  target: string;
  detail: Record<string, unknown>;
  ip: string;
  userAgent: string;
}

/** Audit records in ClickHouse (audit_log): who did what, when. Written before the answer leaves. */
export class AuditLog {
  constructor(
    private readonly ch: ClickHouseClient,
    private readonly logger?: Logger,
  ) {}

  async record(e: AuditEntry): Promise<void> {
    const staff = e.actor?.kind === 'staff' ? e.actor : undefined;
    const row = {
      at: chDateTime(Date.now()),
      event_id: randomUUID(),
      action: e.action,
      outcome: e.outcome ?? 'ok',
      actor_kind: e.actor ? e.actor.kind : 'anonymous',
      user_id: staff?.userId ?? '',
      username: staff?.username ?? e.username ?? (e.actor?.kind === 'operator' ? 'operator' : ''),
      role: staff?.role ?? '',
      tenant_id: e.tenantId ?? '',
      target: e.target ?? '',
      detail: JSON.stringify(e.detail ?? {}),
      ip: e.ip ?? '',
      user_agent: (e.userAgent ?? '').slice(0, 300),
    };
    try {
      await this.ch.insert({ table: 'audit_log', values: [row], format: 'JSONEachRow' });
    } catch (err) {
      this.logger?.error({ err, action: e.action }, 'audit record not written');
      throw err;
    }
  }

  async recent(filter: { tenantId?: string; action?: string; limit?: number } = {}): Promise<AuditRecord[]> {
    const rs = await this.ch.query({
      query: sql('users.audit_recent'),
      query_params: { tenant: filter.tenantId ?? '', action: filter.action ?? '', limit: filter.limit ?? 100 },
      format: 'JSONEachRow',
    });
    const rows = await rs.json<Record<string, string>>();
    return rows.map((r) => ({
      at: new Date(Number(r.at_ms)).toISOString(),
      eventId: r.event_id!,
      action: r.action!,
      outcome: r.outcome!,
      actorKind: r.actor_kind!,
      userId: r.user_id!,
      username: r.username!,
      role: r.role!,
      tenantId: r.tenant_id!,
      target: r.target!,
      detail: JSON.parse(r.detail || '{}') as Record<string, unknown>,
      ip: r.ip!,
      userAgent: r.user_agent!,
    }));
  }
}
