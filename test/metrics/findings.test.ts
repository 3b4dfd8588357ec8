import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../core/tenants.ts';
import { Metrics, wilson, type FindingsResult } from '../../metrics/index.ts';
import {
  days,
  daily,
  insert,
  tokyo,
  writeDeliveries,
  writeFollowDays,
  type WorldDelivery,
} from '../helpers/findings-world.ts';
import { harness, type Harness } from '../helpers/index.ts';

// Each world lives in its own tenants, so one ClickHouse holds them all.
const T = (id: string, name: string, population: number) => ({ id, name, kind: 'municipality' as const, population });
const TENANTS = [
  T('24201', '津市', 274500),
  T('24202', '四日市市', 305400),
  T('24203', '伊勢市', 122800),
  T('24204', '松阪市', 159000),
  T('24205', '桑名市', 138600),
  T('24207', '鈴鹿市', 195700),
  T('24208', '名張市', 76400),
  T('24209', '尾鷲市', 16000),
  T('24210', '亀山市', 49000),
  T('24211', '鳥羽市', 17500),
];
const PERIOD = { from: '2026-04-01', to: '2026-09-30' };

let h: Harness;
let metrics: Metrics;
let all: Tenant[];
const find = async (focus: string | null, ids: string[]): Promise<FindingsResult> =>
  metrics.findings({
    municipalities: all.filter((t) => ids.includes(t.id)),
    focus: focus ? all.find((t) => t.id === focus)! : null,
    period: PERIOD,
    namedPeers: true,
  });
const keys = (r: FindingsResult) => r.findings.map((f) => f.key);
const skipped = (r: FindingsResult, key: string) => r.leftOut.find((l) => l.key === key);

beforeAll(async () => {
  h = await harness({ tenants: TENANTS });
  metrics = new Metrics(h.ch, h.tenants);
  all = await h.tenants.list();
  const world: WorldDelivery[] = [
    // 津市: evening deliveries opened twice as often as morning ones (every third day, alternating)
    ...daily('24201', days('2026-04-02', 30, 3), 19, { recipients: 2000, openRate: 0.4 }),
    ...daily('24201', days('2026-04-03', 30, 3), 10, { recipients: 2000, openRate: 0.2 }),
    // 四日市市: the same times, the same open rate
    ...daily('24202', days('2026-04-02', 30, 3), 19, { recipients: 2000, openRate: 0.3 }),
    ...daily('24202', days('2026-04-03', 30, 3), 10, { recipients: 2000, openRate: 0.3 }),
    // 伊勢市 sends once a week with few blocks, 松阪市 four times a week with many
    ...daily('24203', days('2026-04-06', 20, 7), 12, { recipients: 2000, openRate: 0.3, blocks: 4 }),
    ...daily('24204', days('2026-04-06', 20, 7), 12, { recipients: 2000, openRate: 0.3, blocks: 16 }),
    ...daily('24204', days('2026-04-07', 20, 7), 12, { recipients: 2000, openRate: 0.3, blocks: 16 }),
    ...daily('24204', days('2026-04-09', 20, 7), 12, { recipients: 2000, openRate: 0.3, blocks: 16 }),
    ...daily('24204', days('2026-04-11', 20, 7), 12, { recipients: 2000, openRate: 0.3, blocks: 16 }),
    // 桑名市: segment deliveries block less than deliveries to every friend (weekly, alternating)
    ...daily('24205', days('2026-04-06', 20, 7), 12, { recipients: 3000, openRate: 0.3, blocks: 18 }),
    ...daily('24205', days('2026-04-09', 20, 7), 12, { recipients: 800, openRate: 0.3, blocks: 1, segment: true }),
    // 尾鷲市, 亀山市, 鳥羽市: evening segment deliveries with a picture, opened twice as often as the rest
    ...['24209', '24210', '24211'].flatMap((t) =>
      daily(t, days('2026-04-06', 10, 7), 19, { recipients: 600, openRate: 0.6, segment: true, type: 'image' }),
    ),
    // 鈴鹿市: five deliveries only
    ...daily('24207', days('2026-05-01', 5, 7), 19, { recipients: 1500, openRate: 0.5 }),
  ];
  await writeDeliveries(h.ch, world, 7);
}, 120_000);
afterAll(() => h?.close());

describe('findings', () => {
  it('evening deliveries opened twice as often: the timing finding says so, with its interval and sample', async () => {
    const r = await find('24201', ['24201']);
    const f = r.findings.find((x) => x.key === 'timing.hour_open');
    expect(f, JSON.stringify(r.leftOut)).toBeDefined();
    expect(f!.text).toMatch(/^津市では、19時台に送った配信の開封率は 4\d\.\d%/);
    expect(f!.text).toContain('10時台に送った配信');
    expect(f!.text).toMatch(/95% 信頼区間 \d+\.\d%〜\d+\.\d%/);
    expect(f!.text).toMatch(/の (1\.[89]|2\.[0-2]) 倍でした/);
    expect(f!.sample).toBe('配信 60 件・配信人数 120,000 人');
    expect(f!.evidenceTotal).toBe(60);
    expect(f!.evidence[0]!.deliveryId).toMatch(/^[0-9a-f-]{36}$/);
    // the heatmap: every cell with its count of deliveries
    expect(r.heatmap.reduce((a, c) => a + c.deliveries, 0)).toBe(60);
    const evening = r.heatmap.filter((c) => c.hour === 19);
    expect(Math.min(...evening.map((c) => c.openRate!))).toBeGreaterThan(0.3);
  });

  it('a world with no effect yields no timing, frequency or content finding', async () => {
    const r = await find('24202', ['24202']);
    expect(r.findings.filter((f) => ['timing', 'frequency', 'content'].includes(f.topic))).toEqual([]);
    expect(skipped(r, 'timing.hour_open')!.reason).toMatch(/^はっきりした差なし: 開封率の差は偶然の範囲内か小さい/);
    expect(skipped(r, 'timing.hour_open')!.reason).toContain('配信 60 件');
  });

  it('weekly senders block less: blocks rise from the second delivery in seven days', async () => {
    const r = await find(null, ['24203', '24204']);
    const f = r.findings.find((x) => x.key === 'frequency.level');
    expect(f, JSON.stringify(r.leftOut)).toBeDefined();
    expect(f!.text).toContain('直近 7 日間の配信が 2 回以上になると');
    expect(f!.text).toMatch(/1 回以下の \d\.\d 人/);
    expect(f!.sample).toMatch(/^配信 100 件/);
    // the chart's rows: once a week ≈ 2 per 1,000, four times ≈ 8
    const once = r.frequency.find((b) => b.label === '直近 7 日間に 1 回')!;
    const four = r.frequency.find((b) => b.label === '直近 7 日間に 4 回以上')!;
    expect(once.per1000).toBeGreaterThan(1);
    expect(once.per1000).toBeLessThan(3.5);
    expect(four.per1000).toBeGreaterThan(6);
    expect(four.low).toBeGreaterThan(once.high);
  });

  it('segmenting lowers blocks', async () => {
    const r = await find('24205', ['24205']);
    const f = r.findings.find((x) => x.key === 'content.segment_blocks');
    expect(f, JSON.stringify(r.leftOut)).toBeDefined();
    expect(f!.text).toMatch(
      /^桑名市では、セグメント配信の配信後 3 日間のブロックは 配信人数 1,000 人あたり [01]\.\d 人/,
    );
    expect(f!.text).toContain('すべての友だちへの配信の 配信人数 1,000 人あたり 6.');
    // open rates are the same: no finding on them
    expect(keys(r)).not.toContain('content.segment_open');
  });

  it('a thin world is left out as too few, with the reason', async () => {
    const r = await find('24207', ['24207']);
    expect(r.findings.filter((f) => f.topic === 'timing')).toEqual([]);
    expect(skipped(r, 'timing.hour_open')!.reason).toBe(
      'データが少ないため省略: 比べられる配信が 5 件しかありません (20 件以上が必要)',
    );
    expect(skipped(r, 'frequency.level')!.reason).toContain('5 件しかありません');
    expect(skipped(r, 'peers.openRate')!.reason).toContain('比べられる市町が');
  });

  it('peers: the top three with what they did differently, in Japanese with the numbers', async () => {
    const r = await find(
      null,
      TENANTS.map((t) => t.id),
    );
    const f = r.findings.find((x) => x.key === 'peers.openRate');
    expect(f, JSON.stringify(r.leftOut)).toBeDefined();
    expect(f!.text).toMatch(
      /^他の成功事例: 開封率の上位 3 市町 \((尾鷲市|亀山市|鳥羽市) [56]\d\.\d%・(尾鷲市|亀山市|鳥羽市) [56]\d\.\d%・(尾鷲市|亀山市|鳥羽市) [56]\d\.\d%\) は、ほかの 5 市町の中央値 3\d\.\d% より高くなっています。/,
    );
    expect(f!.text).toContain('夕方・夜 (17〜21時) の配信が 100.0%');
    expect(f!.text).toContain('セグメント配信が 100.0% (同 ');
    expect(f!.text).toContain('画像・Flex・動画の配信が 100.0% (同 0.0%)');
    expect(f!.sample).toBe('8 市町 (配信 290 件)');
    // blocks: the three with the fewest (none at all) against 松阪市, 桑名市 and the rest
    expect(r.findings.find((x) => x.key === 'peers.blocksPer1000')!.text).toContain('が少ない 3 市町 (');
    // 松阪市 sends most often: the peers' rows say so
    expect(r.peers.find((p) => p.tenantId === '24204')!.deliveries).toBe(80);
  });

  it('promotion events in the issue log: new friends after against before', async () => {
    const tid = '24208';
    const ds: Array<{ tenantId: string; day: string; follows: number }> = [];
    const events = ['2026-05-10', '2026-06-20', '2026-08-01'];
    for (const day of days('2026-04-01', 183)) {
      const after = events.some((e) => day >= e && day < addDay(e, 14));
      ds.push({ tenantId: tid, day, follows: after ? 30 : 10 });
    }
    await writeFollowDays(h.ch, ds);
    await insert(
      h.ch,
      'report_issues',
      events.map((e, i) => ({
        issue_id: `p${i}`,
        issue_no: i + 1,
        tenant_id: tid,
        raised_on: e,
        category: '周知',
        description: '健康まつりでチラシを配布',
        response: '',
        owner: '',
        status: '完了',
        created_by: 't',
        created_at: '2026-04-01 00:00:00',
        updated_by: 't',
        updated_at: '2026-04-01 00:00:00',
        version: 1,
        is_deleted: 0,
      })),
    );
    const r = await find(tid, [tid]);
    const f = r.findings.find((x) => x.key === 'growth.promotion');
    expect(f, JSON.stringify(r.leftOut)).toBeDefined();
    expect(f!.text).toContain('周知・イベント 3 件の後 14 日間の友だち追加は 1,260 人で、前 14 日間の 420 人の 3.0 倍');
  });

  it('mileage: the activities that bring new participants; too few deliveries for their effect on earning', async () => {
    const tid = '24210';
    const act = (activity_id: string, name: string) => ({
      tenant_id: tid,
      programme_id: 'p1',
      activity_id,
      name,
      points: 10,
      method: 'self_report',
      self_report_label: '',
      daily_cap: 0,
      period_cap: 0,
      sort: 0,
      retired: 0,
      updated_by: 't',
      updated_at: '2026-04-01 00:00:00',
      version: 1,
      is_deleted: 0,
    });
    await insert(h.ch, 'mileage_activities', [act('walk', 'ウォーキング 30 分'), act('check', '健康診断の受診')]);
    const entry = (user: number, activity: string, day: string) => ({
      tenant_id: tid,
      programme_id: 'p1',
      user_id: `U${user}`,
      entry_id: `e${user}:${activity}:${day}`,
      activity_id: activity,
      kind: 'self_report',
      points: 10,
      activity_on: day,
      source_id: '',
      corrects: '',
      reason: '',
      actor: 'resident',
      recorded_at: `${day} 03:00:00.000`,
    });
    // 30 residents start with the walk, 10 with the check-up; later entries do not count as a start
    await insert(h.ch, 'mileage_ledger', [
      ...Array.from({ length: 30 }, (_, i) => entry(i, 'walk', '2026-05-10')),
      ...Array.from({ length: 10 }, (_, i) => entry(100 + i, 'check', '2026-06-10')),
      ...Array.from({ length: 30 }, (_, i) => entry(i, 'check', '2026-07-10')),
    ]);
    const r = await find(tid, [tid]);
    const f = r.findings.find((x) => x.key === 'mileage.activities');
    expect(f, JSON.stringify(r.leftOut)).toBeDefined();
    expect(f!.text).toBe(
      '期間中に初めてポイントを得た 40 人の最初の活動は、「ウォーキング 30 分」30 人 (75.0%)、「健康診断の受診」10 人 (25.0%)の順に多く、これらの活動が新しい参加者の入口になっています。',
    );
    expect(f!.sample).toBe('新しい参加者 40 人');
    expect(skipped(r, 'mileage.deliveries')!.reason).toMatch(
      /^データが少ないため省略: ポイントの記録がある市町の配信が 10 件/,
    );
  });

  it('Wilson interval', () => {
    const i = wilson(40, 100);
    expect(i.low).toBeCloseTo(0.3094, 3);
    expect(i.high).toBeCloseTo(0.498, 3);
  });
});

const addDay = (d: string, n: number) =>
  new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
void tokyo;
