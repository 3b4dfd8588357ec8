import type { ClickHouseClient } from './clickhouse.ts';
import { roundTrip } from './clickhouse.ts';
import type { FastifyInstance, FastifyRequest } from './http.ts';
import type { Redis } from './redis.ts';
import { redisRoundTrip } from './redis.ts';

/** What the event log reports (ingest's status; core knows only its health). */
export interface EventLogHealth {
  healthy: boolean;
  error?: string;
  /** Raw error texts of its parts (e.g. the shipper's last failed INSERT): shown like `error`. */
  errors?: Record<string, string>;
}

export interface HealthDeps {
  ch: ClickHouseClient;
  redis: Redis;
  /** False until start-up is complete (then /readyz is 503 `starting`). */
  started?: () => boolean;
  /** The event log in front of ClickHouse: while it is healthy, webhooks are safe without ClickHouse. */
  eventLog?: () => EventLogHealth;
  /** Whether the caller may see raw error texts (signed in, or the operator token); others get ok/error. */
  showErrors?: (req: FastifyRequest) => Promise<boolean>;
}

export interface Readiness {
  status: 'ok' | 'degraded' | 'error';
  clickhouse: string;
  redis: string;
  event_log?: Record<string, unknown>;
}

/** Each part's state, with raw error texts (for the operator; /readyz hides them from anonymous callers). */
export async function readiness(deps: HealthDeps): Promise<{ body: Readiness; errors: Record<string, string> }> {
  const errors: Record<string, string> = {};
  const check = (name: string, p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: Error) => {
        errors[name] = e?.message || 'timeout';
        return 'error';
      },
    );
  const [clickhouse, redis] = await Promise.all([
    check('clickhouse', roundTrip(deps.ch, 2000)),
    check('redis', redisRoundTrip(deps.redis, 2000)),
  ]);
  let eventLog: Record<string, unknown> | undefined;
  let logOk = true;
  if (deps.eventLog) {
    try {
      const { healthy, error, errors: partErrors, ...rest } = deps.eventLog();
      logOk = healthy;
      if (error) errors.event_log = error;
      for (const [k, v] of Object.entries(partErrors ?? {})) errors[`event_log.${k}`] = v;
      eventLog = { status: healthy ? 'ok' : 'error', ...rest };
    } catch (e) {
      logOk = false;
      errors.event_log = (e as Error).message;
      eventLog = { status: 'error' };
    }
  }
  // webhooks and clicks are safe while the log is healthy, so ClickHouse alone down is "degraded"
  const ready = redis === 'ok' && logOk && (clickhouse === 'ok' || deps.eventLog !== undefined);
  const status = !ready ? 'error' : clickhouse === 'ok' ? 'ok' : 'degraded';
  return { body: { status, clickhouse, redis, ...(eventLog ? { event_log: eventLog } : {}) }, errors };
}

/**
 * GET /healthz: the process answers. GET /readyz: 503 `starting` until start-up is complete; then
 * ClickHouse and Redis each answer a real round trip and the event log shows its backlog. 200 while
 * Redis and the log are healthy, even with ClickHouse down (`degraded`: webhooks are still safe).
 * Raw error texts only for a signed-in caller or the operator token.
 */
export function registerHealth(app: FastifyInstance, deps: HealthDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (req, reply) => {
    if (deps.started && !deps.started()) return reply.status(503).send({ status: 'starting' });
    const { body, errors } = await readiness(deps);
    const show = Object.keys(errors).length > 0 && (await deps.showErrors?.(req).catch(() => false));
    return reply.status(body.status === 'error' ? 503 : 200).send(show ? { ...body, errors } : body);
  });
}
