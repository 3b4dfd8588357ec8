/**
 * ops/ as the suite runs it: what the self-check reads of the other capabilities (readiness, the
 * event log's backlog, failed report jobs), what backups copy besides ClickHouse and Redis (report
 * files, the card store, the wrapped data keys — never the key file), the open-day calendar of the
 * minutes, and the mailer. ops/ imports none of them: they are handed in here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { open } from 'lmdb';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import type { Config } from '../core/config.ts';
import { dataKeysDir } from '../core/data-keys.ts';
import { readiness } from '../core/health.ts';
import type { Logger } from '../core/logger.ts';
import { createMailer, type Mailer } from '../core/mailer.ts';
import type { Redis } from '../core/redis.ts';
import { cardsStoreDir } from '../cards/index.ts';
import type { Ingest } from '../ingest/index.ts';
import { createOps, type FileStore, type Ops, type QueueLike } from '../ops/index.ts';
import { isOpenDay } from '../reports/due-date.ts';

/** The directories a backup copies and a restore fills, by name. */
export function opsStores(config: Config): FileStore[] {
  const cards = cardsStoreDir(config.dataDir);
  return [
    { name: 'reports', dir: config.reportsDir },
    { name: 'data-keys', dir: dataKeysDir(config.dataDir) },
    {
      name: 'cards',
      dir: cards,
      // LMDB's own copy: consistent while the suite writes (lmdb shares the open environment)
      async copy(dest) {
        if (!fs.existsSync(path.join(cards, 'data.mdb'))) return;
        const db = open({ path: cards, maxDbs: 4, mapSize: 4 * 1024 ** 3 });
        try {
          await db.backup(dest, false);
        } finally {
          // the suite's own handle on the same environment stays open
        }
      },
    },
  ];
}

export function opsMailer(config: Config): Mailer {
  return createMailer({ smtpUrl: config.ops.smtpUrl, from: config.ops.mailFrom, to: config.ops.alertTo });
}

export function wireOps(o: {
  config: Config;
  ch: ClickHouseClient;
  redis: Redis;
  redisUrl: string;
  ingest: Ingest;
  logger: Logger;
  queues: () => QueueLike[];
  failedJobs: () => Promise<number>;
}): { ops: Ops; mailer: Mailer } {
  const mailer = opsMailer(o.config);
  const ops = createOps({
    ch: o.ch,
    redis: o.redis,
    redisUrl: o.redisUrl,
    logger: o.logger,
    mailer,
    settings: {
      backupDir: o.config.ops.backupDir,
      backupTime: o.config.ops.backupTime,
      keepDaily: o.config.ops.keepDaily,
      keepWeekly: o.config.ops.keepWeekly,
      checkIntervalMs: o.config.ops.checkIntervalMs,
      incidentAfterMs: o.config.ops.incidentAfterMs,
    },
    sources: {
      async readiness() {
        const { body, errors } = await readiness({ ch: o.ch, redis: o.redis, eventLog: () => o.ingest.status() });
        return { status: body.status, errors };
      },
      backlog: () => o.ingest.status().backlog.events,
      failedJobs: o.failedJobs,
      publicUrl: o.config.publicUrl,
    },
    stores: opsStores(o.config),
    isOpenDay,
    queues: o.queues,
    async quiesce() {
      // what was acknowledged reaches ClickHouse before it is dumped (bounded: a backlog that does not drain is dumped as it is)
      for (let i = 0; i < 100 && o.ingest.status().backlog.events > 0; i++)
        await new Promise((r) => setTimeout(r, 100));
    },
  });
  return { ops, mailer };
}
