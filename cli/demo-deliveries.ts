/**
 * The demo's year of deliveries: for every municipality 2–6 deliveries a month over the sandbox's
 * history (text, image, Flex and video; morning or evening; to all friends or a segment), each with
 * the record delivery/ keeps, the tracking ingest/insight keeps, LINE's statistics as the Insight
 * pollers would have stored them (recipients from the sandbox's friend count of that day, LINE's
 * privacy rule applied) and the clicks through Tayori's redirect. Each municipality has habits, so
 * the findings have something to find: evening senders get about twice the opens, segmented
 * deliveries are opened a little more and followed by fewer blocks, and weekly senders' deliveries
 * are followed by half the blocks (the sandbox's residents block after each delivery: demoBlockBursts). Deterministic for the tenant and the
 * history's start; idempotent (a second run, or a run after one cut short, adds only what is missing).
 */
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { query } from '../core/clickhouse.ts';
import type { TenantStore } from '../core/tenants.ts';
import { addDays, addMonths, chDateTime, nextVersion, TOKYO_OFFSET_MS, tokyoToday } from '../core/time.ts';
import { z } from '../core/zod.ts';
import type { World } from '../sandbox/index.ts';
import { prng } from './demo-prng.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** LINE gives no figure below 20 users. */
const PRIVACY_THRESHOLD = 20;
/** Share of friends who block in the 72 h after a delivery to all of them (before the habits). */
const BURST_BLOCK_SHARE = 0.006;

export interface DeliveryHabits {
  /** Sends at 19–20 o'clock (most of the time) rather than in the morning. */
  evening: boolean;
  /** Sends about once a week (4–6 a month) rather than 2–3 a month. */
  weekly: boolean;
  /** Share of deliveries sent to a segment instead of all friends. */
  segmentShare: number;
}

export function deliveryHabits(tenantId: string): DeliveryHabits {
  const r = prng(`demo-deliveries:habits:${tenantId}`);
  return { evening: r() < 0.35, weekly: r() < 0.45, segmentShare: Math.round((0.1 + r() * 0.5) * 100) / 100 };
}

/**
 * The blocks that follow each of a municipality's deliveries, for the sandbox's residents (its
 * `blockBursts`): a share of the friends blocks within 72 hours — half as many after a weekly
 * sender's delivery, fewer after a segment's (only part of the friends received it, and it suited
 * them), a little more for two messages at once. The sandbox's follow/block webhooks and its daily
 * Insight figures then show them, replayed the same on every start.
 */
export function demoBlockBursts(
  tenantId: string,
  fromDay: string,
  toDay: string,
): Array<{ at: number; hours: number; probability: number }> {
  const h = deliveryHabits(tenantId);
  return planDeliveries(tenantId, fromDay, toDay).map((d) => ({
    at: d.sentAt,
    hours: 72,
    probability:
      BURST_BLOCK_SHARE *
      (h.weekly ? 0.5 : 1) *
      (d.segment ? d.segment.share * 0.5 : 1) *
      (d.messages.length > 1 ? 1.3 : 1),
  }));
}

type MessageType = 'text' | 'image' | 'flex' | 'video';

const TOPICS: ReadonlyArray<{ title: string; text: string; path: string }> = [
  {
    title: '健康マイレージのお知らせ',
    text: '健康マイレージの今月のポイント対象事業をご案内します。',
    path: 'mileage',
  },
  { title: '特定健診の受診案内', text: '特定健診の受診期間が始まりました。お早めにご予約ください。', path: 'kenshin' },
  { title: 'がん検診のご案内', text: '各種がん検診の申込を受け付けています。', path: 'gankenshin' },
  { title: 'ウォーキング大会の参加者募集', text: '秋のウォーキング大会の参加者を募集しています。', path: 'walking' },
  { title: '食生活改善の講座', text: '減塩レシピの料理講座を開催します。', path: 'shokuiku' },
  { title: '予防接種のお知らせ', text: 'インフルエンザ予防接種の費用助成が始まります。', path: 'vaccine' },
  { title: '子育て健康相談', text: '乳幼児健康相談の日程をお知らせします。', path: 'kosodate' },
  { title: '熱中症に注意しましょう', text: 'こまめな水分補給と休憩を心がけましょう。', path: 'heat' },
  { title: 'こころの健康相談', text: 'こころの健康相談窓口をご案内します。', path: 'kokoro' },
  { title: '歯と口の健康', text: '歯科健診の無料受診券をお送りしています。', path: 'shika' },
];

const SEGMENTS: ReadonlyArray<{ label: string; condition: unknown; share: number }> = [
  { label: '65歳以上', condition: { attr: 'birth_year', op: 'between', max: 1960 }, share: 0.3 },
  {
    label: '子育て・家事をされている方',
    condition: { attr: 'lifestyle', op: 'in', values: ['homemaker'] },
    share: 0.15,
  },
  { label: 'お勤めの方', condition: { attr: 'lifestyle', op: 'in', values: ['worker', 'self'] }, share: 0.45 },
  { label: '女性', condition: { attr: 'gender', op: 'in', values: ['female'] }, share: 0.52 },
];

export interface PlannedDelivery {
  tenantId: string;
  id: string;
  sentAt: number;
  type: MessageType;
  title: string;
  messages: unknown[];
  links: string[];
  segment: (typeof SEGMENTS)[number] | undefined;
  /** Probability of a recipient opening it (the habit's and the content's). */
  openP: number;
  clickP: number;
}

/** One municipality's deliveries from `fromDay` to `toDay` (Tokyo days), the same for the same inputs. */
export function planDeliveries(tenantId: string, fromDay: string, toDay: string): PlannedDelivery[] {
  const h = deliveryHabits(tenantId);
  const r = prng(`demo-deliveries:${tenantId}:${fromDay}`);
  const out: PlannedDelivery[] = [];
  const habitualWeekday = 1 + Math.floor(r() * 5);
  for (let month = fromDay.slice(0, 7); month <= toDay.slice(0, 7); ) {
    const first = `${month}-01`;
    const days: string[] = [];
    for (let d = first; d.slice(0, 7) === month; d = addDays(d, 1)) days.push(d);
    const weekdays = days.filter((d) => {
      const w = new Date(`${d}T00:00:00Z`).getUTCDay();
      return w >= 1 && w <= 5;
    });
    const n = h.weekly ? 4 + Math.floor(r() * 3) : 2 + Math.floor(r() * 2);
    // without replacement: weekly senders on their habitual weekday first, then other weekdays
    const habitual = h.weekly ? weekdays.filter((d) => new Date(`${d}T00:00:00Z`).getUTCDay() === habitualWeekday) : [];
    const rest = weekdays.filter((d) => !habitual.includes(d));
    const chosen = habitual.slice(0, n);
    while (chosen.length < n && rest.length) chosen.push(rest.splice(Math.floor(r() * rest.length), 1)[0]!);
    for (const day of chosen.sort()) {
      const usual = r() < 0.85;
      const evening = usual ? h.evening : !h.evening;
      const hour = evening ? 19 + Math.floor(r() * 2) : 9 + Math.floor(r() * 4);
      const minute = [0, 0, 15, 30, 30, 45][Math.floor(r() * 6)]!;
      const sentAt = Date.parse(`${day}T00:00:00Z`) - TOKYO_OFFSET_MS + hour * HOUR_MS + minute * 60_000;
      const tr = r();
      const type: MessageType = tr < 0.4 ? 'text' : tr < 0.6 ? 'image' : tr < 0.9 ? 'flex' : 'video';
      const topic = TOPICS[Math.floor(r() * TOPICS.length)]!;
      const segment = r() < h.segmentShare ? SEGMENTS[Math.floor(r() * SEGMENTS.length)] : undefined;
      const url = `https://www.example.lg.jp/${tenantId}/${topic.path}`;
      const { messages, links } = messagesOf(type, topic, url, r());
      const content = type === 'video' ? 1.1 : type === 'flex' ? 1.05 : type === 'image' ? 1.0 : 0.9;
      const openP = Math.min(0.95, (evening ? 0.58 : 0.29) * content * (segment ? 1.1 : 1) * (0.85 + r() * 0.3));
      const clickP = links.length ? 0.08 + r() * 0.1 : 0;
      out.push({
        tenantId,
        id: `dh${sentAt.toString(36)}${tenantId}`,
        sentAt,
        type,
        title: segment ? `${topic.title} (${segment.label})` : topic.title,
        messages,
        links,
        segment,
        openP,
        clickP,
      });
    }
    const [y, m] = month.split('-').map(Number) as [number, number];
    month = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
  }
  return out.filter(
    (d) => d.sentAt >= Date.parse(`${fromDay}T00:00:00Z`) - TOKYO_OFFSET_MS && tokyoToday(d.sentAt) <= toDay,
  );
}

function messagesOf(
  type: MessageType,
  topic: (typeof TOPICS)[number],
  url: string,
  r: number,
): { messages: unknown[]; links: string[] } {
  const longText = r < 0.5;
  const body = longText
    ? `${topic.text}詳しくは市町のホームページをご覧ください。ご不明な点は保健センターまでお問い合わせください。`
    : topic.text;
  switch (type) {
    case 'text':
      return longText
        ? { messages: [{ type: 'text', text: `${body}\n${url}` }], links: [url] }
        : { messages: [{ type: 'text', text: body }], links: [] };
    case 'image':
      return {
        messages: [
          {
            type: 'image',
            originalContentUrl: `https://www.example.lg.jp/img/${topic.path}.jpg`,
            previewImageUrl: `https://www.example.lg.jp/img/${topic.path}-s.jpg`,
          },
        ],
        links: [],
      };
    case 'flex':
      return {
        messages: [
          {
            type: 'flex',
            altText: topic.title,
            contents: {
              type: 'bubble',
              body: { type: 'box', layout: 'vertical', contents: [{ type: 'text', text: body, wrap: true }] },
              footer: {
                type: 'box',
                layout: 'vertical',
                contents: [{ type: 'button', action: { type: 'uri', label: '詳しく見る', uri: url } }],
              },
            },
          },
        ],
        links: [url],
      };
    case 'video':
      return {
        messages: [
          {
            type: 'video',
            originalContentUrl: `https://www.example.lg.jp/video/${topic.path}.mp4`,
            previewImageUrl: `https://www.example.lg.jp/video/${topic.path}.jpg`,
            trackingId: topic.path,
          },
          { type: 'text', text: topic.text },
        ],
        links: [],
      };
  }
}

/** A binomial draw (normal approximation above 50 trials). */
function binomial(n: number, p: number, r: () => number): number {
  if (n <= 0 || p <= 0) return 0;
  if (n <= 50) {
    let k = 0;
    for (let i = 0; i < n; i++) if (r() < p) k++;
    return k;
  }
  const u = Math.max(1e-12, r());
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  return Math.max(0, Math.min(n, Math.round(n * p + z * Math.sqrt(n * p * (1 - p)))));
}

const privacy = (n: number): number | null => (n < PRIVACY_THRESHOLD ? null : n);

const seededRow = z.object({ tbl: z.string(), tenant_id: z.string() });

/**
 * Writes the plan's deliveries for every sandbox municipality, once the sandbox has simulated the
 * days they fall on (recipients are its friends of the day). Returns what was added.
 */
export async function seedDemoDeliveries(
  ch: ClickHouseClient,
  tenants: TenantStore,
  world: World,
  historyStart: number,
): Promise<{ tenants: number; deliveries: number; clicks: number }> {
  const now = world.now();
  const fromDay = tokyoToday(historyStart);
  const toDay = addDays(tokyoToday(now), -1);
  const seeded = await query(ch, 'demo.deliveries_seeded', {}, seededRow);
  const has = (tbl: string, tenant: string) => seeded.some((s) => s.tbl === tbl && s.tenant_id === tenant);
  const deliveries: Array<Record<string, unknown>> = [];
  const tracked: Array<Record<string, unknown>> = [];
  const links: Array<Record<string, unknown>> = [];
  const stats: Array<Record<string, unknown>> = [];
  const clicks: Array<Record<string, unknown>> = [];
  let tenantCount = 0;
  for (const t of await tenants.list()) {
    if (t.kind !== 'municipality' || t.lineApi !== 'sandbox' || !t.channelId) continue;
    const w = world.byChannelId(t.channelId);
    if (!w) continue;
    const plan = planDeliveries(t.id, fromDay, toDay);
    if (!plan.length) continue;
    const firstTime = !has('deliveries', t.id);
    if (firstTime) tenantCount++;
    for (const d of plan) {
      const r = prng(`demo-deliveries:figures:${d.id}`);
      const ymd = tokyoToday(d.sentAt).replaceAll('-', '');
      const friends = w.followersInsight(ymd).followers ?? w.followersInsight(ymd.slice(0, 6) + '01').followers ?? 0;
      const targets = d.segment ? Math.round(friends * d.segment.share * (0.9 + r() * 0.2)) : friends;
      const batches = Math.max(1, Math.ceil(targets / 500));
      const unit = `tayori_${d.id}`.slice(0, 30);
      const at = (ms: number) => chDateTime(ms);
      const finished = d.sentAt + 2000 + batches * 5;
      // LINE's figures as last fetched: 14 days on, or now for a recent one (no poll left: fetched at the window's end)
      const settled = Math.min(d.sentAt + 14 * DAY_MS, now);
      if (!has('deliveries', t.id)) {
        const audience = d.segment
          ? { type: 'segment', condition: d.segment.condition, label: d.segment.label }
          : { type: 'all' };
        deliveries.push({
          tenant_id: t.id,
          delivery_id: d.id,
          kind: 'normal',
          title: d.title,
          messages: JSON.stringify(d.messages),
          links: d.links,
          click_bucket: '',
          audience: JSON.stringify(audience),
          audience_label: d.segment ? `セグメント: ${d.segment.label}` : 'すべての友だち',
          send_method: 'multicast',
          notification_disabled: 0,
          aggregation_unit: unit,
          request_id: '',
          status: 'done',
          scheduled_at: at(d.sentAt),
          started_at: at(d.sentAt),
          finished_at: at(finished),
          targets,
          batches,
          accepted: targets,
          failed: 0,
          error: '',
          created_at: at(d.sentAt - 3 * DAY_MS),
          updated_at: at(finished),
          version: nextVersion(),
          is_deleted: 0,
        });
        tracked.push({
          tenant_id: t.id,
          kind: 'aggregation_unit',
          key: unit,
          sent_at: at(d.sentAt),
          track_until: at(settled),
          registered_at: at(d.sentAt),
          version: nextVersion(),
          is_deleted: 0,
        });
        d.links.forEach((url, i) =>
          links.push({
            token: `${d.id}l${i}`,
            tenant_id: t.id,
            delivery_id: d.id,
            link_no: i,
            bucket: '',
            url,
            created_at: at(d.sentAt - 3 * DAY_MS),
          }),
        );
      }
      const opened = binomial(targets, d.openP, r);
      const clicked = binomial(opened, d.clickP, r);
      const played = d.type === 'video' ? binomial(opened, 0.55, r) : 0;
      const played100 = binomial(played, 0.4, r);
      if (!has('stats', t.id)) {
        const uniqueImpression = privacy(opened);
        const uniqueClick = d.links.length ? privacy(clicked) : null;
        const impression = uniqueImpression === null ? null : Math.round(opened * (1.1 + r() * 0.2));
        const click = uniqueClick === null ? null : Math.round(clicked * (1.05 + r() * 0.1));
        const media = d.type === 'video' ? privacy(played) : null;
        const media100 = d.type === 'video' ? privacy(played100) : null;
        stats.push({
          tenant_id: t.id,
          kind: 'aggregation_unit',
          key: unit,
          sent_at: at(d.sentAt),
          fetched_at: at(settled),
          status: 'ready',
          delivered: null,
          unique_impression: uniqueImpression,
          unique_click: uniqueClick,
          unique_media_played: media,
          unique_media_played_100_percent: media100,
          impression,
          click,
          media_played: media === null ? null : Math.round(played * 1.2),
          messages: d.messages.map((m, i) => {
            const video = (m as { type: string }).type === 'video';
            return {
              seq: i + 1,
              impression: i === 0 ? impression : privacy(Math.round(opened * 0.8)),
              unique_impression: i === 0 ? uniqueImpression : privacy(Math.round(opened * 0.7)),
              media_played: video ? media : null,
              media_played_25_percent: video ? media : null,
              media_played_50_percent: video ? privacy(Math.round(played * 0.75)) : null,
              media_played_75_percent: video ? privacy(Math.round(played * 0.55)) : null,
              media_played_100_percent: video ? media100 : null,
              unique_media_played: video ? media : null,
              unique_media_played_25_percent: video ? media : null,
              unique_media_played_50_percent: video ? privacy(Math.round(played * 0.75)) : null,
              unique_media_played_75_percent: video ? privacy(Math.round(played * 0.55)) : null,
              unique_media_played_100_percent: video ? media100 : null,
            };
          }),
          clicks: d.links.map((url, i) => ({
            seq: 1,
            url,
            click: i === 0 ? click : null,
            unique_click: i === 0 ? uniqueClick : null,
            unique_click_of_request: i === 0 ? uniqueClick : null,
          })),
          response: JSON.stringify({ overview: { uniqueImpression, uniqueClick }, source: 'tayori-demo' }),
        });
      }
      if (!has('clicks', t.id) && d.links.length) {
        // clicks through Tayori's redirect, most within hours of the opening
        for (let k = 0; k < clicked; k++) {
          const delay = Math.min(13 * DAY_MS, -Math.log(Math.max(1e-9, r())) * 6 * HOUR_MS);
          clicks.push({ tenant_id: t.id, delivery_id: d.id, link_no: 0, bucket: '', clicked_at: at(d.sentAt + delay) });
        }
      }
    }
  }
  const insert = async (table: string, values: Array<Record<string, unknown>>) => {
    for (let i = 0; i < values.length; i += 20_000)
      await ch.insert({ table, format: 'JSONEachRow', values: values.slice(i, i + 20_000) });
  };
  // the record last: a tenant with its deliveries has all its other rows too (see demo.deliveries_seeded)
  await insert('insight_tracked_deliveries', tracked);
  await insert('delivery_links', links);
  await insert('insight_message_stats', stats);
  await insert('delivery_clicks', clicks);
  await insert('deliveries', deliveries);
  return { tenants: tenantCount, deliveries: deliveries.length, clicks: clicks.length };
}

const tenantRow = z.object({ tenant_id: z.string() });

/** A wait that does not keep the process alive (a suite stopped meanwhile exits). */
const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** Waits until the sandbox has simulated its history up to yesterday for every channel. */
export async function sandboxCaughtUp(world: World, opts: { pollMs?: number; timeoutMs?: number } = {}): Promise<void> {
  const until = Date.now() + (opts.timeoutMs ?? 30 * 60_000);
  for (;;) {
    const yesterday = addDays(tokyoToday(Date.now()), -1).replaceAll('-', '');
    if (
      world.now() >= Date.now() - 60_000 &&
      world.channels().every((c) => c.followersInsight(yesterday).status === 'ready')
    )
      return;
    if (Date.now() > until) throw new Error('the sandbox did not catch up with its history in time');
    await pause(opts.pollMs ?? 2000);
  }
}

export interface DemoHistoryDeps {
  ch: ClickHouseClient;
  tenants: TenantStore;
  world: World;
  historyStart: number;
  /** Last month's friend figures: asks the Insight pollers for its days (they may be queued already). */
  backfill: (tenantId: string, from: string, to: string) => Promise<unknown>;
  /** Makes last month's report package (a new version when one is stored). */
  makePackage: (month: string) => Promise<unknown>;
  /** Whether to make the package even when no delivery was added (the first package was made before the history). */
  packageStale: () => boolean;
  say?: (line: string) => void;
  pollMs?: number;
}

/**
 * Once the sandbox's year of history is in: the year's deliveries, last month's friend figures, then
 * last month's report package, so its KPI report counts what the history holds.
 */
export async function seedDemoHistory(d: DemoHistoryDeps): Promise<{ deliveries: number; packageMade: boolean }> {
  await sandboxCaughtUp(d.world, { pollMs: d.pollMs });
  const seeded = await seedDemoDeliveries(d.ch, d.tenants, d.world, d.historyStart);
  const today = tokyoToday(Date.now());
  const month = addMonths(today.slice(0, 7), -1);
  const from = `${month}-01`;
  const to = addDays(`${today.slice(0, 7)}-01`, -1);
  const ids = (await d.tenants.list()).filter((t) => t.lineApi === 'sandbox' && t.hasCredentials).map((t) => t.id);
  const have = async () =>
    new Set((await query(d.ch, 'demo.followers_month', { from, to }, tenantRow)).map((r) => r.tenant_id));
  let got = await have();
  const missing = ids.filter((id) => !got.has(id));
  for (const id of missing) await d.backfill(id, from, to);
  // LINE's figures arrive through the pollers' queue; a tenant still without them after a while is reported as such
  const until = Date.now() + 10 * 60_000;
  while (ids.some((id) => !got.has(id)) && Date.now() < until) {
    await pause(d.pollMs ?? 2000);
    got = await have();
  }
  if (!seeded.deliveries && !d.packageStale()) return { deliveries: 0, packageMade: false };
  await d.makePackage(month);
  d.say?.(
    `サンドボックスの 1 年分の履歴 (配信 ${seeded.deliveries.toLocaleString('ja-JP')} 件) を取り込みました — ` +
      `${month.replace('-', '年')}月の月次報告を作り直しています`,
  );
  return { deliveries: seeded.deliveries, packageMade: true };
}
