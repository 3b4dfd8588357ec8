import type { Authenticator } from '../core/auth.ts';
import type { FastifyInstance } from '../core/http.ts';
import { autoReplyInputSchema, credentialsInputSchema, tenantIdSchema, tenantInputSchema, type TenantStore } from '../core/tenants.ts';

/** /api/v1/tenants: the routes the CLI uses while the suite holds the data directory. */
export function registerTenantRoutes(app: FastifyInstance, deps: { tenants: TenantStore; auth: Authenticator }): void {
  const { tenants, auth } = deps;
  app.addHook('onRequest', async (req) => {
    if (req.url.startsWith('/api/')) auth.require(req);
  });

  app.get('/api/v1/tenants', async () => ({ tenants: await tenants.list() }));

  app.get<{ Params: { id: string } }>('/api/v1/tenants/:id', async (req) => tenants.require(tenantIdSchema.parse(req.params.id)));

  app.post('/api/v1/tenants', async (req, reply) => {
    const tenant = await tenants.add(tenantInputSchema.parse(req.body ?? {}));
    return reply.status(201).send(tenant);
  });

  app.put<{ Params: { id: string } }>('/api/v1/tenants/:id/credentials', async (req) =>
    tenants.setCredentials(tenantIdSchema.parse(req.params.id), credentialsInputSchema.parse(req.body ?? {})),
  );

  app.put<{ Params: { id: string } }>('/api/v1/tenants/:id/auto-reply', async (req) =>
    tenants.setAutoReply(tenantIdSchema.parse(req.params.id), autoReplyInputSchema.parse(req.body ?? {})),
  );
}
