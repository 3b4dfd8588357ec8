import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClickHouseClient, QueryRowError, query } from '../../core/clickhouse.ts';
import { z } from '../../core/zod.ts';
import { harness, type Harness } from '../helpers/index.ts';

let h: Harness;
let ch: ClickHouseClient;
beforeAll(async () => {
  h = await harness();
  ch = h.ch;
  await ch.insert({
    table: 'tenants',
    format: 'JSONEachRow',
    values: [
      {
        tenant_id: '24201',
        name: '津市',
        name_kana: 'つし',
        kind: 'municipality',
        population: 270000,
        channel_id: '',
        bot_user_id: '',
        channel_secret_enc: '',
        channel_access_token_enc: '',
        line_api: 'sandbox',
        auto_reply_text: '',
        created_at: '2026-04-01 00:00:00.000',
        updated_at: '2026-04-02 00:00:00.000',
        version: 1,
        is_deleted: 0,
      },
    ],
  });
});
afterAll(() => h?.close());

const tenantRow = z.object({
  tenant_id: z.string(),
  kind: z.enum(['prefecture', 'municipality']),
  population: z.number().nullable(),
  created_ms: z.coerce.number(),
});

describe('query (named query, zod rows)', () => {
  it('parses every row with the schema (a 64-bit integer coerced to a number: a server quotes it, chDB does not)', async () => {
    const rows = await query(ch, 'tenants.get', { id: '24201' }, tenantRow);
    expect(rows).toEqual([
      { tenant_id: '24201', kind: 'municipality', population: 270000, created_ms: Date.UTC(2026, 3, 1) },
    ]);
  });

  it('answers no rows as an empty list', async () => {
    expect(await query(ch, 'tenants.get', { id: '99999' }, tenantRow)).toEqual([]);
  });

  it('fails on a column of another type, naming the query and the column', async () => {
    const wrong = tenantRow.extend({ population: z.string() });
    const e = await query(ch, 'tenants.get', { id: '24201' }, wrong).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(QueryRowError);
    expect((e as Error).message).toMatch(/^named query 'tenants\.get', row 0: column 'population': /);
  });

  it('fails on a column the query does not return (renamed), saying it is missing', async () => {
    const renamed = tenantRow.extend({ tenant: z.string() });
    await expect(query(ch, 'tenants.list', {}, renamed)).rejects.toThrow(
      "named query 'tenants.list', row 0: column 'tenant' is missing",
    );
  });

  it('fills {{markers}} of a template before running it', async () => {
    const n = z.object({ n: z.coerce.number() });
    expect(await query(ch, 'delivery.audience_count_segment', { tenant: '24201' }, n, { segment: '1 = 1' })).toEqual([
      { n: 0 },
    ]);
  });
});
