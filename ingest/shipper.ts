import { Readable } from 'node:stream';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import type { Logger } from '../core/logger.ts';
import type { DailyRollup } from './daily-rollup.ts';
import type { ClickRow, EventLog, LogEntry } from './event-log.ts';
import type { LogTables } from './tables.ts';
import { toRows, type RawEventRow } from './webhook-body.ts';

export const SHIPPER = 'ship';
/** The log's note of the batch being inserted (see InFlight). */
export const SHIP_INFLIGHT = 'ship.inflight';

/** raw_webhook_events' columns, in the order toRows builds them. */
const RAW_EVENT_COLUMNS = [
  'tenant_id',
  'day',
  'type',
  'webhook_event_id',
  'ts',
  'mode',
  'source_type',
  'user_id',
  'group_id',
  'is_redelivery',
  'is_unblocked',
  'postback_data',
  'message_type',
  'received_at',
] as const satisfies ReadonlyArray<keyof RawEventRow>;
const CLICK_COLUMNS = ['tenant_id', 'delivery_id', 'link_no', 'bucket', 'clicked_at'] as const satisfies ReadonlyArray<
  keyof ClickRow
>;
const CHUNK_ENTRIES = 500;

const values = (columns: readonly string[], r: Record<string, unknown>) => columns.map((c) => r[c]);
const turn = () => new Promise<void>((r) => setImmediate(r));

/** The batch's webhook events as rows of values, yielding to the event loop every CHUNK_ENTRIES entries. */
async function* eventLines(
  batch: LogEntry[],
  count: { rows: number },
  dirty: RawEventRow[],
): AsyncGenerator<unknown[]> {
  let n = 0;
  for (const { record } of batch) {
    if (record.kind !== 'webhook') continue;
    for (const r of toRows(record.tenantId, record.events, record.receivedAt)) {
      dirty.push(r);
      count.rows++;
      yield values(RAW_EVENT_COLUMNS, r);
    }
    if (++n % CHUNK_ENTRIES === 0) await turn();
  }
}

async function* rowLines(
  columns: readonly string[],
  rows: readonly Record<string, unknown>[],
  count: { rows: number },
): AsyncGenerator<unknown[]> {
  for (let i = 0; i < rows.length; i++) {
    count.rows++;
    yield values(columns, rows[i]!);
    if ((i + 1) % CHUNK_ENTRIES === 0) await turn();
  }
}

export interface ShipperOptions {
  /** Entries in one batch at most. */
  maxEntries?: number;
  /** How long the oldest entry may wait for company before its batch goes (ms). */
  intervalMs?: number;
  /** First and largest wait after a failed INSERT (ms); doubles in between. */
  retryMs?: number;
  maxRetryMs?: number;
}

/** The batch the shipper is inserting: kept beside the positions, so a restart re-sends exactly it. */
interface InFlight {
  from: number;
  to: number;
}

interface DrainWaiter {
  target: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Moves the log into ClickHouse in log order: batches of up to maxEntries, one about every
 * intervalMs (sooner when a batch is full or someone waits in drain()), raw_webhook_events,
 * delivery_clicks and each registered table's rows (ingest/tables.ts) each in one INSERT.
 * Before an INSERT the batch's range is noted; its INSERTs carry a deduplication token made of the
 * log's id and that range, so a batch re-sent after a crash is stored once, while another node's log
 * (or a log made afresh) never collides with it (and raw_webhook_events collapses
 * duplicates by webhook_event_id anyway). A failed INSERT is retried with backoff, the same batch, for
 * as long as it takes; the position moves only after success.
 */
export class Shipper {
  readonly #o: Required<ShipperOptions>;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retryMs: number;
  #waiters: DrainWaiter[] = [];
  /** Figures for /readyz and the bench. */
  readonly stats = {
    batches: 0,
    rows: 0,
    failures: 0,
    lastError: undefined as string | undefined,
    lastShippedAt: 0,
    /** ack → stored, ms, for the newest entries shipped (a bounded sample). */
    lags: [] as number[],
    /** INSERTs and rows per registered table (ingest/tables.ts). */
    tables: {} as Record<string, { inserts: number; rows: number }>,
  };

  constructor(
    private readonly log: EventLog,
    private readonly ch: ClickHouseClient,
    private readonly logger: Logger,
    private readonly rollup?: DailyRollup,
    opts: ShipperOptions = {},
    private readonly tables?: LogTables,
  ) {
    this.#o = { maxEntries: 20_000, intervalMs: 1000, retryMs: 200, maxRetryMs: 5_000, ...opts };
    this.#retryMs = this.#o.retryMs;
    log.onAppend(() => {
      if (this.#wake && this.#pending() >= this.#o.maxEntries) this.#wake();
    });
  }

  #pending(): number {
    return this.log.head() - this.log.position(SHIPPER).seq;
  }

  start(): void {
    this.#loop ??= this.#run().catch((err: unknown) => this.logger.error({ err }, 'event log shipper stopped'));
  }

  /**
   * Resolves once everything appended before the call is in ClickHouse (its batch goes at once, not
   * after intervalMs); rejects after `timeoutMs` if it is not (ClickHouse away, shipper not started).
   */
  drain(timeoutMs = 30_000): Promise<void> {
    const target = this.log.head();
    if (this.log.position(SHIPPER).seq >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w: DrainWaiter = {
        target,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((x) => x !== w);
          reject(new Error(`the event log has not reached ClickHouse within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#waiters.push(w);
      this.#wake?.();
    });
  }

  #settleWaiters(): void {
    if (this.#waiters.length === 0) return;
    const at = this.log.position(SHIPPER).seq;
    this.#waiters = this.#waiters.filter((w) => {
      if (w.target > at) return true;
      clearTimeout(w.timer);
      w.resolve();
      return false;
    });
  }

  /** Ships what is in the log, then stops. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = () => {
        clearTimeout(this.#timer);
        this.#wake = undefined;
        resolve();
      };
      this.#timer = setTimeout(this.#wake, ms);
    });
  }

  async #run(): Promise<void> {
    for (;;) {
      const pos = this.log.position(SHIPPER);
      const noted = this.log.note(SHIP_INFLIGHT) as InFlight | undefined;
      const redo = noted && noted.from === pos.seq + 1 ? noted : undefined;
      const batch = this.log.read(pos.seq, redo ? redo.to - pos.seq : this.#o.maxEntries);
      if (batch.length === 0) {
        if (this.#stopped) return;
        await this.#sleep(this.#o.intervalMs);
        continue;
      }
      const age = Date.now() - batch[0]!.at;
      const waited = this.#waiters.length > 0;
      if (!redo && !this.#stopped && !waited && batch.length < this.#o.maxEntries && age < this.#o.intervalMs) {
        await this.#sleep(this.#o.intervalMs - age);
        continue;
      }
      try {
        await this.#ship(batch, !redo);
        this.#retryMs = this.#o.retryMs;
        this.#settleWaiters();
      } catch (err) {
        this.stats.failures++;
        this.stats.lastError = (err as Error).message;
        this.logger.warn(
          { err: (err as Error).message, entries: batch.length, retryMs: this.#retryMs },
          'shipping the event log to ClickHouse failed; retrying',
        );
        if (this.#stopped) return; // what is left ships at the next start
        await this.#sleep(this.#retryMs);
        this.#retryMs = Math.min(this.#o.maxRetryMs, this.#retryMs * 2);
      }
    }
  }

  async #ship(batch: LogEntry[], note: boolean): Promise<void> {
    const first = batch[0]!;
    const last = batch[batch.length - 1]!;
    if (note) await this.log.setNote(SHIP_INFLIGHT, { from: first.seq, to: last.seq } satisfies InFlight);
    let webhooks = 0;
    const clicks: ClickRow[] = [];
    // each table's rows in log order (tables in the order first seen)
    const tableRows = new Map<string, Record<string, unknown>[]>();
    for (const { record } of batch) {
      if (record.kind === 'webhook') webhooks++;
      else if (record.kind === 'click') clicks.push(record.row);
      else {
        const rows = tableRows.get(record.table);
        if (rows) for (const r of record.rows) rows.push(r);
        else tableRows.set(record.table, [...record.rows]);
      }
    }
    // a table not registered (yet) holds the log back rather than losing its rows: retried
    for (const table of tableRows.keys())
      if (!this.tables?.columns(table)) throw new Error(`rows for a table not registered with the event log: ${table}`);
    const token = `log-${this.log.id}-${first.seq}-${last.seq}`;
    const settings = { insert_deduplication_token: token };
    const count = { rows: 0 };
    const dirty: RawEventRow[] = [];
    try {
      await this.#insertAll(batch, webhooks, clicks, tableRows, count, dirty, settings);
    } finally {
      // the embedded engine keeps a query's settings in its session: a later INSERT without a token
      // (another writer's) would otherwise carry this batch's token and be dropped as a repeat
      await this.ch
        .command({ query: 'SELECT 1', clickhouse_settings: { insert_deduplication_token: '' } })
        .catch(() => {});
    }
    const now = Date.now();
    this.stats.batches++;
    this.stats.rows += count.rows;
    this.stats.lastShippedAt = now;
    this.stats.lastError = undefined;
    for (const e of batch) this.#lag(now - e.at);
    this.rollup?.markDirty(dirty);
    await this.log.commit(SHIPPER, { seq: last.seq, end: last.end, events: last.events });
    await this.log.setNote(SHIP_INFLIGHT, undefined);
  }

  async #insertAll(
    batch: LogEntry[],
    webhooks: number,
    clicks: ClickRow[],
    tableRows: Map<string, Record<string, unknown>[]>,
    count: { rows: number },
    dirty: RawEventRow[],
    settings: { insert_deduplication_token: string },
  ): Promise<void> {
    if (webhooks)
      await this.#insert('raw_webhook_events', RAW_EVENT_COLUMNS, eventLines(batch, count, dirty), settings);
    if (clicks.length)
      await this.#insert('delivery_clicks', CLICK_COLUMNS, rowLines(CLICK_COLUMNS, clicks, count), settings);
    for (const [table, rows] of tableRows) {
      const columns = this.tables!.columns(table)!;
      await this.#insert(table, columns, rowLines(columns, rows, count), settings);
      const t = (this.stats.tables[table] ??= { inserts: 0, rows: 0 });
      t.inserts++;
      t.rows += rows.length;
    }
  }

  /**
   * Rows as arrays under their column names (JSONCompactEachRow: a quarter less work for the engine
   * than JSONEachRow), streamed and encoded between event-loop turns, so that a batch of 20,000 rows
   * does not hold up the webhooks being acknowledged meanwhile.
   */
  async #insert(
    table: string,
    columns: readonly string[],
    lines: AsyncGenerator<unknown[]>,
    settings: { insert_deduplication_token: string },
  ): Promise<void> {
    await this.ch.insert({
      table,
      columns: columns as [string, ...string[]],
      values: Readable.from(lines),
      format: 'JSONCompactEachRow',
      clickhouse_settings: settings,
    });
  }

  #lag(ms: number): void {
    const l = this.stats.lags;
    if (l.length < 100_000) l.push(ms);
    else l[Math.floor(Math.random() * l.length)] = ms;
  }
}
