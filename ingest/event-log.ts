/**
 * The event log in front of ClickHouse: what a webhook, a click or a registered table's rows (e.g. a
 * mileage award) are acknowledged against. One small interface, so that a distributed log (Kafka)
 * can stand in for the local one: append (durable on resolve), read in order after a position, and
 * per-consumer positions.
 */
import type { WebhookEvent } from './webhook-body.ts';

/** A resident's click on a tracked link: a delivery_clicks row. */
export interface ClickRow extends Record<string, unknown> {
  tenant_id: string;
  delivery_id: string;
  link_no: number;
  bucket: string;
  /** 'YYYY-MM-DD hh:mm:ss.sss' (UTC) */
  clicked_at: string;
}

/** Rows for a registered ClickHouse table (ingest/tables.ts), inserted by the shipper in log order. */
export interface RowsRecord {
  kind: 'rows';
  table: string;
  rows: Record<string, unknown>[];
}

export type LogRecord =
  | { kind: 'webhook'; tenantId: string; receivedAt: number; events: WebhookEvent[] }
  | { kind: 'click'; row: ClickRow }
  | RowsRecord;

export interface LogEntry {
  /** Position in the log: 1, 2, 3 … in append order. */
  seq: number;
  /** Bytes appended up to and including this entry (for backlog sizes). */
  end: number;
  /** Events (webhook events, clicks, table rows) appended up to and including this entry. */
  events: number;
  /** When it was appended (epoch ms). */
  at: number;
  record: LogRecord;
}

/** Where a consumer stands: everything up to `seq` is done. */
export interface LogPosition {
  seq: number;
  end: number;
  events: number;
}

export interface ConsumerBacklog {
  /** Events (webhook events, clicks, table rows) after the consumer's position … */
  events: number;
  /** … in this many entries (one per acknowledged request or click). */
  entries: number;
  bytes: number;
  /** Age of the oldest entry the consumer has not done (ms), or null when it is caught up. */
  oldestAgeMs: number | null;
}

export interface EventLogStatus {
  /** False after a failed append or sync (until one succeeds again). */
  healthy: boolean;
  error?: string;
  /** Bytes kept (not yet done by every consumer) and the bound past which appends are refused. */
  bytes: number;
  maxBytes: number;
  consumers: Record<string, ConsumerBacklog>;
}

export interface EventLog {
  /**
   * This log's identity, made when it was created: part of the shipper's deduplication tokens, so
   * that two logs (two nodes, or a log made afresh) never share a token in ClickHouse.
   */
  readonly id: string;
  /** Appends in order; resolves once the records are durable (synced). */
  append(records: LogRecord[]): Promise<void>;
  /** The last durable entry's seq (0 when none was ever appended). */
  head(): number;
  /** Durable entries after `after`, in order, at most `max`. */
  read(after: number, max: number): LogEntry[];
  /** A consumer's position (0 before its first commit). */
  position(consumer: string): LogPosition;
  /** Moves a consumer's position forward; entries every consumer has done are freed. */
  commit(consumer: string, to: LogPosition): Promise<void>;
  /** A small durable value beside the positions (e.g. the range a shipper is about to insert). */
  note(name: string): unknown;
  setNote(name: string, value: unknown): Promise<void>;
  /** Called (synchronously, after durability) whenever entries were appended. */
  onAppend(fn: () => void): void;
  status(): EventLogStatus;
  close(): Promise<void>;
}

/** The log holds as many bytes as it may: 503 backlog_full, LINE redelivers later. */
export class BacklogFullError extends Error {
  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`event log is full (${bytes} of ${maxBytes} bytes)`);
    this.name = 'BacklogFullError';
  }
}

/** Default bound of the local log: 1 GiB. */
export const DEFAULT_EVENT_LOG_MAX_BYTES = 1024 ** 3;

/** TAYORI_EVENT_LOG_MAX_BYTES: a whole number of bytes, optionally with K, M or G (binary). */
export function eventLogMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TAYORI_EVENT_LOG_MAX_BYTES?.trim();
  if (!raw) return DEFAULT_EVENT_LOG_MAX_BYTES;
  const m = /^(\d+)\s*([KMG]i?B?)?$/i.exec(raw);
  if (!m)
    throw new Error(`TAYORI_EVENT_LOG_MAX_BYTES はバイト数 (例: 1073741824 または 1G) で指定してください: ${raw}`);
  const unit = (m[2] ?? '').charAt(0).toUpperCase();
  const n = Number(m[1]) * (unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1);
  if (!Number.isSafeInteger(n) || n < 4096) throw new Error('TAYORI_EVENT_LOG_MAX_BYTES は 4096 以上にしてください');
  return n;
}

/**
 * TAYORI_EVENT_LOG_SYNC: where the log's group write (O_DSYNC) waits for the disk — `main` (default:
 * the least CPU per webhook) or `pool` (libuv's threads: the event loop stays free while a slow disk
 * syncs, at 6–30 % more CPU per webhook).
 */
export function eventLogSyncOnMain(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env.TAYORI_EVENT_LOG_SYNC?.trim() || 'main';
  if (raw !== 'main' && raw !== 'pool')
    throw new Error(`TAYORI_EVENT_LOG_SYNC は main または pool で指定してください: ${raw}`);
  return raw === 'main';
}

/** Events a record stands for (a webhook request or a table's record may carry several). */
export function eventsIn(r: LogRecord): number {
  return r.kind === 'webhook' ? r.events.length : r.kind === 'rows' ? r.rows.length : 1;
}

/**
 * A log's status from its figures: each consumer's backlog up to the durable end, and unhealthy for a
 * minute after a failed write or sync, even if nothing else is appended meanwhile.
 */
export function logStatus(f: {
  positions: Iterable<[string, LogPosition]>;
  durable: LogPosition;
  /** Age (ms) of the entry at seq, null when there is none. */
  ageOf: (seq: number) => number | null;
  error: { message: string; at: number } | undefined;
  bytes: number;
  maxBytes: number;
}): EventLogStatus {
  const consumers: EventLogStatus['consumers'] = {};
  for (const [name, p] of f.positions) {
    consumers[name] = {
      entries: f.durable.seq - p.seq,
      events: f.durable.events - (p.events ?? 0),
      bytes: f.durable.end - p.end,
      oldestAgeMs: f.ageOf(p.seq + 1),
    };
  }
  const failing = f.error !== undefined && Date.now() - f.error.at < 60_000;
  return {
    healthy: !failing,
    ...(failing ? { error: f.error!.message } : {}),
    bytes: f.bytes,
    maxBytes: f.maxBytes,
    consumers,
  };
}
