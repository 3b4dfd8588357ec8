/**
 * npm run bench -- reports [--events N]
 *
 * Seeds the prefecture and its 29 municipalities with thirteen months of figures (webhook events and
 * their daily rollup, LINE's daily followers, two deliveries a week per municipality with their
 * statistics — the dashboard bench's generators at a smaller size), the month's minutes and an
 * issue log with its history; then, in a fresh process on that data directory, makes last month's
 * package (議事録 docx, 課題管理表 xlsx, KPI 報告書 xlsx + docx + pdf with charts) the way a job
 * does — build, checksum, store — and prints the wall time and the process's peak memory (RSS);
 * then the final report (docx + xlsx) over the twelve months up to last month.
 * Goals: ≤ 10 s each (`seconds`: the monthly package, `final_seconds`: the final report).
 * Environment: BENCH_EVENTS (over the thirteen months; the default keeps the monthly density of
 * 1M events a month), BENCH_KEEP=1 (keep the data directory).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMunicipalities } from '../cli/demo-seed.ts';
import { openClickHouse, type ClickHouseClient } from '../core/clickhouse.ts';
import { SecretBox } from '../core/crypto.ts';
import { migrate } from '../core/migrations.ts';
import { sql } from '../core/sql.ts';
import { TenantStore } from '../core/tenants.ts';
import { addDays, addMonths, monthBounds } from '../core/time.ts';

const here = fileURLToPath(import.meta.url);
const LIMIT_SECONDS = 10;
const FINAL_LIMIT_SECONDS = 10;
/** Months of figures before last month (the final report's twelve and the month before them). */
const HISTORY_MONTHS = 12;
const r2 = (x: number) => Math.round(x * 100) / 100;
const say = (s: string) => console.error(`[reports] ${s}`);

interface ChildResult {
  seconds: number;
  warm_seconds: number;
  load_seconds: number;
  peak_rss_mb: number;
  steps: Array<{ step: string; seconds: number }>;
  files: Array<{ kind: string; size: number }>;
  final_seconds: number;
  final_steps: Array<{ step: string; seconds: number }>;
  final_files: Array<{ kind: string; size: number }>;
}

// ------------------------------------------------------------------ measuring child process
if (process.argv[2] === '--measure-child') {
  const [dir, month] = [process.argv[3]!, process.argv[4]!];
  const t0 = performance.now();
  const ch = await openClickHouse({ kind: 'embedded', path: path.join(dir, 'clickhouse') });
  const r = await import('../reports/index.ts');
  const build = await r.documentBuilders();
  const deps = {
    sources: { ch, tenants: new TenantStore(ch, new SecretBox(randomBytes(32))), store: new r.ReportStore(ch) },
    files: new r.ReportFileStore(ch, path.join(dir, 'reports')),
    build,
  };
  const loadSeconds = (performance.now() - t0) / 1000;
  const steps: Array<{ step: string; seconds: number }> = [];
  let at = performance.now();
  let current = '';
  const t1 = performance.now();
  const files = await r.produceReport(
    deps,
    { type: 'monthly', month },
    {
      createdBy: 'bench',
      onProgress: (p) => {
        if (p.step === current) return;
        const now = performance.now();
        if (current) steps.push({ step: current, seconds: r2((now - at) / 1000) });
        current = p.step;
        at = now;
      },
    },
  );
  const seconds = (performance.now() - t1) / 1000;
  const peak = process.resourceUsage().maxRSS / 1024;
  const t2 = performance.now();
  await r.produceReport(deps, { type: 'monthly', month }, { createdBy: 'bench' });
  const warm = (performance.now() - t2) / 1000;
  // the final report over the twelve months up to `month`
  const finalSteps: Array<{ step: string; seconds: number }> = [];
  current = '';
  const t3 = performance.now();
  at = t3;
  const finals = await r.produceReport(
    deps,
    { type: 'final', from: addMonths(month, -(HISTORY_MONTHS - 1)), to: month },
    {
      createdBy: 'bench',
      onProgress: (p) => {
        if (p.step === current) return;
        const now = performance.now();
        if (current) finalSteps.push({ step: current, seconds: r2((now - at) / 1000) });
        current = p.step;
        at = now;
      },
    },
  );
  const finalSeconds = (performance.now() - t3) / 1000;
  await ch.close();
  const out: ChildResult = {
    seconds,
    warm_seconds: warm,
    load_seconds: loadSeconds,
    peak_rss_mb: peak,
    steps,
    files: files.map((f) => ({ kind: f.kind, size: f.size })),
    final_seconds: finalSeconds,
    final_steps: finalSteps,
    final_files: finals.map((f) => ({ kind: f.kind, size: f.size })),
  };
  console.log(JSON.stringify(out));
  process.exit(0);
}

/** --events N or BENCH_EVENTS (underscores allowed: 2_000_000). */
function eventsOption(fallback: number): number {
  const at = process.argv.indexOf('--events');
  const raw = (at > 0 ? process.argv[at + 1] : undefined) ?? process.env.BENCH_EVENTS ?? String(fallback);
  const n = Number(raw.replace(/_/g, ''));
  if (Number.isInteger(n) && n > 0) return n;
  throw new Error(`--events (BENCH_EVENTS) は正の整数で指定してください: ${raw}`);
}

async function exec(ch: ClickHouseClient, name: string, params: Record<string, unknown>): Promise<void> {
  await ch.command({ query: sql(name), query_params: params, clickhouse_settings: { max_insert_threads: '2' } });
}

/** The month's minutes (a regular meeting and individual ones) and an issue log with changes. */
async function seedRecords(
  ch: ClickHouseClient,
  month: string,
  ids: string[],
): Promise<{ minutes: number; issues: number }> {
  const { ReportStore } = await import('../reports/index.ts');
  const { issueCreateSchema, issuePatchSchema, minutesCreateSchema } = await import('../reports/schemas.ts');
  const store = new ReportStore(ch);
  const day = (d: number) => `${month}-${String(d).padStart(2, '0')}`;
  let minutes = 0;
  for (let k = 0; k < 8; k++) {
    const tenant = ids[(k * 7) % ids.length]!;
    await store.createMinutes(
      minutesCreateSchema.parse({
        heldAt: `${day(3 + k * 3)}T14:00`,
        endedAt: `${day(3 + k * 3)}T15:30`,
        kind: k === 0 ? '定例会' : '個別検討会議',
        title: k === 0 ? `${month.slice(5)}月 定例会` : `個別検討会議 (${tenant})`,
        place: 'web会議',
        tenantIds: k === 0 ? ['24000'] : ['24000', tenant],
        attendees: [
          { organization: '県 健康推進課', name: '山田 花子' },
          { organization: '受託者', name: '佐藤 一郎' },
        ],
        agenda: ['友だち登録数の推移', '翌月の配信計画'],
        discussion: '登録者数は前月比で増加。ブロック率は横ばい。\n配信の時間帯を見直す。',
        decisions: ['翌月は健康ポイントの案内を配信する'],
        actionItems: [{ task: '配信原稿の作成', owner: '佐藤', due: day(28) }],
      }),
      'bench',
    );
    minutes++;
  }
  let issues = 0;
  for (let k = 0; k < 40; k++) {
    const i = await store.createIssue(
      issueCreateSchema.parse({
        tenantId: ids[k % ids.length]!,
        raisedOn: day(1 + (k % 27)),
        category: ['操作', '設定', '集計', '配信'][k % 4]!,
        description: `課題 ${k + 1}: 配信予約の時刻を間違えやすい`,
        owner: '佐藤',
        dueOn: day(28),
      }),
      'bench',
    );
    if (k % 2 === 0)
      await store.changeIssue(
        i.id,
        'bench',
        issuePatchSchema.parse({ status: '対応中', response: '操作手順書を改訂する', note: '県と協議' }),
        () => {},
      );
    if (k % 4 === 0)
      await store.changeIssue(i.id, 'bench', issuePatchSchema.parse({ status: '完了', resolvedOn: day(28) }), () => {});
    issues++;
  }
  return { minutes, issues };
}

export async function benchReports(): Promise<Record<string, unknown>> {
  const events = eventsOption(1_000_000 * (HISTORY_MONTHS + 1));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tayori-bench-reports-'));
  try {
    // last month (Asia/Tokyo), with the twelve months before it: the final report's year and the change in friends
    const month = addMonths(new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 7), -1);
    const start = `${addMonths(month, -HISTORY_MONTHS)}-01`;
    const end = monthBounds(month).to;
    const days = Math.round((Date.parse(end) - Date.parse(start)) / 86_400_000) + 1;
    const ch = await openClickHouse({ kind: 'embedded', path: path.join(dir, 'clickhouse') });
    const g0 = performance.now();
    let records: { minutes: number; issues: number };
    let tenantsCount: number;
    try {
      await migrate(ch);
      const tenants = new TenantStore(ch, new SecretBox(randomBytes(32)));
      const rows = readMunicipalities();
      for (const r of rows)
        await tenants.add({ id: r.code, name: r.name, nameKana: r.kana, kind: r.kind, population: r.population });
      const munis = rows.filter((r) => r.kind === 'municipality');
      const ids = munis.map((r) => r.code);
      tenantsCount = ids.length;
      const total = munis.reduce((a, r) => a + (r.population ?? 0), 0);
      let acc = 0;
      const weights = munis.map((r, i) => (i === munis.length - 1 ? 1.0000001 : (acc += (r.population ?? 0) / total)));
      say(
        `生成: ${ids.length} 市町、${start}〜${end} (${days} 日)、イベント ${events.toLocaleString()} 件、対象月 ${month}`,
      );
      await exec(ch, 'dashboard_bench.raw_events', {
        offset: 0,
        count: events,
        tenants: ids,
        weights,
        start,
        days,
        residents: 20_000,
      });
      await exec(ch, 'dashboard_bench.rollup_all', {});
      await exec(ch, 'dashboard_bench.followers', {
        tenants: ids,
        start: addDays(start, -1),
        days: days + 1,
        friendsMax: 20_000,
      });
      await exec(ch, 'dashboard_bench.tracked', { tenants: ids, start, days });
      await exec(ch, 'dashboard_bench.stats', {});
      // health mileage of the month's fiscal year: 2,000 participants per municipality on average
      const fy = Number(month.slice(5, 7)) >= 4 ? Number(month.slice(0, 4)) : Number(month.slice(0, 4)) - 1;
      const fyStart = `${fy}-04-01`;
      await exec(ch, 'dashboard_bench.mileage_programmes', { tenants: ids, fy, start: fyStart });
      await exec(ch, 'dashboard_bench.mileage_activities', { tenants: ids });
      await exec(ch, 'dashboard_bench.mileage_ledger', {
        offset: 0,
        count: 2_000 * ids.length * 20,
        tenants: ids,
        weights,
        start: fyStart,
        days: Math.max(1, Math.round((Date.parse(end) - Date.parse(fyStart)) / 86_400_000) + 1),
      });
      await exec(ch, 'dashboard_bench.mileage_cards', {});
      records = await seedRecords(ch, month, ids);
    } finally {
      await ch.close();
    }
    const generateSeconds = r2((performance.now() - g0) / 1000);
    say(`生成完了 ${generateSeconds} 秒 (議事録 ${records.minutes} 件、課題 ${records.issues} 件)`);

    // The package in a process of its own: its peak RSS is the package's (with the engine's).
    const child = spawn(process.execPath, ['--import', 'tsx', here, '--measure-child', dir, month], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`計測プロセスが異常終了しました (終了コード ${code}): ${out}`);
    const m = JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
    for (const s of m.steps) say(`  ${s.step}: ${s.seconds} 秒`);
    say(
      `月次報告 (${m.files.length} ファイル、${(m.files.reduce((a, f) => a + f.size, 0) / 1024).toFixed(0)} KB): ${r2(m.seconds)} 秒、2 回目 ${r2(m.warm_seconds)} 秒、モジュール読み込み ${r2(m.load_seconds)} 秒、最大 RSS ${Math.round(m.peak_rss_mb)} MB`,
    );
    for (const s of m.final_steps) say(`  ${s.step}: ${s.seconds} 秒`);
    say(`最終報告 (${HISTORY_MONTHS} か月、${m.final_files.length} ファイル): ${r2(m.final_seconds)} 秒`);
    const seconds = r2(m.seconds);
    const finalSeconds = r2(m.final_seconds);
    return {
      bench: 'reports',
      month,
      tenants: tenantsCount,
      events,
      ...records,
      generate_seconds: generateSeconds,
      files: Object.fromEntries(m.files.map((f) => [f.kind, f.size])),
      steps: Object.fromEntries(m.steps.map((s) => [s.step, s.seconds])),
      load_seconds: r2(m.load_seconds),
      warm_seconds: r2(m.warm_seconds),
      seconds,
      peak_rss_mb: Math.round(m.peak_rss_mb),
      limit_seconds: LIMIT_SECONDS,
      ratio: r2(seconds / LIMIT_SECONDS),
      final_months: HISTORY_MONTHS,
      final_files: Object.fromEntries(m.final_files.map((f) => [f.kind, f.size])),
      final_steps: Object.fromEntries(m.final_steps.map((s) => [s.step, s.seconds])),
      final_seconds: finalSeconds,
      final_limit_seconds: FINAL_LIMIT_SECONDS,
      cpus: os.cpus().length,
      goal: { seconds: LIMIT_SECONDS, final_seconds: FINAL_LIMIT_SECONDS },
    };
  } finally {
    // BENCH_KEEP=1: the data directory stays, to time the documents again with --measure-child <dir> <month>
    if (process.env.BENCH_KEEP === '1') say(`データを残しました: ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}
