import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { z } from '../core/zod.ts';

// Column schemas of metrics' rows (sql/queries/metrics.sql). Counts, sums and epoch milliseconds are
// 64-bit integers, which a ClickHouse server sends quoted and chDB bare: both read as numbers.
/** A count or sum. */
export const int64 = z.coerce.number();
/** One of LINE's figures: NULL when LINE withheld it (its privacy threshold), a number otherwise. */
export const figure = z.coerce.number().nullable();

/**
 * Holds metrics' ClickHouse client (its named queries run through core/clickhouse.ts `query`) and
 * knows which optional tables other capabilities own (delivery's records, residents' attributes),
 * checked at most once a minute.
 */
export class MetricsReader {
  #tables: { at: number; names: Set<string> } | undefined;

  constructor(readonly ch: ClickHouseClient) {}

  /** Optional tables owned by other capabilities, checked at most once a minute. */
  async present(): Promise<Set<string>> {
    if (this.#tables && Date.now() - this.#tables.at < 60_000) return this.#tables.names;
    const names = [
      'deliveries',
      'resident_attributes',
      'resident_states',
      'delivery_categories',
      'delivery_attribute_items',
    ];
    const rows = await query(this.ch, 'metrics.tables_present', { names }, z.object({ name: z.string() }));
    this.#tables = { at: Date.now(), names: new Set(rows.map((r) => r.name)) };
    return this.#tables.names;
  }
}
