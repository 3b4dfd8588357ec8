import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openClickHouse } from '../../core/clickhouse.ts';
import { tokyoToday, addDays, addMonths } from '../../core/time.ts';
import { planDeliveries, deliveryHabits } from '../../cli/demo-deliveries.ts';
import { reapRedis, repoRoot, testConfig, testEnv, migratedTmpDir, waitFor } from '../helpers/index.ts';
import { docxText } from '../helpers/report-documents-fixtures.ts';

// `npm run demo` on a fresh machine: the sandbox's year of history (sped up here), the year's deliveries
// with LINE's figures, and last month's report package made again once that history is in.
const tmp = migratedTmpDir();
const env = testEnv(tmp.dir, {
  LOG_LEVEL: 'error',
  TAYORI_REPORTS_CATCH_UP: 'on',
  TAYORI_DEMO_REGISTRATIONS: 'on',
  TAYORI_DEMO_SPEED: '1500000',
});
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  reapRedis(tmp.dir);
  tmp.remove();
});

describe('the demo plan of deliveries', () => {
  it('is the same for the same inputs, 2–6 a month, with each municipality its habits', () => {
    const a = planDeliveries('24201', '2025-12-06', '2026-12-05');
    expect(planDeliveries('24201', '2025-12-06', '2026-12-05')).toEqual(a);
    const byMonth = new Map<string, number>();
    for (const d of a)
      byMonth.set(tokyoToday(d.sentAt).slice(0, 7), (byMonth.get(tokyoToday(d.sentAt).slice(0, 7)) ?? 0) + 1);
    // whole months (not the first and last, cut by the history's bounds)
    for (const [m, n] of byMonth) if (m > '2025-12' && m < '2026-12') expect(n, m).toBeGreaterThanOrEqual(2);
    for (const n of byMonth.values()) expect(n).toBeLessThanOrEqual(6);
    const ids = new Set(a.map((d) => d.id));
    expect(ids.size).toBe(a.length);
    const codes = Array.from({ length: 40 }, (_, i) => String(24300 + i));
    const habits = codes.map(deliveryHabits);
    expect(habits.some((h) => h.evening) && habits.some((h) => !h.evening)).toBe(true);
    expect(habits.some((h) => h.weekly) && habits.some((h) => !h.weekly)).toBe(true);
    const all = codes.flatMap((c) => planDeliveries(c, '2025-12-06', '2026-12-05'));
    expect(new Set(all.map((d) => d.type))).toEqual(new Set(['text', 'image', 'flex', 'video']));
    expect(all.some((d) => d.segment) && all.some((d) => !d.segment)).toBe(true);
    // evening deliveries are meant to be opened about twice as often
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const hourOf = (ms: number) => new Date(ms + 9 * 3600_000).getUTCHours();
    const evening = mean(all.filter((d) => hourOf(d.sentAt) >= 19).map((d) => d.openP));
    const morning = mean(all.filter((d) => hourOf(d.sentAt) < 13).map((d) => d.openP));
    expect(evening / morning).toBeGreaterThan(1.7);
    expect(evening / morning).toBeLessThan(2.3);
  });
});

describe('npm run demo, its year of history', () => {
  it('has every municipality deliveries with open and click figures, and last month’s KPI report counts friend figures', async () => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/tayori.mjs'), 'demo'], { env, cwd: repoRoot });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const url = await waitFor(async () => /起動しました: (http:\/\/\S+)/.exec(out)?.[1], 110_000, 'the demo URL');
    const { token } = JSON.parse(fs.readFileSync(path.join(tmp.dir, 'suite.json'), 'utf8')) as { token: string };
    const auth = { authorization: `Bearer ${token}` };
    const last = addMonths(tokyoToday().slice(0, 7), -1);
    // the package made again once the history is in: a second version of the KPI report
    type File = { id: string; kind: string; version: number };
    const kpi = await waitFor(
      async () => {
        const r = (await (await fetch(`${url}/api/v1/reports?period=${last}`, { headers: auth })).json()) as {
          files: File[];
        };
        return r.files.find((f) => f.kind === 'kpi-docx' && f.version >= 2);
      },
      420_000,
      `last month's (${last}) package made again after the history`,
    );
    expect(out).toContain('1 年分の履歴');
    const bytes = Buffer.from(
      await (await fetch(`${url}/api/v1/reports/files/${kpi.id}`, { headers: auth })).arrayBuffer(),
    );
    const text = docxText(bytes);
    const known = /友だち数が分かる市町は (\d+) 市町のうち (\d+) 市町です/.exec(text);
    expect(known, text.slice(0, 2000)).not.toBeNull();
    expect(Number(known![1])).toBe(29);
    expect(Number(known![2])).toBeGreaterThanOrEqual(25);
    child.kill('SIGINT');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));

    // the data of record, read once the demo has let go of its engine
    const ch = await openClickHouse(testConfig(tmp.dir).clickhouse);
    try {
      const rows = (await (
        await ch.query({
          query: `SELECT d.tenant_id AS tenant, count() AS n, countIf(s.ui IS NOT NULL) AS opened, countIf(s.uc IS NOT NULL) AS clicked,
                         uniqExact(toHour(d.started_at, 'Asia/Tokyo')) AS hours
                  FROM (SELECT tenant_id, aggregation_unit, started_at FROM deliveries FINAL WHERE kind = 'normal') AS d
                  LEFT JOIN (SELECT tenant_id, key, any(unique_impression) AS ui, any(unique_click) AS uc
                             FROM insight_message_stats GROUP BY tenant_id, key) AS s
                  ON d.tenant_id = s.tenant_id AND d.aggregation_unit = s.key
                  GROUP BY tenant ORDER BY tenant SETTINGS join_use_nulls = 1`,
          format: 'JSONEachRow',
        })
      ).json()) as Array<{ tenant: string; n: string; opened: string; clicked: string }>;
      expect(rows).toHaveLength(29);
      for (const r of rows) expect(Number(r.n), r.tenant).toBeGreaterThanOrEqual(24);
      // LINE's privacy rule hides small towns' figures; the cities have them
      const withOpens = rows.filter((r) => Number(r.opened) > 0);
      expect(withOpens.length).toBeGreaterThanOrEqual(15);
      expect(rows.find((r) => r.tenant === '24201')!.opened).toBe(rows.find((r) => r.tenant === '24201')!.n);
      expect(Number(rows.find((r) => r.tenant === '24201')!.clicked)).toBeGreaterThan(0);
      const clicks = (await (
        await ch.query({
          query: "SELECT count() AS n FROM delivery_clicks WHERE tenant_id = '24201'",
          format: 'JSONEachRow',
        })
      ).json()) as Array<{ n: string }>;
      expect(Number(clicks[0]!.n)).toBeGreaterThan(0);
      // the history spans the sandbox's year
      const span = (await (
        await ch.query({
          query:
            "SELECT toString(toDate(min(started_at), 'Asia/Tokyo')) AS a, toString(toDate(max(started_at), 'Asia/Tokyo')) AS b FROM deliveries FINAL WHERE tenant_id = '24201'",
          format: 'JSONEachRow',
        })
      ).json()) as Array<{ a: string; b: string }>;
      expect(span[0]!.a <= addDays(tokyoToday(), -330)).toBe(true);
      expect(span[0]!.b >= addDays(tokyoToday(), -40)).toBe(true);
    } finally {
      await ch.close();
    }
  }, 600_000);
});
