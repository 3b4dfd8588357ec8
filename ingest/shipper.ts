import { Readable } from 'node:stream';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import type { Logger } from '../core/logger.ts';
import type { DailyRollup } from './daily-rollup.ts';
import type { ClickRow, EventLog, LogEntry } from './event-log.ts';
import { toRows, type RawEventRow } from './webhook-body.ts';

export const SHIPPER = 'ship';

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

async function* rowLines(rows: readonly ClickRow[], count: { rows: number }): AsyncGenerator<unknown[]> {
  for (let i = 0; i < rows.length; i++) {
    count.rows++;
    yield values(CLICK_COLUMNS, rows[i]!);
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

/**
 * Moves the log into ClickHouse in log order: batches of up to maxEntries, one about every
 * intervalMs (sooner when a batch is full), raw_webhook_events and delivery_clicks each in one INSERT.
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
  /** Figures for /readyz and the bench. */
  readonly stats = {
    batches: 0,
    rows: 0,
    failures: 0,
    lastError: undefined as string | undefined,
    lastShippedAt: 0,
    /** ack → stored, ms, for the newest entries shipped (a bounded sample). */
    lags: [] as number[],
  };

  constructor(
    private readonly log: EventLog,
    private readonly ch: ClickHouseClient,
    private readonly logger: Logger,
    private readonly rollup?: DailyRollup,
    opts: ShipperOptions = {},
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
      const noted = this.log.note('ship.inflight') as InFlight | undefined;
      const redo = noted && noted.from === pos.seq + 1 ? noted : undefined;
      const batch = this.log.read(pos.seq, redo ? redo.to - pos.seq : this.#o.maxEntries);
      if (batch.length === 0) {
        if (this.#stopped) return;
        await this.#sleep(this.#o.intervalMs);
        continue;
      }
      const age = Date.now() - batch[0]!.at;
      if (!redo && !this.#stopped && batch.length < this.#o.maxEntries && age < this.#o.intervalMs) {
        await this.#sleep(this.#o.intervalMs - age);
        continue;
      }
      try {
        await this.#ship(batch, !redo);
        this.#retryMs = this.#o.retryMs;
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
    if (note) await this.log.setNote('ship.inflight', { from: first.seq, to: last.seq } satisfies InFlight);
    let webhooks = 0;
    const clicks: ClickRow[] = [];
    for (const { record } of batch) {
      if (record.kind === 'webhook') webhooks++;
      else if (record.kind === 'click') clicks.push(record.row);
    }
    const token = `log-${this.log.id}-${first.seq}-${last.seq}`;
    const settings = { insert_deduplication_token: token };
    const count = { rows: 0 };
    const dirty: RawEventRow[] = [];
    if (webhooks)
      await this.#insert('raw_webhook_events', RAW_EVENT_COLUMNS, eventLines(batch, count, dirty), settings);
    if (clicks.length) await this.#insert('delivery_clicks', CLICK_COLUMNS, rowLines(clicks, count), settings);
    const now = Date.now();
    this.stats.batches++;
    this.stats.rows += count.rows;
    this.stats.lastShippedAt = now;
    this.stats.lastError = undefined;
    for (const e of batch) this.#lag(now - e.at);
    this.rollup?.markDirty(dirty);
    await this.log.commit(SHIPPER, { seq: last.seq, end: last.end, events: last.events });
    await this.log.setNote('ship.inflight', undefined);
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
