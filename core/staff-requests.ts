/**
 * What every staff JSON API does with a request before its handler: who is calling (a session with
 * its CSRF token, a personal API token or the operator token), the audit context, path parameters and
 * the tenant in the path, checked against what the caller may see. One copy for every capability's routes.
 */
import { type AuditContext, auditContext } from './audit.ts';
import {
  type Authenticator,
  checkCsrf,
  type Permission,
  type Principal,
  requirePermission,
  requireTenant,
} from './auth.ts';
import { AppError } from './errors.ts';
import type { FastifyRequest } from './http.ts';
import { tenantIdSchema } from './tenants.ts';

export interface StaffRequests {
  /** Route option: authenticates the caller and checks CSRF for a state change with a session. */
  pre: { preHandler: (req: FastifyRequest) => Promise<void> };
  /** The caller (after `pre`). */
  who(req: FastifyRequest): Principal;
  /** The audit context of the call: the caller, IP and user agent. */
  by(req: FastifyRequest): AuditContext;
  /** The username recorded on records, or 'operator'. */
  actor(req: FastifyRequest): string;
  /** A path parameter as a string ('' when absent). */
  param(req: FastifyRequest, key: string): string;
  /** The `:tenantId` in the path, well-formed (400 invalid_tenant), not yet checked against the caller. */
  tenantId(req: FastifyRequest): string;
  /** The `:tenantId` in the path, for a caller who may see it (403 forbidden_tenant). */
  seen(req: FastifyRequest): string;
  /** The `:tenantId` in the path, for a caller who may see it and holds `perm` (403 forbidden). */
  allowed(req: FastifyRequest, perm: Permission): string;
}

export function staffRequests(auth: Authenticator): StaffRequests {
  const principals = new WeakMap<FastifyRequest, Principal>();
  const who = (req: FastifyRequest): Principal => {
    const p = principals.get(req);
    if (!p) throw new AppError('unauthorized', '認証が必要です', 401);
    return p;
  };
  const param = (req: FastifyRequest, key: string) =>
    String((req.params as Record<string, string> | undefined)?.[key] ?? '');
  const tenantId = (req: FastifyRequest) => {
    const r = tenantIdSchema.safeParse(param(req, 'tenantId'));
    if (!r.success) throw new AppError('invalid_tenant', 'テナント ID が正しくありません', 400);
    return r.data;
  };
  const seen = (req: FastifyRequest) => {
    const id = tenantId(req);
    requireTenant(who(req), id);
    return id;
  };
  return {
    pre: {
      preHandler: async (req: FastifyRequest) => {
        const p = await auth.require(req);
        checkCsrf(req, p);
        principals.set(req, p);
      },
    },
    who,
    by: (req) => auditContext(req, who(req)),
    actor: (req) => {
      const p = who(req);
      return p.kind === 'operator' ? 'operator' : p.username;
    },
    param,
    tenantId,
    seen,
    allowed: (req, perm) => {
      const id = seen(req);
      requirePermission(who(req), perm);
      return id;
    },
  };
}
