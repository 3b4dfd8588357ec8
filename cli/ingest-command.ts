import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../core/config.ts';
import { AppError } from '../core/errors.ts';
import { eventLogDir, eventLogMaxBytes } from '../ingest/index.ts';
import { HANDLERS } from '../ingest/handler-runner.ts';
import type { EventLog } from '../ingest/event-log.ts';
import { LmdbEventLog } from '../ingest/lmdb-event-log.ts';
import { SegmentEventLog } from '../ingest/segment-event-log.ts';
import { SHIPPER } from '../ingest/shipper.ts';
import { awaitSuite } from './suite-state.ts';

interface Backlog {
  events: number;
  bytes: number;
  oldestAgeMs: number | null;
}

/** What /readyz answers (and what this command prints without a running suite). */
export interface ReadyzBody {
  status: string;
  clickhouse?: string;
  redis?: string;
  event_log?: {
    status: string;
    backlog?: Backlog;
    handlers?: { events: number; oldestAgeMs: number | null };
    bytes?: number;
    maxBytes?: number;
    shipper?: { batches: number; rows: number; failures: number; lastShippedAt: number | null };
    clicks?: { counted: number; limited: number; lost: number };
  };
  errors?: Record<string, string>;
}

const n = (x: number) => x.toLocaleString('ja-JP');
function size(b: number): string {
  if (b < 1024) return `${b} B`;
  if (b < 1024 ** 2) return `${(b / 1024).toFixed(1)} KB`;
  if (b < 1024 ** 3) return `${(b / 1024 ** 2).toFixed(1)} MB`;
  return `${(b / 1024 ** 3).toFixed(2)} GB`;
}
const oldest = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? '' : `、最も古いもの ${ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} 秒`} 前`;
const STATUS: Record<string, string> = {
  ok: '正常',
  degraded: '縮退 (ClickHouse なしで受付中)',
  error: '異常',
  starting: '起動中',
  stopped: '停止中',
};

export function printIngestStatus(r: ReadyzBody, where: string): string {
  const log = r.event_log;
  const lines = [`${where}`, `状態: ${STATUS[r.status] ?? r.status}`];
  if (r.clickhouse || r.redis)
    lines.push(`  ClickHouse: ${r.clickhouse ?? '—'}  Redis: ${r.redis ?? '—'}  イベントログ: ${log?.status ?? '—'}`);
  if (log?.backlog)
    lines.push(
      `ClickHouse へ未送信: ${n(log.backlog.events)} 件 (${size(log.backlog.bytes)})${oldest(log.backlog.oldestAgeMs)}`,
    );
  if (log?.handlers)
    lines.push(
      `未処理 (返信・友だち状態などのハンドラー): ${n(log.handlers.events)} 件${oldest(log.handlers.oldestAgeMs)}`,
    );
  if (log?.bytes !== undefined && log.maxBytes)
    lines.push(
      `イベントログの使用量: ${size(log.bytes)} / 上限 ${size(log.maxBytes)} (TAYORI_EVENT_LOG_MAX_BYTES; 超えると 503 backlog_full)`,
    );
  if (log?.shipper)
    lines.push(
      `送信: ${n(log.shipper.batches)} 回 ${n(log.shipper.rows)} 行、失敗 ${n(log.shipper.failures)} 回` +
        (log.shipper.lastShippedAt ? `、最終 ${new Date(log.shipper.lastShippedAt).toISOString()}` : ''),
    );
  if (log?.clicks)
    lines.push(
      `クリック: 記録 ${n(log.clicks.counted)} / 回数制限で除外 ${n(log.clicks.limited)} / 記録できず ${n(log.clicks.lost)}`,
    );
  for (const [k, v] of Object.entries(r.errors ?? {})) lines.push(`エラー (${k}): ${v}`);
  return lines.join('\n');
}

export function registerIngestCommand(program: Command, config: () => Config): void {
  const ingest = program.command('ingest').description('Webhook の受付 (イベントログと ClickHouse への送信)');
  ingest
    .command('status')
    .description('/readyz と同じ内容を表示します: ClickHouse・Redis・イベントログの状態と未送信のイベント')
    .option('--json', 'JSON で出力します')
    .action(async (o: { json?: boolean }) => {
      const cfg = config();
      const suite = await awaitSuite(cfg.dataDir);
      let body: ReadyzBody;
      let where: string;
      if (suite) {
        let res: Response;
        try {
          res = await fetch(`${suite.url}/readyz`, { headers: { authorization: `Bearer ${suite.token}` } });
        } catch (e) {
          throw new AppError(
            'suite_unreachable',
            `稼働中の Tayori (${suite.url}) に接続できません: ${(e as Error).message}`,
            503,
          );
        }
        body = (await res.json()) as ReadyzBody;
        where = `稼働中の Tayori (${suite.url}, pid ${suite.pid})`;
        if (res.status !== 200) process.exitCode = 1;
      } else {
        // no suite: the log on disk (what will ship at the next start; an older LMDB log as it is,
        // taken over at the next start)
        const dir = eventLogDir(cfg.dataDir);
        const opts = { dir, maxBytes: eventLogMaxBytes(), consumers: [SHIPPER, HANDLERS] };
        const log: EventLog = fs.existsSync(path.join(dir, 'data.mdb'))
          ? new LmdbEventLog(opts)
          : new SegmentEventLog({ ...opts, readOnly: true });
        try {
          const s = log.status();
          body = {
            status: 'stopped',
            event_log: {
              status: s.healthy ? 'ok' : 'error',
              backlog: s.consumers[SHIPPER],
              handlers: s.consumers[HANDLERS],
              bytes: s.bytes,
              maxBytes: s.maxBytes,
            },
          };
        } finally {
          await log.close();
        }
        where = `Tayori は稼働していません (${cfg.dataDir})。未送信のイベントは次の起動時に送られます`;
      }
      console.log(o.json ? JSON.stringify(body, null, 2) : printIngestStatus(body, where));
    });
}
