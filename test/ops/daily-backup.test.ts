/**
 * The daily backup job as the suite runs it: ops.start() registers the BullMQ job scheduler
 * 'daily-backup' (Asia/Tokyo, TAYORI_BACKUP_TIME) on a real redis-server and its worker. The test
 * does not wait for the day: it promotes the scheduler's delayed job (what BullMQ itself does when
 * the time comes), and the worker makes a backup, prunes to the retention, and records it. Then a
 * store that cannot be read makes the next run fail: the job fails with the Japanese reason, the
 * failure is recorded (the 運用 page's list), counted on /metrics, and the failed job shows in the
 * queue's depths. The backups' clock is injected, so nothing depends on today's date.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Job, Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.ts';
import { createMailer } from '../../core/mailer.ts';
import { metricsText } from '../../core/metrics-registry.ts';
import { connectRedis } from '../../core/redis.ts';
import { BACKUP_FORMAT, backupId, listBackups } from '../../ops/backup.ts';
import { BACKUP_SCHEDULER, createOps, OPS_QUEUE, type Ops } from '../../ops/index.ts';
import { isOpenDay } from '../../reports/due-date.ts';
import { harness, waitFor, type Harness } from '../helpers/index.ts';

const PREFIX = 'tayori-daily-backup-test';
const BACKUP_TIME = '03:15';
let h: Harness;
let ops: Ops;
let queue: Queue;
let backupDir = '';
/** The backups' clock: 2026-12-07 03:15 Tokyo, moved a day for the second run. */
let clock = Date.parse('2026-12-06T18:15:00Z');
let storeFails = false;

beforeAll(async () => {
  h = await harness({ redis: true });
  backupDir = path.join(h.dir, 'backups');
  // four older daily backups already on disk (manifests only), and a directory that is not a backup
  for (let d = 1; d <= 4; d++) {
    const id = backupId(clock - d * 86_400_000);
    fs.mkdirSync(path.join(backupDir, id), { recursive: true });
    fs.writeFileSync(
      path.join(backupDir, id, 'manifest.json'),
      JSON.stringify({ format: BACKUP_FORMAT, id, createdAt: '', madeBy: 'test', files: [], tables: [] }),
    );
  }
  fs.mkdirSync(path.join(backupDir, 'notes'));
  const files = path.join(h.dir, 'reports');
  fs.mkdirSync(files, { recursive: true });
  fs.writeFileSync(path.join(files, 'report.txt'), '月次報告');
  ops = createOps({
    ch: h.ch,
    redis: h.redis.client,
    redisUrl: h.redis.url,
    prefix: PREFIX,
    logger: createLogger('silent'),
    mailer: createMailer({}),
    settings: {
      backupDir,
      backupTime: BACKUP_TIME,
      keepDaily: 2,
      keepWeekly: 0,
      checkIntervalMs: 60_000,
      incidentAfterMs: 60_000,
    },
    sources: { readiness: async () => ({ status: 'ok', errors: {} }) },
    stores: [
      {
        name: 'reports',
        dir: files,
        async copy(dest) {
          if (storeFails) throw new Error('EIO: i/o error, read');
          fs.cpSync(files, dest, { recursive: true });
        },
      },
    ],
    isOpenDay,
    selfCheck: false,
    now: () => clock,
  });
  await ops.start();
  const connection = connectRedis(h.redis.url, { forQueues: true });
  h.defer('quit the test queue connection', () => connection.quit());
  queue = new Queue(OPS_QUEUE, { connection, prefix: PREFIX });
}, 120_000);
afterAll(async () => {
  await queue?.close();
  await ops?.stop();
  await h?.close();
});

/** The scheduler's next run, waiting in the queue as a delayed job. */
async function scheduled(): Promise<Job> {
  return waitFor(
    async () => (await queue.getDelayed()).find((j) => j.repeatJobKey === BACKUP_SCHEDULER && j.attemptsMade === 0),
    20_000,
    'the scheduled daily backup',
  );
}

const tokyoHourMinute = (ms: number) => new Date(ms + 9 * 3_600_000).toISOString().slice(11, 16);

it('registers the daily scheduler at the configured Tokyo time', async () => {
  const s = await queue.getJobScheduler(BACKUP_SCHEDULER);
  expect(s).toMatchObject({ pattern: '15 3 * * *', tz: 'Asia/Tokyo' });
  const job = await scheduled();
  expect(job.name).toBe('backup');
  expect(tokyoHourMinute(job.timestamp + job.opts.delay!)).toBe(BACKUP_TIME);
});

it('the scheduled job makes a backup and prunes to the retention', async () => {
  const job = await scheduled();
  await job.promote();
  const done = await waitFor(
    async () => {
      // the snapshot itself must be finished: a job read just before it completes has no return value
      // yet, even if isCompleted() (a second read) says it is done by now
      const j = await queue.getJob(job.id!);
      return j?.finishedOn && !j.failedReason && (await j.isCompleted()) ? j : undefined;
    },
    60_000,
    'the daily backup job done',
  );
  const made = done.returnvalue as { id: string; tables: number };
  expect(made.id).toBe(backupId(clock));
  expect(made.tables).toBeGreaterThan(5);
  // 2 daily kept: this one and yesterday's; the three older removed; 'notes' is not a backup and stays
  expect(listBackups(backupDir).map((b) => b.id)).toEqual([backupId(clock), backupId(clock - 86_400_000)]);
  expect(fs.existsSync(path.join(backupDir, 'notes'))).toBe(true);
  const manifest = JSON.parse(fs.readFileSync(path.join(backupDir, made.id, 'manifest.json'), 'utf8'));
  expect(manifest.madeBy).toBe('自動バックアップ (毎日)');
  expect(manifest.files.some((f: { path: string }) => f.path === 'files/reports/report.txt')).toBe(true);
  const status = await ops.status();
  expect(status.backups[0]).toMatchObject({ id: made.id, ok: true, madeBy: '自動バックアップ (毎日)' });
  expect(await metricsText()).toContain('tayori_backup_last_ok 1');
}, 90_000);

it('a run that fails is reported: the job, the record, /metrics and the queue depths', async () => {
  clock += 86_400_000;
  storeFails = true;
  const job = await scheduled();
  await job.promote();
  const failed = await waitFor(
    async () => {
      const j = await queue.getJob(job.id!);
      return j && j.attemptsMade >= 1 && j.failedReason ? j : undefined;
    },
    60_000,
    'the daily backup job failed',
  );
  expect(failed.failedReason).toBe('バックアップに失敗しました (reports): EIO: i/o error, read');
  // the retry (10 minutes later) is attempted now too, and fails for good
  if (await failed.isDelayed()) await failed.promote();
  await waitFor(async () => (await queue.getJob(job.id!))?.isFailed(), 60_000, 'the job failed for good');
  const status = await ops.status();
  expect(status.backups[0]).toMatchObject({ id: backupId(clock), ok: false, madeBy: '自動バックアップ (毎日)' });
  expect(status.backups[0]!.error).toContain('EIO');
  // nothing half-written; the earlier backups stay
  expect(fs.readdirSync(backupDir).filter((n) => n.includes('partial'))).toEqual([]);
  expect(listBackups(backupDir)).toHaveLength(2);
  await ops.refreshGauges();
  const text = await metricsText();
  expect(text).toContain('tayori_backup_last_ok 0');
  expect(text).toMatch(/tayori_backups_total\{outcome="failed"\} [1-9]/);
  expect(text).toContain(`tayori_queue_jobs{queue="${OPS_QUEUE}",state="failed"} 1`);
}, 90_000);
