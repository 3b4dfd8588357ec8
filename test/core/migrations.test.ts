import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { migrate, migrationsDir, readMigrations } from '../../core/migrations.ts';
import { splitStatements } from '../../core/sql.ts';
import { harness, type Harness } from '../helpers/index.ts';

let h: Harness;
let ch: ClickHouseClient;

beforeAll(async () => {
  h = await harness({ clickhouse: { migrate: false } });
  ch = h.ch;
});
afterAll(() => h?.close());

async function count(query: string): Promise<number> {
  const rs = await ch.query({ query, format: 'JSONEachRow' });
  return Number((await rs.json<{ c: string }>())[0]!.c);
}

describe('migrations', () => {
  it('apply the numbered files in order, then re-running is a no-op', async () => {
    const files = readMigrations().map((m) => m.file);
    expect(files.length).toBeGreaterThan(0);
    expect([...files].sort()).toEqual(files);

    const first = await migrate(ch);
    expect(first.applied).toEqual(files);
    expect(
      await count("SELECT count() AS c FROM system.tables WHERE database = currentDatabase() AND name = 'tenants'"),
    ).toBe(1);

    const second = await migrate(ch);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toBe(files.length);
    expect(await count('SELECT count() AS c FROM schema_migrations')).toBe(files.length);
  });

  it('refuses an applied migration whose file changed, before running anything', async () => {
    const dir = path.join(h.dir, 'migrations');
    fs.cpSync(migrationsDir, dir, { recursive: true });
    const first = readMigrations(dir)[0]!;
    fs.appendFileSync(path.join(dir, first.file), '\n-- edited after it was applied\n');
    fs.writeFileSync(
      path.join(dir, '9999_never_runs.sql'),
      'CREATE TABLE IF NOT EXISTS never_runs (x UInt8) ENGINE = MergeTree ORDER BY x;\n',
    );

    await expect(migrate(ch, dir)).rejects.toMatchObject({
      code: 'migration_changed',
      message: expect.stringContaining(first.file),
    });
    expect(
      await count("SELECT count() AS c FROM system.tables WHERE database = currentDatabase() AND name = 'never_runs'"),
    ).toBe(0);
  });

  it('applies a new migration added later, once', async () => {
    const dir = path.join(h.dir, 'migrations2');
    fs.cpSync(migrationsDir, dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, '9998_extra.sql'),
      '-- two statements\nCREATE TABLE IF NOT EXISTS extra_a (x UInt8) ENGINE = MergeTree ORDER BY x;\nCREATE TABLE IF NOT EXISTS extra_b (x UInt8) ENGINE = MergeTree ORDER BY x;\n',
    );
    expect((await migrate(ch, dir)).applied).toEqual(['9998_extra.sql']);
    expect((await migrate(ch, dir)).applied).toEqual([]);
    expect(
      await count("SELECT count() AS c FROM system.tables WHERE database = currentDatabase() AND name LIKE 'extra_%'"),
    ).toBe(2);
  });

  it('refuses two files with the same number', () => {
    const dir = path.join(h.dir, 'dup');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '0001_a.sql'), 'SELECT 1;');
    fs.writeFileSync(path.join(dir, '0001_b.sql'), 'SELECT 1;');
    expect(() => readMigrations(dir)).toThrow(/重複/);
  });

  it('splits statements on semicolons at line ends, ignoring comments', () => {
    expect(splitStatements("-- c;\nSELECT 1;\nSELECT ';' AS x;\n\nSELECT 3")).toEqual([
      'SELECT 1',
      "SELECT ';' AS x",
      'SELECT 3',
    ]);
  });
});
