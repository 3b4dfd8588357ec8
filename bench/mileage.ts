/**
 * npm run bench -- mileage [--residents 2000] [--spread-ms 3000] [--connections 1000]
 *
 * An event crowd: N residents of one municipality scan the same session's QR code within a few
 * seconds, each twice at once (a double tap), through the real residents' HTTP API (the LIFF frame:
 * each call carries a real ID token the sandbox's LINE Login issued, verified by the frame with the
 * sandbox's published keys) into the award path (Redis guard → the ledger row appended to the local
 * event log, group-committed fsync; the shipper inserts the log into mileage_ledger in batches).
 * Arrivals are spread evenly over --spread-ms; calls go over a keep-alive pool of
 * --connections sockets. Prints awards/s, p50/p95/p99 latency of the award call (from sending to the
 * answer), and checks the ledger once the log is shipped (exactly N rows for the session, no resident
 * twice) and the balances rollup (N × points). Tayori and the sandbox share this process; the crowd runs in a
 * process of its own (bench/mileage-crowd.ts); all share the machine's cores.
 * Environment: BENCH_RESIDENTS, BENCH_SPREAD_MS, BENCH_CONNECTIONS.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { operatorTokenAuth } from '../core/auth.ts';
import { openClickHouse, query } from '../core/clickhouse.ts';
import { SecretBox } from '../core/crypto.ts';
import { createHttpApp } from '../core/http.ts';
import { createLogger } from '../core/logger.ts';
import { migrate } from '../core/migrations.ts';
import { connectRedis } from '../core/redis.ts';
import { startLocalRedis } from '../core/redis-server.ts';
import { createResidentFrame } from '../core/resident/index.ts';
import { createIngest } from '../ingest/index.ts';
import { TenantStore } from '../core/tenants.ts';
import { addDays, tokyoToday } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { createMileage } from '../mileage/index.ts';
import { startSandbox } from '../sandbox/index.ts';

function arg(name: string, env: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i > 0 ? process.argv[i + 1] : process.env[env];
  const v = raw === undefined ? fallback : Number(raw.replace(/_/g, ''));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} (${env}) は正の数で指定してください: ${raw}`);
  return Math.floor(v);
}
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? 0;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

const TENANT = '24201';
const CHANNEL = '2000002010';
const LOGIN = '1000002010';
const POINTS = 30;

/** Runs the crowd in its own Node process (bench/mileage-crowd.ts) and reads what it measured. */
function runCrowd(input: {
  port: number;
  tenantId: string;
  code: string;
  tokens: string[];
  spreadMs: number;
  connections: number;
}): Promise<{ calls: Array<{ ms: number; status: number; awarded: boolean }>; elapsedMs: number; cpuMs: number }> {
  const script = fileURLToPath(new URL('./mileage-crowd.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stdin.end(JSON.stringify(input));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`the crowd process exited with ${code}`));
      else resolve(JSON.parse(out));
    });
  });
}

export async function benchMileage(): Promise<Record<string, unknown>> {
  const residentsN = arg('residents', 'BENCH_RESIDENTS', 2000);
  const spreadMs = arg('spread-ms', 'BENCH_SPREAD_MS', 3000);
  const connections = arg('connections', 'BENCH_CONNECTIONS', 1000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tayori-bench-mileage-'));
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
  const closers: Array<() => Promise<unknown>> = [];
  try {
    const ch = await openClickHouse({ kind: 'embedded', path: path.join(dir, 'clickhouse') });
    closers.push(() => ch.close());
    await migrate(ch);
    const redisServer = await startLocalRedis({ dir: path.join(dir, 'redis') });
    closers.push(() => redisServer.stop());
    const redis = connectRedis(redisServer.url);
    closers.push(() => redis.quit());
    const box = new SecretBox(randomBytes(32));
    const tenants = new TenantStore(ch, box);
    const sandbox = await startSandbox({
      config: {
        channels: [
          {
            channelId: CHANNEL,
            botUserId: `U${'7'.repeat(32)}`,
            channelSecret: 'bench-secret',
            channelAccessToken: 'bench-token',
            login: { channelId: LOGIN, channelSecret: 'bench-login' },
            residents: {
              count: residentsN,
              seed: 16,
              initialFriendRatio: 1,
              followRatePerDay: 0,
              blockRatePerDay: 0,
              unblockRatePerDay: 0,
              fatigueBlockProbability: 0,
            },
          },
        ],
      },
    });
    closers.push(() => sandbox.close());
    await tenants.add({ id: TENANT, name: '津市', kind: 'municipality', channelId: CHANNEL });
    await tenants.setCredentials(TENANT, {
      channelSecret: 'bench-secret',
      channelAccessToken: 'bench-token',
      lineApi: 'sandbox',
    });
    await tenants.setLiff(TENANT, { liffChannelId: LOGIN, liffId: `${LOGIN}-BenchApp` });

    const app = createHttpApp(logger);
    let url = '';
    const endpoints = () => ({ line: 'http://127.0.0.1:9', sandbox: sandbox.url });
    const frame = createResidentFrame({ app, tenants, endpoints, publicUrl: () => url, assets: () => {} });
    const ingest = createIngest({
      ch,
      redis,
      tenants,
      endpoints,
      logger,
      eventLog: { dir: path.join(dir, 'event-log') },
    });
    const mileage = createMileage({ ch, redis, ingest, tenants, endpoints, logger, box, residents: frame });
    await mileage.start();
    await ingest.start();
    closers.push(() => mileage.stop());
    closers.push(() => ingest.stop());
    mileage.registerRoutes(app, operatorTokenAuth(['bench-operator']));
    mileage.registerResidentApi(frame);
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    const port = (app.server.address() as AddressInfo).port;
    url = `http://127.0.0.1:${port}`;

    // the programme, its event activity and the session whose code the crowd scans
    const ctx = { actor: { kind: 'operator' as const } };
    const today = tokyoToday();
    const programme = await mileage.catalogue.createProgramme(
      TENANT,
      {
        fiscalYear: Number(today.slice(0, 4)),
        name: '津市とこわか健康マイレージ',
        startsOn: addDays(today, -60),
        endsOn: addDays(today, 60),
        goalPoints: 100,
      },
      ctx,
    );
    const activity = await mileage.catalogue.addActivity(
      TENANT,
      programme.programmeId,
      { name: '健康ウォーキング大会', points: POINTS, method: 'qr' },
      ctx,
    );
    const now = Date.now();
    const session = await mileage.catalogue.createSession(
      TENANT,
      {
        programmeId: programme.programmeId,
        activityId: activity.activityId,
        title: '健康ウォーキング大会',
        heldOn: today,
        validFrom: new Date(now - 600_000).toISOString(),
        validUntil: new Date(now + 3_600_000).toISOString(),
      },
      ctx,
    );
    const { code } = await mileage.codes.forSession(await tenants.require(TENANT), session);
    // the award service's own time (inside the HTTP call), to tell it from the frame and the network
    const serviceMs: number[] = [];
    const scanService = mileage.resident.scan.bind(mileage.resident);
    mileage.resident.scan = async (...a: Parameters<typeof scanService>) => {
      const t = performance.now();
      try {
        return await scanService(...a);
      } finally {
        serviceMs.push(performance.now() - t);
      }
    };

    // every resident's real ID token from the sandbox's LINE Login (not timed)
    const users = [...sandbox.world.byChannelId(CHANNEL)!.followerIds()].slice(0, residentsN);
    const tokens: string[] = [];
    for (let i = 0; i < users.length; i += 100) {
      const batch = await Promise.all(
        users.slice(i, i + 100).map(async (userId) => {
          const res = await fetch(`${sandbox.url}/__sandbox/login-channels/${LOGIN}/id-tokens`, {
            method: 'POST',
            body: JSON.stringify({ userId }),
          });
          if (!res.ok) throw new Error(`ID token for ${userId}: ${res.status} ${await res.text()}`);
          return ((await res.json()) as { idToken: string }).idToken;
        }),
      );
      tokens.push(...batch);
    }
    process.stderr.write(`${users.length} 人分の ID トークンを用意しました。読み取りを始めます\n`);

    // the crowd runs in a process of its own (bench/mileage-crowd.ts), as phones are apart from the server
    const load = os.loadavg()[0] ?? 0;
    const cpu0 = process.cpuUsage();
    const crowd = await runCrowd({ port, tenantId: TENANT, code, tokens, spreadMs, connections });
    // the awards are acknowledged once in the event log; the figures below need them in ClickHouse
    // (the CPU counted includes shipping them: the INSERTs' work)
    await ingest.shipper.drain(120_000);
    const cpu = process.cpuUsage(cpu0);
    const results = crowd.calls;
    const elapsedMs = crowd.elapsedMs;
    const latencies = results.map((r) => r.ms);
    const ok = results.filter((r) => r.status === 200);
    const awardedAnswers = results.filter((r) => r.awarded).length;
    const [ledger] = await query(
      ch,
      'mileage.session_awards',
      { tenant: TENANT, session: session.sessionId },
      z.object({ entries: z.coerce.number(), users: z.coerce.number() }),
    );
    const [balances] = await query(
      ch,
      'mileage.programme_points',
      { tenant: TENANT, programme: programme.programmeId },
      z.object({ points: z.coerce.number() }),
    );
    const rows = ledger?.entries ?? 0;
    const users_ = ledger?.users ?? 0;
    const points = balances?.points ?? 0;
    const figures = {
      residents: users.length,
      calls: results.length,
      ok: ok.length,
      errors: results.length - ok.length,
      awards: rows,
      awarded_answers: awardedAnswers,
      double_awards: rows - users_,
      balance_points: points,
      balance_expected: users.length * POINTS,
      elapsed_s: r1(elapsedMs / 1000),
      awards_per_s: r1(rows / (elapsedMs / 1000)),
      p50_ms: r1(pct(latencies, 50)),
      p95_ms: r1(pct(latencies, 95)),
      p99_ms: r1(pct(latencies, 99)),
      service_p50_ms: r1(pct(serviceMs, 50)),
      service_p95_ms: r1(pct(serviceMs, 95)),
      ledger_inserts: ingest.shipper.stats.tables.mileage_ledger?.inserts ?? 0,
      // Tayori's process's CPU (the server, chDB's threads) and the crowd's, per scan call; the machine's load
      cpu_ms_per_call: r1((cpu.user + cpu.system) / 1000 / results.length),
      cpu_share: r1((cpu.user + cpu.system) / 1000 / elapsedMs),
      crowd_cpu_ms_per_call: r1(crowd.cpuMs / results.length),
      load_avg_1m: r1(load),
      cores: os.cpus().length,
    };
    console.log(
      `住民 ${figures.residents} 人 × 2 回 = ${figures.calls} 回の読み取り (${figures.elapsed_s} 秒、同時接続 ${connections})`,
    );
    console.log(
      `付与 ${figures.awards} 件 (${figures.awards_per_s} 件/秒)、二重付与 ${figures.double_awards} 件、エラー ${figures.errors} 件`,
    );
    console.log(`残高の合計 ${figures.balance_points} ポイント (期待値 ${figures.balance_expected})`);
    console.log(
      `応答時間 p50 ${figures.p50_ms} ms / p95 ${figures.p95_ms} ms / p99 ${figures.p99_ms} ms (目標 p95 ≤ 200 ms)`,
    );
    console.log(`うち付与処理 (サービス内) p50 ${figures.service_p50_ms} ms / p95 ${figures.service_p95_ms} ms`);
    console.log(
      `CPU (Tayori のプロセス) 1 回あたり ${figures.cpu_ms_per_call} ms、使用率 ${figures.cpu_share} コア分、読み取り側 1 回あたり ${figures.crowd_cpu_ms_per_call} ms (コア数 ${figures.cores}、開始時の負荷平均 ${figures.load_avg_1m})`,
    );
    console.log(`台帳への INSERT ${figures.ledger_inserts} 回 (イベントログから一括で)`);
    const exact = rows === users.length && figures.double_awards === 0 && points === users.length * POINTS;
    if (!exact) console.log('⚠ 付与件数または残高が期待値と一致しません');
    return { bench: 'mileage', ...figures, exact, goal: { p95_ms: 200, double_awards: 0, awards: users.length } };
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
