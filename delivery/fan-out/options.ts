/**
 * What every step of the fan-out shares: its options with their defaults, the run state that says
 * the process is stopping, and a delivery's payload as the workers keep it.
 */
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import type { LineEndpoints } from '../../core/line.ts';
import type { Logger } from '../../core/logger.ts';
import type { TenantStore } from '../../core/tenants.ts';
import type { DeliveryMessage } from '../messages.ts';
import type { DeliveryRecord, DeliveryStore } from '../store.ts';

/** How long a delivery's work in Redis (chunks, payload, progress after the end) is kept. */
export const WEEK_S = 7 * 86_400;

export interface FanOutOptions {
  ch: ClickHouseClient;
  redisUrl: string;
  tenants: TenantStore;
  endpoints: () => LineEndpoints;
  logger: Logger;
  store: DeliveryStore;
  /** Multicast requests per second per channel (LINE's default 200). */
  multicastPerSecond?: number | ((tenantId: string) => number);
  /** Share of the limit actually used, so clock jitter rarely crosses LINE's window (default 0.95). */
  headroom?: number;
  /** Chunks (send jobs of up to CHUNK_BATCHES batches) in progress per tenant worker (default 8). */
  concurrency?: number;
  /** Multicast requests in flight per channel at most (default 128; pacing, not this, keeps the rate). */
  inFlight?: number;
  /** A multicast request that has not answered after this long is retried (default 20 s). */
  requestTimeoutMs?: number;
  /** Attempts for 5xx / timeouts before a batch is marked failed (default 8). */
  maxAttempts?: number;
  /** First backoff after a 5xx / timeout (doubles, default 500 ms, at most 30 s). */
  retryBaseMs?: number;
  /** First pause of a channel after a 429 (doubles while 429s continue, default 250 ms, at most 10 s). */
  backoff429Ms?: number;
  /** Consecutive 429s on one batch before it is failed (default 200). */
  max429?: number;
  /** BullMQ lock of an active job: how soon a crashed worker's chunks are taken over (default 30 s). */
  lockDurationMs?: number;
  /** Audience rows per ClickHouse page at most (default 100,000). */
  pageSize?: number;
  /** Registers a finished delivery for Insight polling (ingest/insight): its aggregation unit, or a broadcast's request id. */
  trackDelivery?: (input: {
    tenantId: string;
    kind: 'aggregation_unit' | 'request_id';
    key: string;
    sentAt: number;
  }) => Promise<unknown>;
  /** Called when a delivery reaches done / failed (tests, dashboards). */
  onFinished?: (d: DeliveryRecord) => void;
  /** Base of tracked links (/r/<token>). */
  publicUrl?: () => string | undefined;
}

/** The options with every default filled in. */
export type FanOutConfig = Required<Omit<FanOutOptions, 'trackDelivery' | 'onFinished' | 'publicUrl'>> &
  Pick<FanOutOptions, 'trackDelivery' | 'onFinished' | 'publicUrl'>;

export function withDefaults(opts: FanOutOptions): FanOutConfig {
  return {
    multicastPerSecond: 200,
    headroom: 0.95,
    concurrency: 8,
    inFlight: 128,
    requestTimeoutMs: 20_000,
    maxAttempts: 8,
    retryBaseMs: 500,
    backoff429Ms: 250,
    max429: 200,
    lockDurationMs: 30_000,
    pageSize: 100_000,
    ...opts,
  };
}

/** Set once the process is stopping: every loop of the fan-out checks it before its next step. */
export interface RunState {
  stopped: boolean;
}

/** What a worker needs of a delivery to send its batches (kept in Redis, cached in memory). */
export interface Payload {
  tenantId: string;
  messages: DeliveryMessage[];
  notificationDisabled: boolean;
  unit: string;
  links: string[];
}
