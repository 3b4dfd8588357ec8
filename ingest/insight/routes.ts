import type { FastifyInstance } from '../../core/http.ts';
import { backfillInputSchema } from './input.ts';
import type { InsightPollers } from './pollers.ts';

/**
 * /api/v1/insight: what the CLI uses while the suite runs. The app requires the operator bearer
 * token on every /api/ route already.
 */
export function registerInsightRoutes(app: FastifyInstance, deps: { pollers: InsightPollers }): void {
  app.post('/api/v1/insight/backfill', async (req, reply) => {
    const input = backfillInputSchema.parse(req.body ?? {});
    const result = await deps.pollers.backfill(input.tenant, input.from, input.to);
    return reply.status(202).send(result);
  });

  app.get('/api/v1/insight/status', async () => deps.pollers.status());
}
