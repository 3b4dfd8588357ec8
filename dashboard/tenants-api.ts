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
import { AppError } from '../core/errors.ts';
import type { Tenant } from '../core/tenants.ts';
import {
  autoReplyInputSchema,
  credentialsInputSchema,
  liffSettingsSchema,
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
  deps: {
    tenants: TenantStore;
    auth: Authenticator;
    audit?: AuditLog;
    /** Creates a tenant's LIFF app through LINE (the suite: core/resident setUpLiffApp). */
    createLiffApp?: (tenantId: string, input: unknown) => Promise<{ tenant: Tenant; liffId: string; created: boolean }>;
  },
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

  // the residents' pages inside LINE: the LINE Login channel and LIFF app, set as they are …
  app.put<{ Params: { id: string } }>('/api/v1/tenants/:id/liff', async (req) => {
    const p = principalOf(req);
    const id = tenantIdSchema.parse(req.params.id);
    requireTenant(p, id);
    requirePermission(p, 'manage_channels');
    const tenant = await tenants.setLiff(id, liffSettingsSchema.parse(req.body ?? {}));
    await audit.by(auditContext(req, p), {
      action: 'tenant_liff_changed',
      tenantId: id,
      target: id,
      detail: { liffChannelId: tenant.liffChannelId, liffId: tenant.liffId },
    });
    return tenant;
  });

  // … or made through LINE's LIFF server API with the Login channel's secret (used once, not stored)
  app.post<{ Params: { id: string } }>('/api/v1/tenants/:id/liff-app', async (req, reply) => {
    const p = principalOf(req);
    const id = tenantIdSchema.parse(req.params.id);
    requireTenant(p, id);
    requirePermission(p, 'manage_channels');
    if (!deps.createLiffApp) {
      throw new AppError('liff_setup_unavailable', 'この環境では LIFF アプリを作成できません', 501);
    }
    const r = await deps.createLiffApp(id, req.body ?? {});
    await audit.by(auditContext(req, p), {
      action: 'tenant_liff_changed',
      tenantId: id,
      target: id,
      detail: { liffChannelId: r.tenant.liffChannelId, liffId: r.liffId, created: r.created },
    });
    return reply.status(r.created ? 201 : 200).send(r.tenant);
  });
}
