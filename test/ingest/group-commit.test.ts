import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@clickhouse/client';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { BufferFullError, GroupCommitWriter } from '../../core/group-commit.ts';
import { harness, type Harness } from '../helpers/index.ts';

let h: Harness;
let ch: ClickHouseClient;
beforeAll(async () => {
  h = await harness({ clickhouse: { migrate: false } });
  ch = h.ch;
  await ch.command({ query: 'CREATE TABLE gc (writer UInt32, n UInt32) ENGINE = MergeTree ORDER BY (writer, n)' });
});
afterAll(() => h?.close());

const rows = (writer: number, k: number) => Array.from({ length: k }, (_, n) => ({ writer, n }));
const count = async (where = '1') =>
  Number(
    (
      await (
        await ch.query({ query: `SELECT count() AS c FROM gc WHERE ${where}`, format: 'JSONEachRow' })
      ).json<{ c: string }>()
    )[0]!.c,
  );

describe('GroupCommitWriter', () => {
  it('shares INSERTs between concurrent writers and resolves each only once its rows are stored', async () => {
    const w = new GroupCommitWriter(ch, 'gc', { concurrency: 1 });
    const done = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        await w.write(rows(i, 3));
        return count(`writer = ${i}`);
      }),
    );
    expect(done.every((c) => c === 3)).toBe(true);
    expect(w.stats.rows).toBe(120);
    expect(w.stats.inserts).toBeLessThan(40);
  });

  it("never splits one writer's rows across INSERTs when a batch reaches maxRows", async () => {
    const seen: number[][] = [];
    const w = new GroupCommitWriter<{ writer: number; n: number }>(ch, 'gc', { maxRows: 10, concurrency: 1 }, (batch) =>
      seen.push([...new Set(batch.map((r) => r.writer))]),
    );
    await Promise.all([w.write(rows(101, 6)), w.write(rows(102, 6)), w.write(rows(103, 6)), w.write(rows(104, 15))]);
    expect(seen.flat().sort()).toEqual([101, 102, 103, 104]);
    expect(await count('writer BETWEEN 101 AND 104')).toBe(33);
    expect(w.stats.inserts).toBeGreaterThanOrEqual(3);
  });

  it('refuses writes beyond its bound instead of growing without limit', async () => {
    const w = new GroupCommitWriter(ch, 'gc', { maxPendingRows: 5, concurrency: 1 });
    const first = w.write(rows(201, 5));
    await expect(w.write(rows(202, 1))).rejects.toBeInstanceOf(BufferFullError);
    await first;
    await w.write(rows(203, 1));
  });

  it('rejects every writer of a failed INSERT, and stores nothing of it', async () => {
    const broken = createClient({ url: 'http://127.0.0.1:1', request_timeout: 1000 });
    const w = new GroupCommitWriter(broken, 'gc');
    const results = await Promise.allSettled([w.write(rows(301, 2)), w.write(rows(302, 2))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await count('writer IN (301, 302)')).toBe(0);
    expect(w.stats.failures).toBeGreaterThan(0);
    await broken.close();
  });

  it('flushes what is pending on close and refuses writes afterwards', async () => {
    const w = new GroupCommitWriter(ch, 'gc', { maxDelayMs: 50 });
    const p = w.write(rows(401, 4));
    await w.close();
    await p;
    expect(await count('writer = 401')).toBe(4);
    await expect(w.write(rows(402, 1))).rejects.toThrow(/closed/);
  });
});
