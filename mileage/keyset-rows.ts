/**
 * Reading many rows in bounded memory (the guards' rebuild, the participants' CSV): a named query with keyset
 * parameters (`after_…`, `limit`) read a page at a time, each page taken from the ClickHouse
 * client's streaming result (JSONEachRow) row by row and handed on in small batches. A server
 * streams the page; the embedded engine answers a page at once, so the page size bounds memory there.
 */
import { type ClickHouseClient, QueryRowError } from '../core/clickhouse.ts';
import { sql } from '../core/sql.ts';
import type { z } from '../core/zod.ts';

/** What a batch of parsed rows is handed on in. */
export const ROW_BATCH = 2_000;

export interface KeysetQuery<S extends z.ZodType> {
  name: string;
  params: Record<string, unknown>;
  row: S;
  /** The keyset parameters to start from ('' each) … */
  first: Record<string, string>;
  /** … and those after a row. */
  after: (row: z.output<S>) => Record<string, string>;
  pageRows: number;
}

/** Every row of the query in its order, as batches of at most ROW_BATCH rows. */
export async function* keysetBatches<S extends z.ZodType>(
  ch: ClickHouseClient,
  q: KeysetQuery<S>,
): AsyncGenerator<Array<z.output<S>>> {
  const text = sql(q.name);
  let after = q.first;
  for (;;) {
    const rs = await ch.query({
      query: text,
      query_params: { ...q.params, ...after, limit: q.pageRows },
      format: 'JSONEachRow',
    });
    let n = 0;
    let last: z.output<S> | undefined;
    let batch: Array<z.output<S>> = [];
    for await (const rows of rs.stream()) {
      for (const raw of rows as Array<{ json(): unknown }>) {
        const value = raw.json();
        const r = q.row.safeParse(value);
        if (!r.success) throw new QueryRowError(q.name, n, value, r.error);
        last = r.data;
        n++;
        batch.push(r.data);
        if (batch.length >= ROW_BATCH) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length) yield batch;
    if (n < q.pageRows || last === undefined) return;
    after = q.after(last);
  }
}
