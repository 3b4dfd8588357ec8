import { randomUUID } from 'node:crypto';
import type { Principal } from './auth.ts';
import { type ClickHouseClient, query } from './clickhouse.ts';
import { AppError } from './errors.ts';
import type { FastifyRequest } from './http.ts';
import type { Logger } from './logger.ts';
import { chDateTime } from './time.ts';
import { z } from './zod.ts';

/** A row of users.audit_recent (epoch ms: bare from chDB, quoted from a server). */
const auditRow = z.object({
  at_ms: z.coerce.number(),
  event_id: z.string(),
  action: z.string(),
  outcome: z.string(),
  actor_kind: z.string(),
  user_id: z.string(),
  username: z.string(),
  role: z.string(),
  tenant_id: z.string(),
  target: z.string(),
  detail: z.string(),
  ip: z.string(),
  user_agent: z.string(),
});

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
  | 'api_token_revoked'
  | 'send_scheduled'
  | 'send_cancelled'
  | 'test_send'
  | 'resident_lookup'
  | 'tenant_added'
  | 'tenant_credentials_changed'
  | 'tenant_auto_reply_changed'
  | 'rich_menu_applied'
  | (string & {});

/** Who is acting, as the service call is told by its caller (the authenticated principal) and from where. */
export interface AuditContext {
  actor: Principal;
  ip?: string;
  userAgent?: string;
}

/** The audit context of an HTTP request made by this principal. */
export function auditContext(req: FastifyRequest, actor: Principal): AuditContext {
  return { actor, ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '') };
}

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

/**
 * Audit records in ClickHouse (audit_log): who did what, when. Written by the call that does the
 * thing (a send before it is queued, an export before its file leaves); when the record cannot be
 * written the call fails with 503 `audit_unavailable` and does nothing.
 */
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
      throw new AppError(
        'audit_unavailable',
        '監査記録を書き込めないため、この操作は行っていません。しばらくしてからもう一度お試しください',
        503,
      );
    }
  }

  /** A record for what a caller (AuditContext) did. */
  async by(ctx: AuditContext, e: Omit<AuditEntry, 'actor' | 'ip' | 'userAgent'>): Promise<void> {
    await this.record({ ...e, actor: ctx.actor, ip: ctx.ip, userAgent: ctx.userAgent });
  }

  async recent(filter: { tenantId?: string; action?: string; limit?: number } = {}): Promise<AuditRecord[]> {
    const rows = await query(
      this.ch,
      'users.audit_recent',
      { tenant: filter.tenantId ?? '', action: filter.action ?? '', limit: filter.limit ?? 100 },
      auditRow,
    );
    return rows.map((r) => ({
      at: new Date(r.at_ms).toISOString(),
      eventId: r.event_id,
      action: r.action,
      outcome: r.outcome,
      actorKind: r.actor_kind,
      userId: r.user_id,
      username: r.username,
      role: r.role,
      tenantId: r.tenant_id,
      target: r.target,
      detail: JSON.parse(r.detail || '{}') as Record<string, unknown>,
      ip: r.ip,
      userAgent: r.user_agent,
    }));
  }
}
