import type { EventLog, RowsRecord } from './event-log.ts';

/** A table's rows to append. */
export interface TableRows {
  table: string;
  rows: Record<string, unknown>[];
}

const NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * ClickHouse tables other capabilities write through the event log (e.g. mileage's ledger): a caller
 * registers a table with its columns, appends rows (acknowledged once durable in the log, not once in
 * ClickHouse), and the shipper inserts them in log order, one INSERT per table and batch, with the
 * batch's deduplication token (so the table needs a deduplication window, like delivery_clicks).
 * Only registered tables are accepted.
 */
export class LogTables {
  readonly #columns = new Map<string, readonly string[]>();

  constructor(private readonly log: EventLog) {}

  /** Registers a table and the columns the shipper sends (in this order); once per table. */
  register(table: string, columns: readonly string[]): void {
    if (!NAME.test(table) || columns.length === 0 || !columns.every((c) => NAME.test(c)))
      throw new Error(`event log table: bad name or columns: ${table}`);
    const known = this.#columns.get(table);
    if (known && known.join(',') !== columns.join(','))
      throw new Error(`event log table ${table} is registered with other columns`);
    this.#columns.set(table, [...columns]);
  }

  /** The registered columns of a table (undefined: not registered). */
  columns(table: string): readonly string[] | undefined {
    return this.#columns.get(table);
  }

  /**
   * Appends rows of registered tables in one durable write (all or none); resolves once they are
   * synced. Throws BacklogFullError when the log is at its bound, or the log's write error.
   */
  async append(parts: TableRows[]): Promise<void> {
    const records: RowsRecord[] = [];
    for (const p of parts) {
      if (!this.#columns.has(p.table)) throw new Error(`event log table not registered: ${p.table}`);
      if (p.rows.length) records.push({ kind: 'rows', table: p.table, rows: p.rows });
    }
    await this.log.append(records);
  }
}
