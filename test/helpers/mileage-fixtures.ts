/**
 * A small hand-made mileage ledger for the figures' tests (metrics, dashboard, reports), fiscal year
 * 2025 (令和7年度), whose answers are worked out by hand in MILEAGE_EXPECTED. Rows are written
 * straight into the tables the mileage service owns; the rollups of migration 0048 follow.
 *
 * 津市 (24201), goal 100 pt — activities 健康診断 (grant 50), 健康教室 (qr 20), ウォーキング (self_report 5):
 *   u1  04-30 grant 50, 05-01 qr 20, 06-10 grant 50 (120: the goal in June, card 06-10)
 *   u2  05-31 self 5 (recorded 23:59:59 Tokyo on the 31st)
 *   u3  06-01 qr 20, 06-30 self 5
 *   u4  06-05 grant 50, 06-06 correction −50 (of that grant): active in June, no participant
 *   u5  04-10 qr 20, 05-15 correction −20 (no activity): a participant in April only
 *   u6  07-01 qr 20 (after June)
 *   u7  04-12 and 04-20 grant 50 each (100: the goal in April; card issued 2025-04-30 15:30 UTC,
 *       which is 05-01 00:30 in Tokyo: a May card)
 *   u8, u9: cards of the 2024 programme, valid until 2025-06-19 and 2025-11-30
 * 四日市市 (24202), goal 50 pt — スポーツイベント (qr 30):
 *   v1  06-15 and 06-20 qr 30 (60: the goal in June, card 06-20)
 *   u3  05-03 qr 30 (the same user id as 津市's u3: another tenant's resident)
 * 伊勢市 (24203): no programme.
 */
import type { ClickHouseClient } from '../../core/clickhouse.ts';

export const MILEAGE_MONTH = '2025-06';

const T = (iso: string) => iso.replace('T', ' ').replace('Z', '');

export async function seedMileageLedger(ch: ClickHouseClient): Promise<void> {
  const at = T('2025-04-01T00:00:00.000Z');
  const programme = (tenant: string, id: string, fy: number, goal: number) => ({
    tenant_id: tenant,
    programme_id: id,
    fiscal_year: fy,
    name: `${tenant} 健康マイレージ ${fy}`,
    description: '',
    starts_on: `${fy}-04-01`,
    ends_on: `${fy + 1}-03-31`,
    goal_points: goal,
    card_valid_months: 12,
    created_by: 'test',
    created_at: at,
    updated_by: 'test',
    updated_at: at,
    version: 1,
    is_deleted: 0,
  });
  await ch.insert({
    table: 'mileage_programmes',
    format: 'JSONEachRow',
    values: [
      programme('24201', 'p1', 2025, 100),
      programme('24201', 'p0', 2024, 100),
      programme('24202', 'p2', 2025, 50),
      // deleted: never counted
      { ...programme('24203', 'p3', 2025, 10), version: 2, is_deleted: 1 },
    ],
  });
  const activity = (
    tenant: string,
    programmeId: string,
    id: string,
    name: string,
    points: number,
    method: string,
    sort: number,
  ) => ({
    tenant_id: tenant,
    programme_id: programmeId,
    activity_id: id,
    name,
    points,
    method,
    self_report_label: '',
    daily_cap: method === 'self_report' ? 1 : 0,
    period_cap: 0,
    sort,
    retired: 0,
    updated_by: 'test',
    updated_at: at,
    version: 1,
    is_deleted: 0,
  });
  await ch.insert({
    table: 'mileage_activities',
    format: 'JSONEachRow',
    values: [
      activity('24201', 'p1', 'a-check', '健康診断の受診', 50, 'grant', 1),
      activity('24201', 'p1', 'a-class', '健康教室への参加', 20, 'qr', 2),
      activity('24201', 'p1', 'a-walk', 'ウォーキング 30 分', 5, 'self_report', 3),
      activity('24202', 'p2', 'b-event', 'スポーツイベント', 30, 'qr', 1),
    ],
  });
  const kinds: Record<string, string> = { grant: 'grant', qr: 'scan', self: 'self_report', fix: 'correction' };
  let n = 0;
  const entry = (
    tenant: string,
    programmeId: string,
    user: string,
    day: string,
    how: keyof typeof kinds,
    activityId: string,
    points: number,
    recordedAt = `${day}T03:00:00.000Z`,
  ) => ({
    tenant_id: tenant,
    programme_id: programmeId,
    user_id: user,
    entry_id: `${how}:${++n}:${user}`,
    activity_id: activityId,
    kind: kinds[how],
    points,
    activity_on: day,
    source_id: '',
    corrects: '',
    reason: how === 'grant' || how === 'fix' ? 'テスト' : '',
    actor: how === 'grant' || how === 'fix' ? 'staff' : 'resident',
    recorded_at: T(recordedAt),
  });
  await ch.insert({
    table: 'mileage_ledger',
    format: 'JSONEachRow',
    values: [
      entry('24201', 'p1', 'u1', '2025-04-30', 'grant', 'a-check', 50),
      entry('24201', 'p1', 'u1', '2025-05-01', 'qr', 'a-class', 20),
      entry('24201', 'p1', 'u1', '2025-06-10', 'grant', 'a-check', 50),
      entry('24201', 'p1', 'u2', '2025-05-31', 'self', 'a-walk', 5, '2025-05-31T14:59:59.000Z'),
      entry('24201', 'p1', 'u3', '2025-06-01', 'qr', 'a-class', 20),
      entry('24201', 'p1', 'u3', '2025-06-30', 'self', 'a-walk', 5),
      entry('24201', 'p1', 'u4', '2025-06-05', 'grant', 'a-check', 50),
      entry('24201', 'p1', 'u4', '2025-06-06', 'fix', 'a-check', -50),
      entry('24201', 'p1', 'u5', '2025-04-10', 'qr', 'a-class', 20),
      entry('24201', 'p1', 'u5', '2025-05-15', 'fix', '', -20),
      entry('24201', 'p1', 'u6', '2025-07-01', 'qr', 'a-class', 20),
      entry('24201', 'p1', 'u7', '2025-04-12', 'grant', 'a-check', 50),
      entry('24201', 'p1', 'u7', '2025-04-20', 'grant', 'a-check', 50),
      entry('24202', 'p2', 'v1', '2025-06-15', 'qr', 'b-event', 30),
      entry('24202', 'p2', 'v1', '2025-06-20', 'qr', 'b-event', 30),
      entry('24202', 'p2', 'u3', '2025-05-03', 'qr', 'b-event', 30),
    ],
  });
  const card = (tenant: string, programmeId: string, user: string, issuedAt: string, validUntil: string) => ({
    tenant_id: tenant,
    programme_id: programmeId,
    user_id: user,
    card_no: `${tenant}-${user}`,
    design_id: 'd1',
    issued_at: T(issuedAt),
    valid_until: validUntil,
    version: 1,
  });
  await ch.insert({
    table: 'mileage_cards',
    format: 'JSONEachRow',
    values: [
      card('24201', 'p1', 'u7', '2025-04-30T15:30:00.000Z', '2026-04-30'),
      card('24201', 'p1', 'u1', '2025-06-10T03:00:00.000Z', '2026-06-09'),
      card('24201', 'p0', 'u8', '2024-06-20T03:00:00.000Z', '2025-06-19'),
      card('24201', 'p0', 'u9', '2024-12-01T03:00:00.000Z', '2025-11-30'),
      card('24202', 'p2', 'v1', '2025-06-20T01:00:00.000Z', '2026-06-19'),
    ],
  });
}

/** The figures of the ledger above, worked out by hand (see the comment at the top). */
export const MILEAGE_EXPECTED = {
  '24201': {
    '2025-04': {
      participants: 3,
      newParticipants: 3,
      active: 3,
      points: 170,
      pointsToDate: 170,
      awards: 4,
      reachedGoal: 1,
      reachedGoalNew: 1,
      cardsIssued: 0,
      cardsIssuedToDate: 0,
      cardsValid: 2,
      cardsValidOn: '2025-04-30',
    },
    '2025-05': {
      participants: 3,
      newParticipants: 1,
      active: 2,
      points: 5,
      pointsToDate: 175,
      awards: 2,
      reachedGoal: 1,
      reachedGoalNew: 0,
      cardsIssued: 1,
      cardsIssuedToDate: 1,
      cardsValid: 3,
      cardsValidOn: '2025-05-31',
    },
    '2025-06': {
      participants: 4,
      newParticipants: 1,
      active: 3,
      points: 75,
      pointsToDate: 250,
      awards: 4,
      reachedGoal: 2,
      reachedGoalNew: 1,
      cardsIssued: 1,
      cardsIssuedToDate: 2,
      cardsValid: 3,
      cardsValidOn: '2025-06-30',
    },
  },
  '24202': {
    '2025-06': {
      participants: 2,
      newParticipants: 1,
      active: 1,
      points: 60,
      pointsToDate: 90,
      awards: 2,
      reachedGoal: 1,
      reachedGoalNew: 1,
      cardsIssued: 1,
      cardsIssuedToDate: 1,
      cardsValid: 1,
      cardsValidOn: '2025-06-30',
    },
  },
  /** 津市's activities in June and from April to June. */
  activities24201: [
    { name: '健康診断の受診', method: 'grant', points: 50, awards: 2, pointsToDate: 200, awardsToDate: 5 },
    { name: '健康教室への参加', method: 'qr', points: 20, awards: 1, pointsToDate: 60, awardsToDate: 3 },
    { name: 'ウォーキング 30 分', method: 'self_report', points: 5, awards: 1, pointsToDate: 10, awardsToDate: 2 },
    { name: '訂正 (活動の指定なし)', method: 'correction', points: 0, awards: 0, pointsToDate: -20, awardsToDate: 0 },
  ],
} as const;
