/** The event log mileage's rows go through, for the mileage tests: a real ingest on the harness. */
import path from 'node:path';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { createLogger } from '../../core/logger.ts';
import { createIngest, type Ingest } from '../../ingest/index.ts';
import type { Harness } from '../helpers/index.ts';

/** Started at once (a short ship interval); stopped with the harness, after what was deferred later. */
export async function mileageIngest(h: Harness, opts: { ch?: ClickHouseClient; name?: string } = {}): Promise<Ingest> {
  const ingest = createIngest({
    ch: opts.ch ?? h.ch,
    redis: h.redis.client,
    tenants: h.tenants,
    endpoints: () => ({ line: 'http://127.0.0.1:1' }),
    logger: createLogger(process.env.TEST_LOG ?? 'silent'),
    eventLog: { dir: path.join(h.dir, opts.name ?? 'mileage-event-log') },
    shipper: { intervalMs: 50, retryMs: 20, maxRetryMs: 200 },
    rollupIntervalMs: 60_000,
  });
  await ingest.start();
  h.defer('mileage event log', () => ingest.stop());
  return ingest;
}

/** Waits until every row acknowledged so far is in ClickHouse. */
export const shipped = (ingest: Ingest) => ingest.shipper.drain(20_000);
