import type { ClickHouseClient } from './clickhouse.ts';

export class BufferFullError extends Error {
  constructor(table: string) {
    super(`write buffer for ${table} is full`);
    this.name = 'BufferFullError';
  }
}

export interface GroupCommitOptions {
  /** Rows in one INSERT at most. */
  maxRows?: number;
  /** While idle, how long a first write waits for company before its INSERT (0: next tick). */
  maxDelayMs?: number;
  /** Rows waiting (not yet in an INSERT) at most; beyond it, writes are refused (back-pressure). */
  maxPendingRows?: number;
  /** INSERTs in flight at once. */
  concurrency?: number;
}

interface Batch<Row> {
  rows: Row[];
  /** One per write, with how many of `rows` it added (in order). */
  waiters: Array<{ resolve: () => void; reject: (e: unknown) => void; n: number }>;
}

/**
 * Group commit for one table: concurrent writers share INSERTs, and each `write` resolves only
 * once its rows are in ClickHouse (or rejects if the INSERT failed). While INSERTs are in flight,
 * new rows gather for the next one, so batches grow with load and latency stays low when idle.
 */
export class GroupCommitWriter<Row extends Record<string, unknown>> {
  #pending: Batch<Row> = { rows: [], waiters: [] };
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #closed = false;
  #idle: Array<() => void> = [];
  readonly #o: Required<GroupCommitOptions>;
  /** Rows and INSERTs written so far (for figures and tests). */
  readonly stats = { rows: 0, inserts: 0, failures: 0, afterInsertFailures: 0 };

  constructor(
    private readonly ch: ClickHouseClient,
    readonly table: string,
    opts: GroupCommitOptions = {},
    private readonly afterInsert?: (rows: Row[]) => void,
  ) {
    this.#o = { maxRows: 10_000, maxDelayMs: 0, maxPendingRows: 200_000, concurrency: 2, ...opts };
  }

  write(rows: Row[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`write buffer for ${this.table} is closed`));
    if (rows.length === 0) return Promise.resolve();
    if (this.#pending.rows.length + rows.length > this.#o.maxPendingRows)
      return Promise.reject(new BufferFullError(this.table));
    return new Promise<void>((resolve, reject) => {
      for (const r of rows) this.#pending.rows.push(r);
      this.#pending.waiters.push({ resolve, reject, n: rows.length });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#inFlight >= this.#o.concurrency) return; // picked up when an INSERT finishes
    if (this.#pending.rows.length >= this.#o.maxRows) {
      this.#flushNow();
      return;
    }
    if (this.#timer || this.#immediate) return;
    if (this.#o.maxDelayMs > 0) this.#timer = setTimeout(() => this.#flushNow(), this.#o.maxDelayMs);
    else this.#immediate = setImmediate(() => this.#flushNow());
  }

  #flushNow(): void {
    clearTimeout(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    while (this.#pending.rows.length > 0 && this.#inFlight < this.#o.concurrency) {
      const batch = this.#take();
      this.#inFlight++;
      // #insert settles every waiter itself and never rejects
      void this.#insert(batch).then(() => {
        this.#inFlight--;
        if (this.#pending.rows.length > 0) this.#flushNow();
        else if (this.#inFlight === 0) for (const fn of this.#idle.splice(0)) fn();
      });
    }
  }

  /** Takes up to maxRows rows, never splitting one writer's rows across two INSERTs. */
  #take(): Batch<Row> {
    const all = this.#pending;
    if (all.rows.length <= this.#o.maxRows) {
      this.#pending = { rows: [], waiters: [] };
      return all;
    }
    let rows = 0;
    let writers = 0;
    while (writers < all.waiters.length && (writers === 0 || rows + all.waiters[writers]!.n <= this.#o.maxRows)) {
      rows += all.waiters[writers]!.n;
      writers++;
    }
    this.#pending = { rows: all.rows.slice(rows), waiters: all.waiters.slice(writers) };
    return { rows: all.rows.slice(0, rows), waiters: all.waiters.slice(0, writers) };
  }

  async #insert(batch: Batch<Row>): Promise<void> {
    try {
      await this.ch.insert({ table: this.table, values: batch.rows, format: 'JSONEachRow' });
      this.stats.rows += batch.rows.length;
      this.stats.inserts++;
    } catch (e) {
      this.stats.failures++;
      for (const w of batch.waiters) w.reject(e);
      return;
    }
    try {
      this.afterInsert?.(batch.rows);
    } catch {
      // the rows are stored: a failing observer must not fail their writers (nor reject unseen)
      this.stats.afterInsertFailures++;
    }
    for (const w of batch.waiters) w.resolve();
  }

  /** Resolves when nothing is pending or in flight. */
  drain(): Promise<void> {
    if (this.#pending.rows.length === 0 && this.#inFlight === 0) return Promise.resolve();
    this.#flushNow();
    return new Promise((r) => this.#idle.push(r));
  }

  /** Refuses new writes and waits for the final flush. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.drain();
  }
}
