import {
  installApiAuth,
  principalOf,
  requirePermission,
  requireTenant,
  visibleTenants,
  type Authenticator,
} from '../core/auth.ts';
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
 */
export function registerTenantRoutes(app: FastifyInstance, deps: { tenants: TenantStore; auth: Authenticator }): void {
  const { tenants, auth } = deps;
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
    requirePermission(principalOf(req), 'manage_channels');
    const tenant = await tenants.add(tenantInputSchema.parse(req.body ?? {}));
    return reply.status(201).send(tenant);
  });

  app.put<{ Params: { id: string } }>('/api/v1/tenants/:id/credentials', async (req) => {
    const id = tenantIdSchema.parse(req.params.id);
    requireTenant(principalOf(req), id);
    requirePermission(principalOf(req), 'manage_channels');
    return tenants.setCredentials(id, credentialsInputSchema.parse(req.body ?? {}));
  });

  app.put<{ Params: { id: string } }>('/api/v1/tenants/:id/auto-reply', async (req) => {
    const id = tenantIdSchema.parse(req.params.id);
    requireTenant(principalOf(req), id);
    requirePermission(principalOf(req), 'manage_channels');
    return tenants.setAutoReply(id, autoReplyInputSchema.parse(req.body ?? {}));
  });
}
