import type { ClickHouseClient } from '../core/clickhouse.ts';
import { sql } from '../core/sql.ts';

/**
 * Runs metrics' named queries (sql/queries/metrics.sql) and knows which optional tables other
 * capabilities own (delivery's records, residents' attributes), checked at most once a minute.
 */
export class MetricsReader {
  #tables: { at: number; names: Set<string> } | undefined;

  constructor(readonly ch: ClickHouseClient) {}

  async rows<T>(name: string, params: Record<string, unknown>): Promise<T[]> {
    const rs = await this.ch.query({ query: sql(name), query_params: params, format: 'JSONEachRow' });
    return rs.json<T>();
  }

  /** Optional tables owned by other capabilities, checked at most once a minute. */
  async present(): Promise<Set<string>> {
    if (this.#tables && Date.now() - this.#tables.at < 60_000) return this.#tables.names;
    const rows = await this.rows<{ name: string }>('metrics.tables_present', {
      names: [
        'deliveries',
        'resident_attributes',
        'resident_states',
        'delivery_categories',
        'delivery_attribute_items',
      ],
    });
    this.#tables = { at: Date.now(), names: new Set(rows.map((r) => r.name)) };
    return this.#tables.names;
  }
}

/** A figure from a query's cell: null stays null (LINE withheld it), anything else a number. */
export const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
