/**
 * npm run bench -- cards [--households 500000] [--residents 5000] [--seconds 10] [--connections 100]
 *
 * Signed-in residents open their パパ・ママ応援ショップ優待カード: GET /liff-api/<tenant>/cards/card (what
 * the card page calls) at 100 connections for 10 s, each request with one of many residents' real
 * LIFF ID tokens (signed by the sandbox's LINE Login, verified by the frame with jose — then
 * remembered until their expiry), against 500k registered households (generated in bulk, personal
 * fields sealed with the tenant's data key, in the cards' LMDB store). The same load against a bare
 * node:http server answering a card-sized JSON gives the ratio. The load generator (autocannon) runs
 * in its own process; Tayori, the sandbox and it share the machine's cores.
 * Environment: BENCH_HOUSEHOLDS, BENCH_RESIDENTS, BENCH_SECONDS, BENCH_CONNECTIONS.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cardsStoreDir, createCards, type HouseholdInput } from '../cards/index.ts';
import { AuditLog } from '../core/audit.ts';
import { openClickHouse } from '../core/clickhouse.ts';
import { SecretBox } from '../core/crypto.ts';
import { DataKeys, dataKeysDir, SuiteKeyProvider } from '../core/data-keys.ts';
import { createHttpApp } from '../core/http.ts';
import { createLogger } from '../core/logger.ts';
import { migrate } from '../core/migrations.ts';
import { createResidentFrame } from '../core/resident/index.ts';
import { TenantStore } from '../core/tenants.ts';
import { startSandbox } from '../sandbox/index.ts';
import { type LoadResult, runLoad } from './load-result.ts';
import { cpuByThread, threadCpu } from './thread-cpu.ts';

function arg(name: string, env: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i > 0 ? process.argv[i + 1] : process.env[env];
  const v = raw === undefined ? fallback : Number(raw.replace(/_/g, ''));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} (${env}) は正の数で指定してください: ${raw}`);
  return Math.floor(v);
}

const TENANT = '11000';
const CHANNEL = '2000002110';
const LOGIN = '1000002110';
const here = path.dirname(fileURLToPath(import.meta.url));
const GOAL = { rps: 8000, p99_ms: 50 };

const SURNAMES = ['佐藤', '鈴木', '高橋', '田中', '伊藤', '渡辺', '山本', '中村', '小林', '加藤'];
const GIVEN = ['花子', '太郎', '美咲', '翔太', '陽菜', '蓮', '結衣', '大翔', '葵', '悠真'];

function householdOf(i: number): HouseholdInput {
  const s = SURNAMES[i % 10]!;
  const n = 1 + (i % 3);
  const children = Array.from({ length: n }, (_, k) => {
    const y = 2008 + ((i + k * 3) % 17);
    const m = String(1 + ((i + k) % 12)).padStart(2, '0');
    const d = String(1 + ((i * 7 + k) % 28)).padStart(2, '0');
    return { name: `${s} ${GIVEN[(i + k + 1) % 10]}`, birthDate: `${y}-${m}-${d}` };
  });
  return { holderName: `${s} ${GIVEN[i % 10]}`, relationship: i % 2 ? '父' : '母', kind: 'children', children };
}

const fmt = (us: number | undefined) => (us ?? Number.NaN).toFixed(1);

export async function benchCards(): Promise<Record<string, unknown>> {
  const householdsN = arg('households', 'BENCH_HOUSEHOLDS', 500_000);
  const residentsN = arg('residents', 'BENCH_RESIDENTS', 5000);
  const seconds = arg('seconds', 'BENCH_SECONDS', 10);
  const connections = arg('connections', 'BENCH_CONNECTIONS', 100);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tayori-bench-cards-'));
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
  const closers: Array<() => Promise<unknown>> = [];
  const load1 = os.loadavg()[0]!.toFixed(2);
  try {
    const ch = await openClickHouse({ kind: 'embedded', path: path.join(dir, 'clickhouse') });
    closers.push(() => ch.close());
    await migrate(ch);
    const box = new SecretBox(randomBytes(32));
    const tenants = new TenantStore(ch, box);
    const sandbox = await startSandbox({
      config: {
        channels: [
          {
            channelId: CHANNEL,
            botUserId: `U${'8'.repeat(32)}`,
            channelSecret: 'bench-secret',
            channelAccessToken: 'bench-token',
            login: { channelId: LOGIN, channelSecret: 'bench-login' },
            residents: {
              count: residentsN,
              seed: 18,
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
    await tenants.add({ id: TENANT, name: '埼玉県', kind: 'prefecture', channelId: CHANNEL });
    await tenants.setCredentials(TENANT, {
      channelSecret: 'bench-secret',
      channelAccessToken: 'bench-token',
      lineApi: 'sandbox',
    });
    await tenants.setLiff(TENANT, { liffChannelId: LOGIN, liffId: `${LOGIN}-BenchApp` });

    const keys = new DataKeys({ dir: dataKeysDir(dir), provider: new SuiteKeyProvider(box) });
    const endpoints = () => ({ line: 'http://127.0.0.1:9', sandbox: sandbox.url });
    const cards = createCards({ dir: cardsStoreDir(dir), keys, audit: new AuditLog(ch, logger), tenants });
    closers.push(() => cards.close());

    // 500k households: the sandbox's residents first (they get tokens), then made-up user ids
    const users = [...sandbox.world.byChannelId(CHANNEL)!.followerIds()].slice(0, residentsN);
    const t0 = performance.now();
    await cards.households.bulk(TENANT, householdsN, (i) => ({
      userId: users[i] ?? `U${i.toString(16).padStart(32, 'f')}`,
      input: householdOf(i),
    }));
    const bulkS = (performance.now() - t0) / 1000;
    console.log(
      `${householdsN.toLocaleString('ja-JP')} 世帯を登録しました (${bulkS.toFixed(1)} s, ${Math.round(householdsN / bulkS).toLocaleString('ja-JP')} 世帯/s)`,
    );

    const app = createHttpApp(logger);
    const frame = createResidentFrame({ app, tenants, endpoints, publicUrl: () => undefined, assets: () => {} });
    cards.registerResidentApi(frame);
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    const port = (app.server.address() as AddressInfo).port;

    // every resident's real ID token from the sandbox's LINE Login (not timed)
    const tokens: string[] = [];
    for (let i = 0; i < users.length; i += 200) {
      tokens.push(
        ...(await Promise.all(
          users.slice(i, i + 200).map(async (userId) => {
            const res = await fetch(`${sandbox.url}/__sandbox/login-channels/${LOGIN}/id-tokens`, {
              method: 'POST',
              body: JSON.stringify({ userId }),
            });
            if (!res.ok) throw new Error(`ID token for ${userId}: ${res.status} ${await res.text()}`);
            return ((await res.json()) as { idToken: string }).idToken;
          }),
        )),
      );
    }
    const tokensFile = path.join(dir, 'tokens.json');
    fs.writeFileSync(tokensFile, JSON.stringify(tokens));
    const sample = await fetch(`http://127.0.0.1:${port}/liff-api/${TENANT}/cards/card`, {
      headers: { authorization: `Bearer ${tokens[0]}` },
    });
    const sampleBody = await sample.text();
    if (!sample.ok || !sampleBody.includes('"registered":true'))
      throw new Error(`card API: ${sample.status} ${sampleBody}`);
    console.log(`${tokens.length.toLocaleString('ja-JP')} 人分の ID トークンを用意しました。カードの表示を始めます`);

    const script = path.join(here, 'cards-load.ts');
    const run = (url: string) => runLoad(script, [url, String(seconds), String(connections), tokensFile]);
    // warm-up (key set fetched, JIT) — not reported
    await runLoad(script, [
      `http://127.0.0.1:${port}/liff-api/${TENANT}/cards/card`,
      '2',
      String(connections),
      tokensFile,
    ]);
    const cpu0 = process.cpuUsage();
    const threads0 = threadCpu();
    const tayori: LoadResult = await run(`http://127.0.0.1:${port}/liff-api/${TENANT}/cards/card`);
    const cpu = process.cpuUsage(cpu0);
    const threads = cpuByThread(threads0, threadCpu(), tayori.total);
    const cpuUs = (cpu.user + cpu.system) / Math.max(1, tayori.total);

    const bare = createServer((req, res) => {
      req.resume();
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(sampleBody),
      });
      res.end(sampleBody);
    });
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    const bareCpu0 = process.cpuUsage();
    const bareResult = await run(`http://127.0.0.1:${(bare.address() as AddressInfo).port}/card`);
    const bareCpu = process.cpuUsage(bareCpu0);
    const bareCpuUs = (bareCpu.user + bareCpu.system) / Math.max(1, bareResult.total);
    await new Promise((r) => bare.close(r));

    const ratio = tayori.rps / bareResult.rps;
    console.log(
      `Tayori (カード API, ${connections} 接続, ${seconds} 秒): ${tayori.rps.toFixed(0)} req/s  p50 ${tayori.p50_ms} ms  p99 ${tayori.p99_ms} ms  2xx ${tayori.ok}/${tayori.total}${tayori.non2xx ? `  non-2xx ${tayori.non2xx} ${JSON.stringify(tayori.statuses)}` : ''}`,
    );
    console.log(
      `bare http:                                  ${bareResult.rps.toFixed(0)} req/s  p50 ${bareResult.p50_ms} ms  p99 ${bareResult.p99_ms} ms`,
    );
    console.log(
      `CPU µs per request — Tayori: ${cpuUs.toFixed(1)} (${Object.entries(threads)
        .map(([k, v]) => `${k} ${v}`)
        .join(
          ', ',
        )}), loader ${fmt(tayori.loader_cpu_us)} | bare: ${bareCpuUs.toFixed(1)}, loader ${fmt(bareResult.loader_cpu_us)} (2 cores: rate ≈ 2e6 / (server + loader µs) when both are busy)`,
    );
    console.log(
      `ratio ${ratio.toFixed(3)}; goal ≥ ${GOAL.rps} req/s with p99 ≤ ${GOAL.p99_ms} ms: ${tayori.rps >= GOAL.rps && tayori.p99_ms <= GOAL.p99_ms ? '達成' : '未達'} (load average at start ${load1}; the machine may be shared)`,
    );
    return {
      bench: 'cards',
      rps: Math.round(tayori.rps),
      p50_ms: tayori.p50_ms,
      p99_ms: tayori.p99_ms,
      ratio: Number(ratio.toFixed(3)),
      bare_rps: Math.round(bareResult.rps),
      non2xx: tayori.non2xx,
      households: householdsN,
      tokens: tokens.length,
      connections,
      seconds,
      bulk_households_per_s: Math.round(householdsN / bulkS),
      cpu_us_per_req: Number(cpuUs.toFixed(1)),
      threads_us_per_req: threads,
      loader_cpu_us_per_req: Number(fmt(tayori.loader_cpu_us)),
      bare_cpu_us_per_req: Number(bareCpuUs.toFixed(1)),
      bare_loader_cpu_us_per_req: Number(fmt(bareResult.loader_cpu_us)),
      load_average_at_start: Number(load1),
      goal: GOAL,
    };
  } finally {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
