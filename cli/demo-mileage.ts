/**
 * The demo's health-mileage history: every municipality gets a programme for the current fiscal
 * year (April–March, Tokyo) with a few activities, a goal of 100 points and a card valid for 12
 * months, and past sessions (health classes, sports events); the sandbox's residents of the tenant
 * (its friends, as demo-residents.ts picks them) earn points from April to today. Most never join;
 * a participant's activity falls off after joining; some reach the goal and receive the card. So
 * the dashboard's and the reports' mileage figures show something real-looking from the first start.
 *
 * Deterministic (a seeded generator per tenant and resident), written in a few bulk INSERTs, and
 * idempotent: a tenant that already has a programme for the year is left alone, and a seed cut short
 * is completed table by table instead of written twice.
 */
import { createHash } from 'node:crypto';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { memberNumber } from '../core/check-digit.ts';
import type { TenantStore } from '../core/tenants.ts';
import { addDays, chDateTime, nextVersion, TOKYO_OFFSET_MS, tokyoToday } from '../core/time.ts';
import { z } from '../core/zod.ts';
import type { World } from '../sandbox/index.ts';
import { prng } from './demo-prng.ts';

const ACTOR = 'デモ';
const GOAL = 100;
const CARD_MONTHS = 12;
/** Share of an account's friends who ever join the programme. */
const JOIN_SHARE = 0.22;

interface DemoActivity {
  key: string;
  name: string;
  points: number;
  method: 'qr' | 'self_report' | 'grant';
  selfReportLabel?: string;
  dailyCap?: number;
  periodCap?: number;
}

const ACTIVITIES: readonly DemoActivity[] = [
  { key: 'checkup', name: '健康診断の受診', points: 50, method: 'grant', periodCap: 1 },
  { key: 'class', name: '健康教室への参加', points: 20, method: 'qr' },
  {
    key: 'walk',
    name: 'ウォーキング 30 分',
    points: 5,
    method: 'self_report',
    selfReportLabel: '今日30分歩いた',
    dailyCap: 1,
  },
  { key: 'sports', name: 'スポーツイベント', points: 30, method: 'qr' },
  { key: 'dental', name: '歯科健診', points: 30, method: 'grant', periodCap: 1 },
];

/** The sessions of a year: health classes on the 10th of each month, sports events in May, October and November. */
const SESSIONS: ReadonlyArray<{ activity: string; month: number; day: number; title: string; place: string }> = [
  ...[4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3].map((month) => ({
    activity: 'class',
    month,
    day: 10,
    title: `${month}月の健康教室`,
    place: '保健センター 多目的室',
  })),
  { activity: 'sports', month: 5, day: 18, title: '健康ウォーキング大会', place: '市民運動公園' },
  { activity: 'sports', month: 10, day: 12, title: 'スポーツの日 体力測定会', place: '総合体育館' },
  { activity: 'sports', month: 11, day: 16, title: '市民健康マラソン', place: '市民運動公園' },
];

/** A UUID-shaped id that is the same on every run. */
function stableId(key: string): string {
  const h = createHash('sha256').update(`tayori-demo-mileage:${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const DAY_MS = 86_400_000;
const dayNumber = (day: string) => Date.parse(`${day}T00:00:00Z`) / DAY_MS;
const dayOf = (n: number) => new Date(n * DAY_MS).toISOString().slice(0, 10);
/** A Tokyo wall-clock time on a day, as ClickHouse DateTime64 text (UTC). */
const tokyoAt = (day: string, minutes: number) =>
  chDateTime(Date.parse(`${day}T00:00:00Z`) - TOKYO_OFFSET_MS + minutes * 60_000);

/** The last valid day of a card issued on `day`: `months` later, less a day (2026-06-10 → 2027-06-09). */
export function cardValidUntil(day: string, months: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const target = new Date(Date.UTC(y, m - 1 + months, 1));
  const last = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  const same = `${target.toISOString().slice(0, 7)}-${String(Math.min(d, last)).padStart(2, '0')}`;
  return addDays(same, -1);
}

export interface DemoMileageResult {
  tenants: number;
  members: number;
  entries: number;
  cards: number;
}

/**
 * Seeds the current fiscal year's programme and history of every tenant wired to the sandbox that
 * has none. `now` is the real time whose Tokyo day is the history's last (default: now).
 */
export async function seedDemoMileage(
  ch: ClickHouseClient,
  tenants: TenantStore,
  world: Pick<World, 'byChannelId'>,
  now = Date.now(),
): Promise<DemoMileageResult> {
  const today = tokyoToday(now);
  const fy = Number(today.slice(5, 7)) >= 4 ? Number(today.slice(0, 4)) : Number(today.slice(0, 4)) - 1;
  const startsOn = `${fy}-04-01`;
  const endsOn = `${fy + 1}-03-31`;
  const result: DemoMileageResult = { tenants: 0, members: 0, entries: 0, cards: 0 };

  const withProgramme = new Set(
    (await query(ch, 'demo.mileage_programmes', { fy }, z.object({ tenant_id: z.string() }))).map((r) => r.tenant_id),
  );
  const list = (await tenants.list()).filter(
    (t) => t.kind === 'municipality' && t.channelId && !withProgramme.has(t.id) && world.byChannelId(t.channelId),
  );
  if (!list.length) return result;
  const programmeOf = (tenantId: string) => stableId(`${tenantId}:${fy}`);
  const seeded = await query(
    ch,
    'demo.mileage_seeded',
    { programmes: list.map((t) => programmeOf(t.id)) },
    z.object({ tbl: z.string(), programme_id: z.string() }),
  );
  const has = (tbl: string, programmeId: string) => seeded.some((r) => r.tbl === tbl && r.programme_id === programmeId);
  const members = await query(
    ch,
    'demo.mileage_members',
    { tenants: list.map((t) => t.id) },
    z.object({ tenant_id: z.string(), user_id: z.string(), member_no: z.string() }),
  );

  const rows = {
    programmes: [] as Array<Record<string, unknown>>,
    activities: [] as Array<Record<string, unknown>>,
    sessions: [] as Array<Record<string, unknown>>,
    members: [] as Array<Record<string, unknown>>,
    ledger: [] as Array<Record<string, unknown>>,
    cards: [] as Array<Record<string, unknown>>,
  };
  const created = tokyoAt(addDays(startsOn, -20), 9 * 60);
  const last = dayNumber(today);
  const first = dayNumber(startsOn);

  for (const t of list) {
    const programmeId = programmeOf(t.id);
    const activityId = (key: string) => stableId(`${t.id}:${fy}:${key}`);
    const version = nextVersion();
    if (!has('activities', programmeId))
      ACTIVITIES.forEach((a, i) =>
        rows.activities.push({
          tenant_id: t.id,
          programme_id: programmeId,
          activity_id: activityId(a.key),
          name: a.name,
          points: a.points,
          method: a.method,
          self_report_label: a.selfReportLabel ?? '',
          daily_cap: a.dailyCap ?? 0,
          period_cap: a.periodCap ?? 0,
          sort: i + 1,
          retired: 0,
          updated_by: ACTOR,
          updated_at: created,
          version,
          is_deleted: 0,
        }),
      );
    // the sessions held so far
    const sessions = SESSIONS.map((s) => {
      const year = s.month >= 4 ? fy : fy + 1;
      const heldOn = `${year}-${String(s.month).padStart(2, '0')}-${String(s.day).padStart(2, '0')}`;
      return { ...s, heldOn, id: stableId(`${t.id}:${fy}:session:${heldOn}:${s.activity}`) };
    }).filter((s) => dayNumber(s.heldOn) <= last);
    if (!has('sessions', programmeId))
      for (const s of sessions)
        rows.sessions.push({
          tenant_id: t.id,
          session_id: s.id,
          programme_id: programmeId,
          activity_id: activityId(s.activity),
          title: s.title,
          held_on: s.heldOn,
          place: `${t.name} ${s.place}`,
          valid_from: tokyoAt(s.heldOn, 9 * 60),
          valid_until: tokyoAt(s.heldOn, 17 * 60),
          created_by: ACTOR,
          created_at: tokyoAt(addDays(s.heldOn, -14), 10 * 60),
          version,
          is_deleted: 0,
        });

    const channel = world.byChannelId(t.channelId!)!;
    const known = new Map(members.filter((m) => m.tenant_id === t.id).map((m) => [m.user_id, m.member_no]));
    let serial = Math.max(0, ...[...known.values()].map((n) => Number(n.split('-')[1] ?? 0)));
    const writeLedger = !has('ledger', programmeId);
    const writeCards = !has('cards', programmeId);
    const activityOf = new Map(ACTIVITIES.map((a) => [a.key, a]));

    for (const userId of channel.followerIds()) {
      const r = prng(`${t.id}:${fy}:${userId}`);
      if (r() >= JOIN_SHARE) continue;
      // joins early in the year more often than late; engagement fades after joining
      const join = first + Math.floor(r() ** 1.6 * (last - first + 1));
      const walker = r() < 0.55;
      const walkRate = walker ? 0.08 + r() * 0.4 : 0;
      const fade = 15 + r() * 90; // days
      const classGoer = r() < 0.25;
      const entries: Array<{ day: number; key: string; entryId: string; source: string; minutes: number }> = [];
      const add = (day: number, key: string, entryId: string, source: string, minutes: number) =>
        entries.push({ day, key, entryId, source, minutes });
      // the day of joining has its first activity: a walk, or the check-up
      for (let d = join; d <= last; d++) {
        const engaged = Math.exp(-(d - join) / fade);
        if (walker && (d === join || r() < walkRate * engaged))
          add(
            d,
            'walk',
            `self:${stableId(`${t.id}:${userId}:${dayOf(d)}:walk`)}`,
            stableId(`${t.id}:${userId}:${d}:event`),
            7 * 60 + Math.floor(r() * 14 * 60),
          );
      }
      for (const s of sessions) {
        const d = dayNumber(s.heldOn);
        if (d < join) continue;
        const engaged = Math.exp(-(d - join) / (fade * 2));
        if (r() < (classGoer ? 0.6 : 0.08) * engaged)
          add(d, s.activity, `scan:${s.id}:${userId}`, s.id, 9 * 60 + Math.floor(r() * 7 * 60));
      }
      for (const [key, share] of [
        ['checkup', walker ? 0.35 : 0.55],
        ['dental', 0.18],
      ] as const) {
        if (r() >= share) continue;
        const d = join + Math.floor(r() * Math.min(150, last - join + 1));
        if (d <= last)
          add(
            d,
            key,
            `grant:${stableId(`${t.id}:${userId}:${key}`)}`,
            `demo-import-${dayOf(d).slice(0, 7)}`,
            10 * 60 + Math.floor(r() * 6 * 60),
          );
      }
      if (!entries.length) continue;
      entries.sort((a, b) => a.day - b.day || a.minutes - b.minutes);

      let memberNo = known.get(userId);
      const firstAt = tokyoAt(dayOf(entries[0]!.day), entries[0]!.minutes);
      if (!memberNo) {
        memberNo = memberNumber(t.id, ++serial);
        known.set(userId, memberNo);
        rows.members.push({ tenant_id: t.id, user_id: userId, member_no: memberNo, joined_at: firstAt });
        result.members++;
      }
      let balance = 0;
      let card: { day: string; minutes: number } | undefined;
      for (const e of entries) {
        const a = activityOf.get(e.key)!;
        const day = dayOf(e.day);
        balance += a.points;
        if (!card && balance >= GOAL) card = { day, minutes: e.minutes + 1 };
        if (!writeLedger) continue;
        rows.ledger.push({
          tenant_id: t.id,
          programme_id: programmeId,
          user_id: userId,
          member_no: memberNo,
          entry_id: e.entryId,
          activity_id: activityId(e.key),
          kind: a.method === 'qr' ? 'scan' : a.method,
          points: a.points,
          activity_on: day,
          source_id: e.source,
          corrects: '',
          reason: a.method === 'grant' ? `${a.name}を確認 (デモ)` : '',
          actor: a.method === 'grant' ? ACTOR : 'resident',
          recorded_at: tokyoAt(day, e.minutes),
        });
        result.entries++;
      }
      if (card && writeCards) {
        rows.cards.push({
          tenant_id: t.id,
          programme_id: programmeId,
          user_id: userId,
          card_no: memberNo,
          design_id: '',
          issued_at: tokyoAt(card.day, card.minutes),
          valid_until: cardValidUntil(card.day, CARD_MONTHS),
          version,
        });
        result.cards++;
      }
    }
    // the programme last: it marks the tenant as seeded
    rows.programmes.push({
      tenant_id: t.id,
      programme_id: programmeId,
      fiscal_year: fy,
      name: `${t.name}とこわか健康マイレージ`,
      description: `健康診断の受診や健康教室への参加、毎日のウォーキングでポイントをためて、${GOAL} ポイントで三重とこわか健康応援カードがもらえます。`,
      starts_on: startsOn,
      ends_on: endsOn,
      goal_points: GOAL,
      card_valid_months: CARD_MONTHS,
      created_by: ACTOR,
      created_at: created,
      updated_by: ACTOR,
      updated_at: created,
      version,
      is_deleted: 0,
    });
    result.tenants++;
  }

  const insert = async (table: string, values: Array<Record<string, unknown>>) => {
    for (let i = 0; i < values.length; i += 100_000)
      await ch.insert({ table, format: 'JSONEachRow', values: values.slice(i, i + 100_000) });
  };
  await insert('mileage_activities', rows.activities);
  await insert('mileage_sessions', rows.sessions);
  await insert('mileage_members', rows.members);
  await insert('mileage_ledger', rows.ledger);
  await insert('mileage_cards', rows.cards);
  await insert('mileage_programmes', rows.programmes);
  return result;
}
