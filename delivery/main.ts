/**
 * Delivery on its own, in one process: ClickHouse (embedded or server), the fan-out workers and the
 * delivery API, against a Redis that is already running. The suite composes the same pieces; this
 * runner is what the crash test kills and restarts.
 *
 *   REDIS_URL=redis://… TAYORI_SANDBOX_URL=http://… TAYORI_OPERATOR_TOKEN=… node --initial-old-space-size=256 --import tsx delivery/main.ts
 *
 * (the heap flag: core/heap.ts)
 *
 * Tuning: DELIVERY_MULTICAST_PER_SECOND, DELIVERY_CONCURRENCY (chunks per worker), DELIVERY_IN_FLIGHT
 * (requests per channel), DELIVERY_LOCK_MS, DELIVERY_TIMEOUT_MS.
 * Prints "delivery ready: <url>" once it serves.
 */
import type { AddressInfo } from 'node:net';
import { operatorTokenAuth } from '../core/auth.ts';
import { openClickHouse } from '../core/clickhouse.ts';
import { loadConfig } from '../core/config.ts';
import { loadSecretBox } from '../core/crypto.ts';
import { createHttpApp } from '../core/http.ts';
import { HEAP_FLAG, heapSizeConfigured } from '../core/heap.ts';
import { createLogger } from '../core/logger.ts';
import { migrate } from '../core/migrations.ts';
import { TenantStore } from '../core/tenants.ts';
import { createDelivery } from './index.ts';

const config = loadConfig();
const logger = createLogger(config.logLevel, 'tayori-delivery');
if (!heapSizeConfigured())
  logger.warn(
    { flag: HEAP_FLAG },
    'node started without an initial heap size: large deliveries will spend CPU on needless full collections',
  );
const redisUrl = process.env.REDIS_URL;
const token = process.env.TAYORI_OPERATOR_TOKEN;
if (!redisUrl || !token) {
  console.error('REDIS_URL と TAYORI_OPERATOR_TOKEN を指定してください');
  process.exit(2);
}
const n = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined);

const ch = await openClickHouse(config.clickhouse);
await migrate(ch);
const tenants = new TenantStore(ch, loadSecretBox(config));
const delivery = createDelivery({
  ch,
  redisUrl,
  tenants,
  logger,
  endpoints: () => ({ line: config.lineApiBaseUrl, sandbox: process.env.TAYORI_SANDBOX_URL }),
  fanOut: Object.fromEntries(
    Object.entries({
      multicastPerSecond: n('DELIVERY_MULTICAST_PER_SECOND'),
      concurrency: n('DELIVERY_CONCURRENCY'),
      inFlight: n('DELIVERY_IN_FLIGHT'),
      lockDurationMs: n('DELIVERY_LOCK_MS'),
      requestTimeoutMs: n('DELIVERY_TIMEOUT_MS'),
    }).filter(([, v]) => v !== undefined),
  ),
});
await delivery.start();
const app = createHttpApp(logger);
delivery.registerRoutes(app, operatorTokenAuth([token]));
await app.listen({ port: config.port, host: config.host });
console.log(`delivery ready: http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await app.close();
  await delivery.stop();
  await ch.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
