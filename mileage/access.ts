/** Who may do what in mileage/ (on top of core/auth.ts's roles and permissions). */
import { hasPermission, requirePermission, requireRole, requireTenant, type Principal } from '../core/auth.ts';
import { AppError } from '../core/errors.ts';

/** Reading a tenant's programme, participants and ledger: anyone who may see the tenant. */
export function requireRead(p: Principal, tenantId: string): void {
  requireTenant(p, tenantId);
}

/** Editing programmes, activities and sessions: マイレージ管理 or チャネルの管理, for a tenant the caller sees. */
export function requireManage(p: Principal, tenantId: string): void {
  requireTenant(p, tenantId);
  if (!hasPermission(p, 'manage_mileage') && !hasPermission(p, 'manage_channels')) {
    throw new AppError('forbidden', 'この操作には「マイレージ管理」または「チャネルの管理」の権限が必要です', 403);
  }
}

/** Grants, imports and corrections of points: マイレージ管理, never the prefecture (it reads). */
export function requireGrant(p: Principal, tenantId: string): void {
  requireTenant(p, tenantId);
  requireRole(p, 'admin', 'contractor', 'municipality');
  requirePermission(p, 'manage_mileage');
}

/** The benefit card's one design: prefecture staff (and admins) with マイレージ管理. */
export function requireDesign(p: Principal): void {
  requireRole(p, 'admin', 'prefecture');
  requirePermission(p, 'manage_mileage');
}

/** The actor recorded in the ledger and on records: the staff account's username, or 'operator'. */
export function actorName(p: Principal): string {
  return p.kind === 'operator' ? 'operator' : p.username;
}
