import type { Command } from 'commander';
import { openClickHouse } from '../core/clickhouse.ts';
import type { Config } from '../core/config.ts';
import { loadSecretBox } from '../core/crypto.ts';
import { AppError } from '../core/errors.ts';
import { migrate } from '../core/migrations.ts';
import { connectRedis } from '../core/redis.ts';
import { startLocalRedis, type LocalRedis } from '../core/redis-server.ts';
import { TenantStore } from '../core/tenants.ts';
import {
  backfillDirect,
  InsightStore,
  parseBackfillInput,
  type BackfillResult,
  type FollowersDay,
  type InsightStatus,
} from '../ingest/insight/index.ts';
import { table } from './output.ts';
import { awaitSuite, callSuite, type SuiteState } from './suite-state.ts';

/** Hours the queue needs at 60 calls per hour per channel (channels work in parallel). */
function estimateHours(perTenant: number): number {
  return Math.max(0, Math.ceil(perTenant / 60) - 1);
}

export function printBackfillResult(r: BackfillResult, suiteUrl: string): string {
  const lines = [
    `稼働中の Tayori (${suiteUrl}) に友だち数の取得を登録しました: ${r.tenants.length} テナント × ${r.days} 日 (${r.from}〜${r.to})`,
    `  新規登録 ${r.enqueued} 件${r.alreadyQueued ? `、既に待機中 ${r.alreadyQueued} 件` : ''}`,
  ];
  for (const s of r.skipped) lines.push(`  対象外: ${s.tenantId} (${s.reason})`);
  const hours = estimateHours(r.days);
  lines.push(
    hours > 0
      ? `LINE の上限 (1 チャネルあたり 1 時間に 60 回) に合わせて取得するため、完了まで約 ${hours} 時間以上かかります`
      : 'まもなく取得されます',
    '進み具合: npx tayori insight status',
  );
  return lines.join('\n');
}

export function printStatus(s: InsightStatus): string {
  const c = s.counts;
  return [
    // Every scheduler keeps its next run as a delayed job: those are not retries.
    `Insight 取得ジョブ: 実行中 ${c.active} 件 / 待機中 ${c.waiting} 件 / 後で再試行 ${Math.max(0, c.delayed - s.schedulers)} 件 / 失敗 ${c.failed} 件`,
    `定期実行の設定: ${s.schedulers} 件`,
  ].join('\n');
}

/**
 * Backfill without a running suite: this process opens ClickHouse, uses the data directory's
 * redis-server (started here, stopped afterwards) or REDIS_URL for the channels' call budget,
 * and fetches the days one by one. Sandbox tenants need the running suite (its sandbox).
 */
async function directBackfill(config: Config, input: { tenant: string; from: string; to: string }): Promise<void> {
  console.log('スイートが稼働していないため、このプロセスで直接取得します (1 チャネルあたり 1 時間に 60 回まで)');
  const box = loadSecretBox(config);
  const ch = await openClickHouse(config.clickhouse);
  let local: LocalRedis | undefined;
  let redis: ReturnType<typeof connectRedis> | undefined;
  try {
    await migrate(ch);
    if (config.redis.kind === 'local')
      local = await startLocalRedis({ dir: config.redis.dir, port: config.redis.port, bin: config.redis.bin });
    redis = connectRedis(local ? local.url : (config.redis as { url: string }).url);
    const result = await backfillDirect(
      {
        ch,
        redis,
        tenants: new TenantStore(ch, box),
        endpoints: { line: config.lineApiBaseUrl },
        say: (l) => console.log(l),
      },
      input,
    );
    if (result.failed > 0)
      throw new AppError(
        'insight_backfill_incomplete',
        `${result.failed} 件を取得できませんでした (上の表示を確認してください)`,
        502,
      );
  } finally {
    await redis?.quit().catch(() => redis?.disconnect());
    await local?.stop();
    await ch.close();
  }
}

export function printFollowersDays(tenantId: string, days: FollowersDay[]): string {
  const fmt = (n: number | null) => (n === null ? '—' : n.toLocaleString('ja-JP'));
  const status = { ready: '確定', out_of_service: '対象期間外' } as const;
  return (
    table(
      ['日付', '友だち', 'ターゲットリーチ', 'ブロック', '状態'],
      days.map((d) => [d.day, fmt(d.followers), fmt(d.targetedReaches), fmt(d.blocks), status[d.status]]),
      [1, 2, 3],
    ) + `\n${tenantId}: ${days.length} 日分`
  );
}

/** Polls the suite until every requested day has been fetched since `since`, printing progress. */
async function waitForBackfill(suite: SuiteState, r: BackfillResult, since: number, intervalMs = 2000): Promise<void> {
  const total = r.tenants.length * r.days;
  console.log('取得の完了を待ちます (Ctrl-C で待機をやめても、取得はスイートで続きます)');
  let last = -1;
  for (;;) {
    let done = 0;
    for (const t of r.tenants) {
      const q = new URLSearchParams({ tenant: t, from: r.from, to: r.to });
      const { days } = await callSuite<{ days: FollowersDay[] }>(suite, 'GET', `/api/v1/insight/followers?${q}`);
      done += days.filter((d) => d.fetchedAt >= since).length;
    }
    if (done !== last) console.log(`進捗: ${done} / ${total} 件 保存済み`);
    last = done;
    if (done >= total) break;
    await new Promise((res) => setTimeout(res, intervalMs));
  }
  console.log('完了しました');
}

export function registerInsightCommand(program: Command, config: () => Config): void {
  const insight = program.command('insight').description('LINE Insight (友だち数・配信の統計) の取得');

  insight
    .command('backfill')
    .description(
      '指定期間の友だち数・ターゲットリーチ・ブロック数を日ごとに取得します (稼働中のスイートがあればそのキューに登録します)',
    )
    .requiredOption('--tenant <code>', 'テナントの地方公共団体コード (例: 24201)、または all (全テナント)')
    .requiredOption('--from <date>', '開始日 yyyy-MM-dd')
    .requiredOption('--to <date>', '終了日 yyyy-MM-dd (今日まで、日本時間)')
    .option('--wait', 'スイート稼働中: 取得が終わるまで進み具合を表示して待ちます')
    .option('--json', '結果を JSON で出力します (スイート稼働中のみ)')
    .action(async (o: { tenant: string; from: string; to: string; wait?: boolean; json?: boolean }) => {
      const input = { tenant: o.tenant, from: o.from, to: o.to };
      parseBackfillInput(input, Date.now());
      const cfg = config();
      const suite = await awaitSuite(cfg.dataDir);
      if (!suite) return directBackfill(cfg, input);
      const since = Date.now();
      const r = await callSuite<BackfillResult>(suite, 'POST', '/api/v1/insight/backfill', input);
      console.log(o.json ? JSON.stringify(r, null, 2) : printBackfillResult(r, suite.url));
      if (o.wait) await waitForBackfill(suite, r, since);
    });

  insight
    .command('show')
    .description('保存済みの日ごとの友だち数・ターゲットリーチ・ブロック数を表示します')
    .requiredOption('--tenant <code>', 'テナントの地方公共団体コード (例: 24201)')
    .requiredOption('--from <date>', '開始日 yyyy-MM-dd')
    .requiredOption('--to <date>', '終了日 yyyy-MM-dd')
    .option('--json', 'JSON で出力します')
    .action(async (o: { tenant: string; from: string; to: string; json?: boolean }) => {
      const b = parseBackfillInput({ tenant: o.tenant, from: o.from, to: o.to }, Date.now());
      if (b.tenant === 'all')
        throw new AppError('invalid_input', '表示するテナントを 1 つ指定してください (all は使えません)', 400);
      const cfg = config();
      const suite = await awaitSuite(cfg.dataDir);
      let days: FollowersDay[];
      if (suite) {
        const q = new URLSearchParams({ tenant: b.tenant, from: b.from, to: b.to });
        days = (await callSuite<{ days: FollowersDay[] }>(suite, 'GET', `/api/v1/insight/followers?${q}`)).days;
      } else {
        const ch = await openClickHouse(cfg.clickhouse);
        try {
          await migrate(ch);
          await new TenantStore(ch, loadSecretBox(cfg)).require(b.tenant);
          days = await new InsightStore(ch).followersRange(b.tenant, b.from, b.to);
        } finally {
          await ch.close();
        }
      }
      console.log(o.json ? JSON.stringify(days, null, 2) : printFollowersDays(b.tenant, days));
    });

  insight
    .command('status')
    .description('稼働中のスイートの Insight 取得ジョブの状況を表示します')
    .option('--json', 'JSON で出力します')
    .action(async (o: { json?: boolean }) => {
      const suite = await awaitSuite(config().dataDir);
      if (!suite)
        throw new AppError(
          'suite_not_running',
          'スイートが稼働していません (取得ジョブはスイートの稼働中に処理されます)',
          409,
        );
      const s = await callSuite<InsightStatus>(suite, 'GET', '/api/v1/insight/status');
      console.log(o.json ? JSON.stringify(s, null, 2) : printStatus(s));
    });
}
