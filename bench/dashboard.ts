/**
 * npm run bench -- dashboard [--events N] [--residents N] [--days N] [--requests N]
 *
 * Generates webhook events (default 100M), residents (2M) and LINE's daily and per-delivery
 * statistics for 29 municipalities over two years inside ClickHouse (INSERT … SELECT FROM
 * numbers()), builds the daily rollup, then measures the dashboard's overview and municipality API
 * calls over HTTP (p50/p95), and the same webhook figures computed from the raw events table for
 * the ratio. Environment: BENCH_EVENTS, BENCH_RESIDENTS, BENCH_DAYS, BENCH_REQUESTS.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { readMunicipalities } from '../cli/demo-seed.ts';
import { openClickHouse, type ClickHouseClient } from '../core/clickhouse.ts';
import { SecretBox } from '../core/crypto.ts';
import { createHttpApp } from '../core/http.ts';
import { createLogger } from '../core/logger.ts';
import { migrate } from '../core/migrations.ts';
import { connectRedis } from '../core/redis.ts';
import { startLocalRedis } from '../core/redis-server.ts';
import { sql } from '../core/sql.ts';
import { TenantStore } from '../core/tenants.ts';
import { addDays, addMonths } from '../core/time.ts';
import { createDashboard } from '../dashboard/index.ts';

function arg(name: string, env: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i > 0 ? process.argv[i + 1] : process.env[env];
  const v = raw === undefined ? fallback : Number(raw.replace(/_/g, ''));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} (${env}) は正の数で指定してください: ${raw}`);
  return Math.floor(v);
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function exec(ch: ClickHouseClient, name: string, params: Record<string, unknown>): Promise<void> {
  await ch.command({ query: sql(name), query_params: params, clickhouse_settings: { max_insert_threads: '2' } });
}

export async function benchDashboard(): Promise<Record<string, unknown>> {
  let events = arg('events', 'BENCH_EVENTS', 100_000_000);
  let residents = arg('residents', 'BENCH_RESIDENTS', 2_000_000);
  let days = arg('days', 'BENCH_DAYS', 730);
  const requests = arg('requests', 'BENCH_REQUESTS', 40);
  // --keep DIR: generate once into DIR and reuse it on later runs (for working on the queries).
  const keepAt = process.argv.indexOf('--keep');
  const keep = keepAt > 0 ? path.resolve(process.argv[keepAt + 1] ?? '') : undefined;
  const reuse = keep !== undefined && fs.existsSync(path.join(keep, 'generated.json'));
  const dir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tayori-bench-dashboard-'));
  fs.mkdirSync(dir, { recursive: true });
  let saved: { events: number; residents: number; days: number; start: string; end: string } | undefined;
  if (reuse) {
    saved = JSON.parse(fs.readFileSync(path.join(dir, 'generated.json'), 'utf8'));
    ({ events, residents, days } = saved!);
  }
  const say = (s: string) => console.error(`[dashboard] ${s}`);
  const ch = await openClickHouse({ kind: 'embedded', path: path.join(dir, 'clickhouse') });
  const redisServer = await startLocalRedis({ dir: path.join(dir, 'redis') });
  const redis = connectRedis(redisServer.url);
  try {
    await migrate(ch);
    const tenants = new TenantStore(ch, new SecretBox(randomBytes(32)));
    const rows = readMunicipalities().filter((r) => r.kind === 'municipality');
    if (!reuse)
      for (const r of rows)
        await tenants.add({ id: r.code, name: r.name, nameKana: r.kana, kind: r.kind, population: r.population });
    const ids = rows.map((r) => r.code);
    const total = rows.reduce((a, r) => a + (r.population ?? 0), 0);
    let acc = 0;
    const weights = rows.map((r, i) => (i === rows.length - 1 ? 1.0000001 : (acc += (r.population ?? 0) / total)));
    // two years ending yesterday (Asia/Tokyo)
    const today = new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 10);
    const end = saved?.end ?? addDays(today, -1);
    const start = saved?.start ?? addDays(end, -(days - 1));
    const perTenant = Math.max(1, Math.round(residents / ids.length));

    let generateSeconds = 0;
    if (reuse) say(`${dir} の生成済みデータを使います`);
    else {
      say(
        `生成: イベント ${events.toLocaleString()} 件、住民 ${residents.toLocaleString()} 人、${days} 日 (${start}〜${end})、${ids.length} 市町`,
      );
      const g0 = performance.now();
      const chunk = 10_000_000;
      for (let offset = 0; offset < events; offset += chunk) {
        const count = Math.min(chunk, events - offset);
        const ms = await timed(() =>
          exec(ch, 'dashboard_bench.raw_events', {
            offset,
            count,
            tenants: ids,
            weights,
            start,
            days,
            residents: perTenant,
          }),
        );
        say(`  生イベント ${(offset + count).toLocaleString()} / ${events.toLocaleString()} (${r1(ms / 1000)} 秒)`);
      }
      const tRollup = await timed(() => exec(ch, 'dashboard_bench.rollup_all', {}));
      say(`  日別集計 ${r1(tRollup / 1000)} 秒`);
      await exec(ch, 'dashboard_bench.followers', {
        tenants: ids,
        start,
        days,
        friendsMax: Math.round(residents / ids.length),
      });
      await exec(ch, 'dashboard_bench.tracked', { tenants: ids, start, days });
      await exec(ch, 'dashboard_bench.stats', {});
      await exec(ch, 'dashboard_bench.residents', { count: residents, tenants: ids, weights });
      await exec(ch, 'dashboard_bench.attributes', {});
      // health mileage: a programme per tenant for the fiscal year of the last day, a tenth of the
      // residents taking part with up to 20 entries each, cards for those at the goal
      const fy = Number(end.slice(5, 7)) >= 4 ? Number(end.slice(0, 4)) : Number(end.slice(0, 4)) - 1;
      const fyStart = `${fy}-04-01`;
      const fyDays = Math.max(1, Math.round((Date.parse(end) - Date.parse(fyStart)) / 86_400_000) + 1);
      await exec(ch, 'dashboard_bench.mileage_programmes', { tenants: ids, fy, start: fyStart });
      await exec(ch, 'dashboard_bench.mileage_activities', { tenants: ids });
      const ledgerRows = Math.round(residents / 10) * 20;
      const tMileage = await timed(async () => {
        for (let offset = 0; offset < ledgerRows; offset += 2_000_000)
          await exec(ch, 'dashboard_bench.mileage_ledger', {
            offset,
            count: Math.min(2_000_000, ledgerRows - offset),
            tenants: ids,
            weights,
            start: fyStart,
            days: fyDays,
          });
        await exec(ch, 'dashboard_bench.mileage_cards', {});
      });
      say(`  マイレージ ${r1(tMileage / 1000)} 秒`);
      generateSeconds = r1((performance.now() - g0) / 1000);
      if (keep)
        fs.writeFileSync(path.join(dir, 'generated.json'), JSON.stringify({ events, residents, days, start, end }));
    }
    const count = async (table: string) => {
      const rs = await ch.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' });
      return Number((await rs.json<{ n: string }>())[0]!.n);
    };
    const stored = {
      raw_webhook_events: await count('raw_webhook_events'),
      webhook_events_per_day: await count('webhook_events_per_day'),
      insight_followers_daily: await count('insight_followers_daily'),
      insight_message_stats: await count('insight_message_stats'),
      resident_states: await count('resident_states'),
      resident_attributes: await count('resident_attributes'),
      mileage_ledger: await count('mileage_ledger'),
      mileage_member_years: await count('mileage_member_years'),
      mileage_cards: await count('mileage_cards'),
    };
    say(`生成完了 ${generateSeconds} 秒: ${JSON.stringify(stored)}`);

    // The API over HTTP, as the pages and scripts call it.
    const token = randomBytes(24).toString('base64url');
    const app = createHttpApp(createLogger('silent'));
    createDashboard({ ch, redis, tenants, operatorTokens: [token], logger: createLogger('silent') }).register(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const get = async (p: string) => {
      const res = await fetch(base + p, { headers: { authorization: `Bearer ${token}` } });
      if (res.status !== 200) throw new Error(`${p}: HTTP ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    };
    const months = Array.from({ length: Math.max(1, Math.floor(days / 31)) }, (_, i) => addMonths(end.slice(0, 7), -i));
    const pick = <T>(xs: T[], i: number) => xs[(i * 7919) % xs.length]!;
    for (let i = 0; i < 3; i++) {
      await get(`/api/v1/dashboard/overview?month=${pick(months, i)}`);
      await get(`/api/v1/dashboard/municipalities/${pick(ids, i)}`);
    }
    const overview: number[] = [];
    const municipality: number[] = [];
    const mileage: number[] = [];
    for (let i = 0; i < requests; i++) {
      // the overview and 市町 pages also call the health-mileage figures of the month
      mileage.push(await timed(() => get(`/api/v1/dashboard/mileage?month=${pick(months, i)}`)));
      overview.push(await timed(() => get(`/api/v1/dashboard/overview?month=${pick(months, i)}`)));
      municipality.push(
        await timed(() => get(`/api/v1/dashboard/municipalities/${pick(ids, i)}?from=${addDays(end, -364)}&to=${end}`)),
      );
    }
    // Residents by attribute: its own call (it reads every resident's row); each tenant once, uncached.
    const attributes: number[] = [];
    for (const id of ids) attributes.push(await timed(() => get(`/api/v1/dashboard/municipalities/${id}/attributes`)));
    await app.close();

    // The same webhook figures: rollup vs raw events (query only).
    const q = async (name: string, params: Record<string, unknown>) => {
      const rs = await ch.query({ query: sql(name), query_params: params, format: 'JSONEachRow' });
      await rs.json();
    };
    const rollupQ: number[] = [];
    const rawQ: number[] = [];
    const rawRuns = Math.max(3, Math.min(10, Math.floor(requests / 4)));
    for (let i = 0; i < rawRuns; i++) {
      const m = pick(months, i);
      const from = `${addMonths(m, -11)}-01`;
      const to = `${m}-28`;
      const t = pick(ids, i);
      rollupQ.push(await timed(() => q('metrics.webhooks_per_month', { tenants: ids, from, to })));
      rollupQ.push(await timed(() => q('metrics.webhooks_per_day', { tenant: t, from: addDays(end, -364), to: end })));
      rawQ.push(await timed(() => q('dashboard_bench.raw_overview', { tenants: ids, from, to })));
      rawQ.push(
        await timed(() => q('dashboard_bench.raw_municipality', { tenant: t, from: addDays(end, -364), to: end })),
      );
    }

    const figures = {
      overview_p50_ms: r1(pct(overview, 50)),
      overview_p95_ms: r1(pct(overview, 95)),
      municipality_p50_ms: r1(pct(municipality, 50)),
      municipality_p95_ms: r1(pct(municipality, 95)),
      attributes_p50_ms: r1(pct(attributes, 50)),
      attributes_p95_ms: r1(pct(attributes, 95)),
      mileage_p50_ms: r1(pct(mileage, 50)),
      mileage_p95_ms: r1(pct(mileage, 95)),
      rollup_query_p95_ms: r1(pct(rollupQ, 95)),
      raw_query_p95_ms: r1(pct(rawQ, 95)),
    };
    say(`概要 API p50 ${figures.overview_p50_ms} ms / p95 ${figures.overview_p95_ms} ms (${requests} 回)`);
    say(`市町 API p50 ${figures.municipality_p50_ms} ms / p95 ${figures.municipality_p95_ms} ms (${requests} 回)`);
    say(`マイレージ API p50 ${figures.mileage_p50_ms} ms / p95 ${figures.mileage_p95_ms} ms (${requests} 回)`);
    say(
      `属性別 API (集計キャッシュなし) p50 ${figures.attributes_p50_ms} ms / p95 ${figures.attributes_p95_ms} ms (${ids.length} 回)`,
    );
    say(
      `同じ Webhook 集計: 日別集計テーブル p95 ${figures.rollup_query_p95_ms} ms、生イベント p95 ${figures.raw_query_p95_ms} ms`,
    );
    return {
      bench: 'dashboard',
      events,
      residents,
      days,
      tenants: ids.length,
      requests,
      generate_seconds: generateSeconds,
      stored,
      ...figures,
      // every view the pages call, the attribute breakdown (uncached) included
      p95_ms: Math.max(figures.overview_p95_ms, figures.municipality_p95_ms, figures.attributes_p95_ms),
      raw_vs_rollup: r1(figures.raw_query_p95_ms / Math.max(0.1, figures.rollup_query_p95_ms)),
      cpus: os.cpus().length,
      goal: 'p95_ms <= 150 (overview, municipality and attribute views)',
    };
  } finally {
    await redis.quit().catch(() => {});
    await redisServer.stop().catch(() => {});
    await ch.close().catch(() => {});
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}
