import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerInsightCommand } from '../../cli/insight-command.ts';
import { writeSuiteState } from '../../cli/suite-state.ts';
import { operatorTokenAuth } from '../../core/auth.ts';
import { openClickHouse, type ClickHouseClient } from '../../core/clickhouse.ts';
import { createHttpApp } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import { startLocalRedis, type LocalRedis } from '../../core/redis-server.ts';
import { registerTenantRoutes } from '../../dashboard/index.ts';
import {
  createInsightPollers,
  InsightStore,
  registerInsightRoutes,
  type InsightPollers,
} from '../../ingest/insight/index.ts';
import { addTenants, harness, seedClickHouse, tenantStore, testConfig, type Harness } from '../helpers/index.ts';

// `tayori insight backfill` as a person runs it: directly when no suite runs (this process opens
// ClickHouse and the data directory's redis-server), through the suite's API when one does.
const env = { TAYORI_SECRET_KEY: randomBytes(32).toString('base64'), LINE_API_BASE_URL: 'http://127.0.0.1:9' };
let h: Harness;
const channel = { channelId: '2000000101', secret: 'cli-secret-0101', token: 'cli-token-0101' };

beforeAll(async () => {
  h = await harness({
    prefix: 'tayori-insight-cli-',
    clickhouse: false,
    sandbox: {
      config: {
        channels: [
          {
            channelId: channel.channelId,
            botUserId: 'U' + 'c'.repeat(32),
            channelSecret: channel.secret,
            channelAccessToken: channel.token,
            residents: { count: 300, seed: 5 },
          },
        ],
      },
    },
  });
  env.LINE_API_BASE_URL = h.sandbox.url;
  // Tenants registered beforehand; the engine is closed again so that the CLI can open it.
  await seedClickHouse(testConfig(h.dir, env), (_ch, tenants) =>
    addTenants(tenants, [
      // Wired to "LINE" whose base URL is the sandbox here: reachable without a running suite.
      {
        id: '24201',
        name: '津市',
        kind: 'municipality',
        channelId: channel.channelId,
        credentials: { channelSecret: channel.secret, channelAccessToken: channel.token, lineApi: 'line' },
      },
      { id: '24202', name: '四日市市', kind: 'municipality' },
    ]),
  );
});

afterAll(() => h?.close());

/** Runs `tayori insight …` in this process; returns what it printed. */
async function tayori(...args: string[]): Promise<{ out: string; err?: Error }> {
  const program = new Command('tayori').exitOverride();
  registerInsightCommand(program, () => testConfig(h.dir, env));
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    await program.parseAsync(['node', 'tayori', 'insight', ...args]);
    return { out: lines.join('\n') };
  } catch (e) {
    return { out: lines.join('\n'), err: e as Error };
  } finally {
    spy.mockRestore();
  }
}

describe('tayori insight backfill without a running suite', () => {
  it('fetches every day in this process, prints progress in Japanese and stores one row per day', async () => {
    const r = await tayori('backfill', '--tenant', '24201', '--from', '2025-12-30', '--to', '2026-01-02');
    expect(r.err).toBeUndefined();
    expect(r.out).toContain('スイートが稼働していないため、このプロセスで直接取得します');
    expect(r.out).toContain('1 テナント × 4 日 (計 4 件)');
    expect(r.out).toMatch(
      /\[1\/4\] 24201 津市 2025年12月30日: 友だち [\d,]+ \/ ターゲットリーチ [\d,]+ \/ ブロック [\d,]+/,
    );
    expect(r.out).toContain('完了: 保存 4 件、集計中 0 件、失敗 0 件');

    const config = testConfig(h.dir, env);
    const ch: ClickHouseClient = await openClickHouse(config.clickhouse);
    try {
      const rows = await new InsightStore(ch).followersRange('24201', '2025-12-30', '2026-01-02');
      expect(rows.map((x) => x.day)).toEqual(['2025-12-30', '2025-12-31', '2026-01-01', '2026-01-02']);
      const want = h.sandbox.world.byChannelId(channel.channelId)!.followersInsight('20260101');
      expect(rows[2]).toMatchObject({
        status: 'ready',
        followers: want.followers,
        targetedReaches: want.targetedReaches,
        blocks: want.blocks,
      });
    } finally {
      await ch.close();
    }

    const shown = await tayori('show', '--tenant', '24201', '--from', '2025-12-30', '--to', '2026-01-02');
    expect(shown.err).toBeUndefined();
    expect(shown.out).toMatch(/^日付\s+友だち\s+ターゲットリーチ\s+ブロック\s+状態/);
    expect(shown.out).toMatch(/2026-01-01\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+確定/);
    expect(shown.out).toContain('24201: 4 日分');
  });

  it('refuses bad dates and tenants without credentials with Japanese messages', async () => {
    expect(
      (await tayori('backfill', '--tenant', '24201', '--from', '2026-01-31', '--to', '2026-01-01')).err?.message,
    ).toMatch(/開始日 2026-01-31 が終了日 2026-01-01 より後/);
    expect(
      (await tayori('backfill', '--tenant', '24201', '--from', '2026-1-1', '--to', '2026-01-02')).err?.message,
    ).toMatch(/yyyy-MM-dd/);
    expect(
      (await tayori('backfill', '--tenant', '2420', '--from', '2026-01-01', '--to', '2026-01-02')).err?.message,
    ).toMatch(/地方公共団体コード/);
    const r = await tayori('backfill', '--tenant', '24202', '--from', '2026-01-01', '--to', '2026-01-01');
    expect(r.err?.message).toBe('テナント 24202 四日市市 のチャネル情報 (シークレット・アクセストークン) が未設定です');
  });
});

describe('tayori insight backfill while the suite runs', () => {
  let holder: ChildProcess;
  let pollers: InsightPollers;
  let app: ReturnType<typeof createHttpApp>;
  let ch: ClickHouseClient;
  let redis: LocalRedis;

  beforeAll(async () => {
    // The suite's part: its API with the insight routes, in this process; a stand-in process id
    // marks the data directory as held by a running suite.
    const config = testConfig(h.dir, env);
    ch = await openClickHouse(config.clickhouse);
    const tenants = tenantStore(ch, config);
    redis = await startLocalRedis({ dir: path.join(h.dir, 'suite-redis') });
    pollers = createInsightPollers({
      ch,
      redisUrl: redis.url,
      tenants,
      endpoints: () => ({ line: h.sandbox.url }),
      logger: createLogger('silent'),
    });
    app = createHttpApp(createLogger('silent'));
    registerTenantRoutes(app, { tenants, auth: operatorTokenAuth(['suite-token']) });
    registerInsightRoutes(app, { pollers, tenants });
    await pollers.start();
    await app.listen({ port: 0, host: '127.0.0.1' });
    holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    const port = (app.server.address() as { port: number }).port;
    writeSuiteState(h.dir, {
      pid: holder.pid!,
      url: `http://127.0.0.1:${port}`,
      token: 'suite-token',
      startedAt: new Date().toISOString(),
    });
  });

  afterAll(async () => {
    holder?.kill();
    await app?.close();
    await pollers?.stop();
    await redis?.stop();
    await ch?.close();
  });

  it('goes through the API: the days are queued in the suite, and the answer is printed in Japanese', async () => {
    const r = await tayori('backfill', '--tenant', 'all', '--from', '2025-11-01', '--to', '2025-11-03', '--wait');
    expect(r.err).toBeUndefined();
    expect(r.out).toContain('に友だち数の取得を登録しました: 1 テナント × 3 日 (2025-11-01〜2025-11-03)');
    expect(r.out).toContain('新規登録 3 件');
    expect(r.out).toContain('対象外: 24202 (チャネル情報が未設定)');
    expect(r.out).toContain('進捗: 3 / 3 件 保存済み');
    expect(r.out.trim().split('\n').at(-1)).toBe('完了しました');

    const shown = await tayori('show', '--tenant', '24201', '--from', '2025-11-01', '--to', '2025-11-03');
    expect(shown.out).toContain('24201: 3 日分');

    const s = await tayori('status');
    expect(s.out).toMatch(/Insight 取得ジョブ: 実行中 \d+ 件 \/ 待機中 \d+ 件 \/ 後で再試行 0 件 \/ 失敗 0 件/);

    const bad = await tayori('backfill', '--tenant', '24299', '--from', '2025-11-01', '--to', '2025-11-01');
    expect(bad.err?.message).toBe('テナント 24299 は登録されていません');
  });
});
