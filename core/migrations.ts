import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ClickHouseClient } from './clickhouse.ts';
import { AppError } from './errors.ts';
import { sql, sqlDir, splitStatements } from './sql.ts';
import { chDateTime } from './time.ts';

export interface Migration {
  version: number;
  name: string;
  file: string;
  checksum: string;
  statements: string[];
}

const fileName = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export const migrationsDir = path.join(sqlDir, 'migrations');

export function readMigrations(dir = migrationsDir): Migration[] {
  const out: Migration[] = [];
  for (const file of fs.readdirSync(dir).sort()) {
    const m = fileName.exec(file);
    if (!m) continue;
    const text = fs.readFileSync(path.join(dir, file), 'utf8').replace(/\r\n/g, '\n');
    const version = Number(m[1]);
    if (out.some((x) => x.version === version)) {
      throw new AppError('migration_duplicate', `マイグレーション番号 ${m[1]} が重複しています (${file})`, 500);
    }
    out.push({
      version,
      name: m[2]!,
      file,
      checksum: createHash('sha256').update(text).digest('hex'),
      statements: splitStatements(text),
    });
  }
  return out;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

/**
 * Applies the numbered migrations in order, each recorded with its checksum once all its
 * statements succeeded. Re-running is a no-op; an applied migration whose file changed is refused
 * before anything runs.
 */
export async function migrate(ch: ClickHouseClient, dir = migrationsDir): Promise<MigrateResult> {
  const migrations = readMigrations(dir);
  await ch.command({ query: sql('migrations.create_table') });
  const rs = await ch.query({ query: sql('migrations.applied'), format: 'JSONEachRow' });
  const applied = new Map(
    (await rs.json<{ version: number; name: string; checksum: string }>()).map((r) => [Number(r.version), r]),
  );

  for (const m of migrations) {
    const done = applied.get(m.version);
    if (done && done.checksum !== m.checksum) {
      throw new AppError(
        'migration_changed',
        `マイグレーション ${m.file} は適用済みですが内容が変更されています (記録 ${done.checksum.slice(0, 12)}…, 現在 ${m.checksum.slice(0, 12)}…)。適用済みのファイルは変更せず、新しい番号のファイルを追加してください`,
        500,
      );
    }
  }

  const result: MigrateResult = { applied: [], alreadyApplied: 0 };
  for (const m of migrations) {
    if (applied.has(m.version)) {
      result.alreadyApplied++;
      continue;
    }
    for (const statement of m.statements) {
      try {
        await ch.command({ query: statement });
      } catch (e) {
        throw new AppError(
          'migration_failed',
          `マイグレーション ${m.file} の実行に失敗しました: ${(e as Error).message}`,
          500,
        );
      }
    }
    await ch.insert({
      table: 'schema_migrations',
      values: [{ version: m.version, name: m.name, checksum: m.checksum, applied_at: chDateTime(Date.now()) }],
      format: 'JSONEachRow',
    });
    result.applied.push(m.file);
  }
  return result;
}
