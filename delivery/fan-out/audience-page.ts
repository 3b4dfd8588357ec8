/**
 * Reading the audience: the next page of a delivery's recipients after a cursor, as batch lines in
 * user_id order (test devices; a list of users who are friends; all friends; a segment, by windows
 * of friends).
 */
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { z } from '../../core/zod.ts';
import { type Audience, compileCondition, MAX_LISTED_USERS } from '../audience.ts';
import { batchLines, type Page, readBatchLines, summarize } from '../audience-batches.ts';
import type { DeliveryRecord, DeliveryStore } from '../store.ts';

export interface AudienceSource {
  ch: ClickHouseClient;
  store: Pick<DeliveryStore, 'testDevices' | 'rows'>;
}

/** How many friends the next window holds (count(): a 64-bit integer) and its last user id. */
const windowRow = z.object({ n: z.coerce.number(), upto: z.string() });

/** The next page of the audience after the cursor `after`. */
export async function readAudiencePage(
  src: AudienceSource,
  d: DeliveryRecord,
  after: string,
  limit: number,
): Promise<Page> {
  const a: Audience = d.audience;
  if (a.type === 'test') {
    const ids = (await src.store.testDevices(d.tenantId))
      .map((x) => x.userId)
      .filter((u) => u > after)
      .sort();
    return { lines: batchLines(ids), count: ids.length, upto: ids.at(-1) ?? after, done: true };
  }
  if (a.type === 'users') {
    // the named residents who are friends now; the rest are skipped (skippedOf) — one page, ≤ 500
    const lines = await readBatchLines(src.ch, 'delivery.audience_users_page', {
      tenant: d.tenantId,
      after,
      limit: MAX_LISTED_USERS,
      ids: a.userIds,
    });
    const { count, last } = summarize(lines);
    return { lines, count, upto: last ?? after, done: true };
  }
  if (a.type === 'all') {
    const lines = await readBatchLines(src.ch, 'delivery.audience_page', { tenant: d.tenantId, after, limit });
    const { count, last } = summarize(lines);
    return { lines, count, upto: last ?? after, done: count < limit };
  }
  // a segment: a window of `limit` friends, then those of them the segment selects
  const w = (await src.store.rows('delivery.audience_window', { tenant: d.tenantId, after, limit }, windowRow))[0];
  const n = Number(w?.n ?? 0);
  if (n === 0) return { lines: Buffer.alloc(0), count: 0, upto: after, done: true };
  const c = compileCondition(a.condition, { range: true });
  const lines = await readBatchLines(
    src.ch,
    'delivery.audience_segment_range',
    { tenant: d.tenantId, after, upto: w!.upto, ...c.params },
    c.sql,
  );
  return { lines, count: summarize(lines).count, upto: w!.upto, done: n < limit };
}
