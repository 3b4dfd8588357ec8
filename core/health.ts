import type { ClickHouseClient } from './clickhouse.ts';
import { roundTrip } from './clickhouse.ts';
import type { FastifyInstance } from './http.ts';
import type { Redis } from './redis.ts';
import { redisRoundTrip } from './redis.ts';

/** GET /healthz: the process answers. GET /readyz: ClickHouse and Redis each answer a real round trip. */
export function registerHealth(
  app: FastifyInstance,
  deps: {
    ch: ClickHouseClient;
    redis: Redis /** False until start-up is complete (then /readyz is 503 `starting`). */;
    started?: () => boolean;
  },
): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (deps.started && !deps.started()) return reply.status(503).send({ status: 'starting' });
    const [ch, redis] = await Promise.all([
      roundTrip(deps.ch, 2000).then(
        () => 'ok',
        (e: Error) => `error: ${e.message || 'timeout'}`,
      ),
      redisRoundTrip(deps.redis, 2000).then(
        () => 'ok',
        (e: Error) => `error: ${e.message || 'timeout'}`,
      ),
    ]);
    const body = { clickhouse: ch, redis };
    return reply.status(ch === 'ok' && redis === 'ok' ? 200 : 503).send(body);
  });
}
