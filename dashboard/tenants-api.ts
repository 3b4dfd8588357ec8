import {
  installApiAuth,
  principalOf,
  requirePermission,
  requireTenant,
  visibleTenants,
  type Authenticator,
} from '../core/auth.ts';
import { AuditLog, auditContext } from '../core/audit.ts';
import type { FastifyInstance } from '../core/http.ts';
import {
  autoReplyInputSchema,
  credentialsInputSchema,
  tenantIdSchema,
  tenantInputSchema,
  type TenantStore,
} from '../core/tenants.ts';

/**
 * /api/v1/tenants: the routes the CLI uses while the suite holds the data directory (operator
 * token), and the dashboard uses for staff (a municipality account sees its own tenant only).
 * A new tenant and every change of its credentials or auto-reply are in the audit log (never the
 * secrets themselves).
 */
export function registerTenantRoutes(
  app: FastifyInstance,
  deps: { tenants: TenantStore; auth: Authenticator; audit?: AuditLog },
): void {
  const { tenants, auth } = deps;
  const audit = deps.audit ?? new AuditLog(tenants.ch);
  installApiAuth(app, auth);

  app.get('/api/v1/tenants', async (req) => {
    const all = await tenants.list();
    const visible = new Set(
      visibleTenants(
        principalOf(req),
        all.map((t) => t.id),
      ),
    );
    return { tenants: all.filter((t) => visible.has(t.id)) };
  });

  app.get<{ Params: { id: string } }>('/api/v1/tenants/:id', async (req) => {
    const id = tenantIdSchema.parse(req.params.id);
    requireTenant(principalOf(req), id);
    return tenants.require(id);
  });

  app.post('/api/v1/tenants', async (req, reply) => {
    const p = principalOf(req);
    requirePermission(p, 'manage_channels');
    const tenant = await tenants.add(tenantInputSchema.parse(req.body ?? {}));
    await audit.by(auditContext(req, p), {
      action: 'tenant_added',
      tenantId: tenant.id,
      target: tenant.id,
      detail: { name: tenant.name, kind: tenant.kind, channelId: tenant.channelId },
    });
    return reply.status(201).send(tenant);
  });

  app.put<{ Params: { id: string } }>('/api/v1/tenants/:id/credentials', async (req) => {
    const p = principalOf(req);
    const id = tenantIdSchema.parse(req.params.id);
    requireTenant(p, id);
    requirePermission(p, 'manage_channels');
    const input = credentialsInputSchema.parse(req.body ?? {});
    const tenant = await tenants.setCredentials(id, input);
    await audit.by(auditContext(req, p), {
      action: 'tenant_credentials_changed',
      tenantId: id,
      target: id,
      // which fields changed, never their values
      detail: { fields: Object.keys(input).sort() },
    });
    return tenant;
  });

  app.put<{ Params: { id: string } }>('/api/v1/tenants/:id/auto-reply', async (req) => {
    const p = principalOf(req);
    const id = tenantIdSchema.parse(req.params.id);
    requireTenant(p, id);
    requirePermission(p, 'manage_channels');
    const tenant = await tenants.setAutoReply(id, autoReplyInputSchema.parse(req.body ?? {}));
    await audit.by(auditContext(req, p), { action: 'tenant_auto_reply_changed', tenantId: id, target: id });
    return tenant;
  });
}
