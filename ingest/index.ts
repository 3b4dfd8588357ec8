import fs from 'node:fs';
import path from 'node:path';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import type { FrontHandlers } from '../core/http.ts';
import type { LineEndpoints } from '../core/line.ts';
import type { Logger } from '../core/logger.ts';
import type { Redis } from '../core/redis.ts';
import type { TenantStore } from '../core/tenants.ts';
import { registerAutoReply } from './auto-reply.ts';
import { ClickSink, type ClickLimits } from './click-sink.ts';
import { DailyRollup } from './daily-rollup.ts';
import {
  DEFAULT_EVENT_LOG_MAX_BYTES,
  eventLogMaxBytes,
  eventLogSyncOnMain,
  type EventLog,
  type EventLogStatus,
} from './event-log.ts';
import { EventHandlerRegistry } from './event-handlers.ts';
import { HANDLERS, HandlerRunner, type HandlerRunnerOptions } from './handler-runner.ts';
import { LmdbEventLog } from './lmdb-event-log.ts';
import { SegmentEventLog } from './segment-event-log.ts';
import { SHIP_INFLIGHT, SHIPPER, Shipper, type ShipperOptions } from './shipper.ts';
import { LogTables } from './tables.ts';
import { TenantSecretsCache } from './tenant-secrets.ts';
import { createWebhookReceiver, isWebhookRequest } from './webhook-receiver.ts';

export { EventHandlerRegistry, type EventContext, type EventHandler } from './event-handlers.ts';
export { defaultAutoReply } from './auto-reply.ts';
export { jstDay, replyTokenUsable, type WebhookEvent } from './webhook-body.ts';
export { BacklogFullError, eventLogMaxBytes, type ClickRow, type EventLog, type EventLogStatus } from './event-log.ts';
export { ClickSink, type ClickOutcome } from './click-sink.ts';
export { LogTables, type TableRows } from './tables.ts';
export { TenantSecretsCache, type WebhookTenant } from './tenant-secrets.ts';

export interface IngestDeps {
  ch: ClickHouseClient;
  redis: Redis;
  tenants: TenantStore;
  endpoints: () => LineEndpoints;
  logger: Logger;
  /** Where the local event log lives (normally <dataDir>/event-log) and its bound in bytes. */
  eventLog: { dir: string; maxBytes?: number } | { log: EventLog };
  shipper?: ShipperOptions;
  handlerRunner?: HandlerRunnerOptions;
  clickLimits?: ClickLimits;
  rollupIntervalMs?: number;
}

/** What /readyz and `tayori ingest status` show of ingest. */
export interface IngestStatus {
  healthy: boolean;
  error?: string;
  /** Not yet in ClickHouse. */
  backlog: { events: number; bytes: number; oldestAgeMs: number | null };
  /** Not yet handled (delivery's postbacks, the auto-reply, residents' follow state). */
  handlers: { events: number; oldestAgeMs: number | null };
  bytes: number;
  maxBytes: number;
  shipper: { batches: number; rows: number; failures: number; lastShippedAt: number | null };
  /** Raw error texts (shown only to the operator and signed-in staff). */
  errors?: { shipper?: string };
  clicks: { counted: number; limited: number; lost: number };
}

export interface Ingest {
  /** Registry feature folders use to react to webhook events (run from the log). */
  handlers: EventHandlerRegistry;
  log: EventLog;
  shipper: Shipper;
  runner: HandlerRunner;
  rollup: DailyRollup;
  /** Where the click redirect records clicks (rate-limited, through the log). */
  clicks: ClickSink;
  /** Other capabilities' ClickHouse tables written through the log (register, then append rows). */
  tables: LogTables;
  /** Tenants and decrypted credentials, cached and reloaded on every change (for handlers' replies). */
  tenantCache: TenantSecretsCache;
  /** Puts POST /webhook/:tenantId in front of the API app. */
  mount(front: FrontHandlers): void;
  status(): IngestStatus;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * An outage drill at the client boundary (TAYORI_FAULT_CLICKHOUSE_WRITES=<file>): while the file
 * exists, every INSERT through this client fails as if ClickHouse refused it; without the variable
 * the client itself. The crash test uses it on a running suite.
 */
export function refusingWrites(
  ch: ClickHouseClient,
  file = process.env.TAYORI_FAULT_CLICKHOUSE_WRITES,
): ClickHouseClient {
  if (!file) return ch;
  return new Proxy(ch, {
    get(target, prop) {
      if (prop === 'insert')
        return (...args: Parameters<ClickHouseClient['insert']>) =>
          fs.existsSync(file)
            ? Promise.reject(new Error(`ClickHouse writes refused (drill: ${file} exists)`))
            : target.insert(...args);
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/**
 * An event log left in `dir` by an older Tayori (LMDB's data.mdb) is taken over by the segment files
 * before the suite starts: its id, positions, the shipper's note and every entry a consumer still needs.
 * Resolves true if there was one.
 */
export async function adoptOlderEventLog(dir: string): Promise<boolean> {
  if (!fs.existsSync(path.join(dir, 'data.mdb'))) return false;
  const old = new LmdbEventLog({ dir, maxBytes: DEFAULT_EVENT_LOG_MAX_BYTES, consumers: [SHIPPER, HANDLERS] });
  try {
    const positions = { [SHIPPER]: old.position(SHIPPER), [HANDLERS]: old.position(HANDLERS) };
    const inflight = old.note(SHIP_INFLIGHT);
    function* chunks() {
      let after = Math.min(positions[SHIPPER].seq, positions[HANDLERS].seq);
      for (;;) {
        const chunk = old.read(after, 10_000);
        if (chunk.length === 0) return;
        yield chunk;
        after = chunk[chunk.length - 1]!.seq;
      }
    }
    SegmentEventLog.adopt(dir, {
      id: old.id,
      positions,
      notes: inflight === undefined ? {} : { [SHIP_INFLIGHT]: inflight },
      chunks: chunks(),
    });
  } finally {
    await old.close();
  }
  for (const f of ['data.mdb', 'lock.mdb']) fs.rmSync(path.join(dir, f), { force: true });
  return true;
}

/** The default place of the event log in a data directory. */
export const eventLogDir = (dataDir: string) => path.join(dataDir, 'event-log');

/**
 * Webhook receiver → durable local event log → shipper (ClickHouse, in batches) and handler runner;
 * daily rollups (Insight pollers live in ./insight).
 */
export function createIngest(deps: IngestDeps): Ingest {
  // daily figures a few seconds behind are fine; each refresh rereads the dirty days (FINAL)
  const rollup = new DailyRollup(deps.ch, deps.logger, deps.rollupIntervalMs ?? 5000);
  const log =
    'log' in deps.eventLog
      ? deps.eventLog.log
      : new SegmentEventLog({
          dir: deps.eventLog.dir,
          maxBytes: deps.eventLog.maxBytes ?? eventLogMaxBytes(),
          consumers: [SHIPPER, HANDLERS],
          syncOnMain: eventLogSyncOnMain(),
        });
  const secrets = new TenantSecretsCache(deps.tenants, deps.logger);
  const handlers = new EventHandlerRegistry(deps.logger);
  registerAutoReply(handlers, { ...deps, secrets });
  const tables = new LogTables(log);
  const shipper = new Shipper(log, deps.ch, deps.logger, rollup, deps.shipper, tables);
  const runner = new HandlerRunner(log, handlers, deps.logger, deps.handlerRunner);
  const clicks = new ClickSink(log, deps.logger, deps.clickLimits);
  const receiver = createWebhookReceiver({ secrets, log, logger: deps.logger, texts: handlers });
  let stopped = false;
  return {
    handlers,
    log,
    shipper,
    runner,
    rollup,
    clicks,
    tables,
    tenantCache: secrets,
    mount: (front) => front.add(isWebhookRequest, receiver, { forMachines: true }),
    status() {
      const s: EventLogStatus = log.status();
      const ship = s.consumers[SHIPPER]!;
      const handle = s.consumers[HANDLERS]!;
      return {
        healthy: s.healthy,
        ...(s.error ? { error: s.error } : {}),
        backlog: ship,
        handlers: { events: handle.events, oldestAgeMs: handle.oldestAgeMs },
        bytes: s.bytes,
        maxBytes: s.maxBytes,
        shipper: {
          batches: shipper.stats.batches,
          rows: shipper.stats.rows,
          failures: shipper.stats.failures,
          lastShippedAt: shipper.stats.lastShippedAt || null,
        },
        ...(shipper.stats.lastError ? { errors: { shipper: shipper.stats.lastError } } : {}),
        clicks: { ...clicks.stats },
      };
    },
    async start() {
      await secrets.reload();
      secrets.refreshEvery(60_000);
      // handlers run from the log whether or not ClickHouse answers; the rollup needs it
      runner.start();
      shipper.start();
      await rollup.start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      secrets.stopRefresh();
      await runner.stop();
      await shipper.stop();
      await rollup.stop();
      await log.close();
    },
  };
}
