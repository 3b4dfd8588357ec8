/**
 * Backup retention: the newest daily backups and the newest of each of the last weeks (Sunday to
 * Saturday, Tokyo) are kept, the rest removed; a directory without a manifest is not a backup and is
 * left alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { backupId, Backups, BACKUP_FORMAT, listBackups } from '../../ops/backup.ts';
import { harness, type Harness } from '../helpers/index.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness({});
});
afterAll(() => h?.close());

it('keeps 7 daily and the newest of each of 4 weeks', () => {
  const dir = path.join(h.dir, 'backups');
  // one backup a day at 03:00 Tokyo, 2026-11-01 … 2026-12-06 (a Sunday)
  const ids: string[] = [];
  for (let d = Date.parse('2026-10-31T18:00:00Z'); d <= Date.parse('2026-12-05T18:00:00Z'); d += 86_400_000) {
    const id = backupId(d);
    ids.push(id);
    fs.mkdirSync(path.join(dir, id), { recursive: true });
    fs.writeFileSync(
      path.join(dir, id, 'manifest.json'),
      JSON.stringify({ format: BACKUP_FORMAT, id, createdAt: '', madeBy: 'test', files: [], tables: [] }),
    );
  }
  fs.mkdirSync(path.join(dir, 'notes'));
  expect(ids).toHaveLength(36);
  const backups = new Backups({ ch: h.ch, stores: [], backupDir: dir });
  const removed = backups.prune({ daily: 7, weekly: 4 });
  const kept = listBackups(dir).map((b) => b.id);
  const tokyoDay = (id: string) =>
    new Date(
      Date.parse(`${id.slice(0, 4)}-${id.slice(4, 6)}-${id.slice(6, 8)}T${id.slice(9, 11)}:00:00Z`) + 9 * 3_600_000,
    )
      .toISOString()
      .slice(0, 10);
  expect(kept.map(tokyoDay)).toEqual([
    '2026-12-06', // newest 7 …
    '2026-12-05',
    '2026-12-04',
    '2026-12-03',
    '2026-12-02',
    '2026-12-01',
    '2026-11-30',
    '2026-11-28', // … and the newest of the weeks from 11/22 and 11/15 (those from 12/06 and 11/29 are among them)
    '2026-11-21',
  ]);
  expect(removed).toHaveLength(36 - 9);
  expect(listBackups(dir).find((b) => tokyoDay(b.id) === '2026-12-06')?.weekly).toBe(true);
  expect(fs.existsSync(path.join(dir, 'notes'))).toBe(true);
});
