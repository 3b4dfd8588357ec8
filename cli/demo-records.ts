/**
 * The demo's minutes (議事録) and issue log (課題管理表): a month of the contractor's records as a
 * prefecture would see them, so the first report package has something to show. Written once, only
 * into an installation that has no records yet.
 */
import type { ReportStore } from '../reports/index.ts';
import { minutesCreateSchema, issueCreateSchema, tokyoIso } from '../reports/schemas.ts';
import { tokyoWallClock } from '../core/time.ts';

const ACTOR = 'デモ';

/** 'YYYY-MM' of the month before `now` in Asia/Tokyo. */
function previousMonth(now: number): string {
  const t = tokyoWallClock(now);
  return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
}

/** Seeds last month's minutes and issues when the store holds none; returns how many it wrote. */
export async function seedDemoRecords(
  store: ReportStore,
  now = Date.now(),
): Promise<{ minutes: number; issues: number }> {
  const [anyMinutes] = await store.listMinutes({ limit: 1 });
  const [anyIssue] = await store.listIssues({ limit: 1 });
  if (anyMinutes || anyIssue) return { minutes: 0, issues: 0 };
  const m = previousMonth(now);
  const day = (d: number) => `${m}-${String(d).padStart(2, '0')}`;

  const minutes = [
    {
      heldAt: `${day(8)}T14:00`,
      endedAt: `${day(8)}T15:30`,
      kind: '定例会',
      title: '健康マイレージ LINE 運用 定例会',
      place: '三重県庁 4階 会議室 (web 併用)',
      tenantIds: ['24000'],
      attendees: [
        { organization: '三重県 健康推進課', name: '山田 花子' },
        { organization: '三重県 健康推進課', name: '中村 健' },
        { organization: '受託者 運用チーム', name: '佐藤 一郎' },
        { organization: '受託者 運用チーム', name: '鈴木 美咲' },
      ],
      agenda: ['前月の友だち数・ブロック率の報告', '今月の配信計画', '市町からの問い合わせ対応状況'],
      discussion:
        '県全体の友だち数は前月末から増加。ブロック率は 5% 前後で横ばい。配信の開封率は平均 50% 前後で、防災・健康ポイントの案内が高い。',
      decisions: ['健康ポイントの案内は月 2 回までとする', 'ブロック率が 8% を超えた市町は個別に配信内容を見直す'],
      actionItems: [
        { task: '翌月の配信原稿案を県へ送付', owner: '佐藤', due: day(20) },
        { task: '市町向け操作研修の日程調整', owner: '鈴木', due: day(25) },
      ],
      approve: true,
    },
    {
      heldAt: `${day(15)}T10:00`,
      endedAt: `${day(15)}T11:00`,
      kind: '個別検討会議',
      title: '津市 配信内容の検討',
      place: 'web 会議',
      tenantIds: ['24201'],
      attendees: [
        { organization: '津市 健康づくり課', name: '田中 誠' },
        { organization: '受託者 運用チーム', name: '佐藤 一郎' },
      ],
      agenda: ['子育て世帯向けセグメント配信の効果', 'リッチメニューの見直し'],
      discussion:
        '子育て世帯向けの配信は全体配信より開封率が高い。リッチメニューから登録内容を変更できることの周知が必要。',
      decisions: ['来月から子育て世帯向けの配信を月 1 回に増やす'],
      actionItems: [{ task: 'リッチメニューの画像案を作成', owner: '鈴木', due: day(28) }],
      approve: true,
    },
    {
      heldAt: `${day(22)}T13:30`,
      endedAt: `${day(22)}T15:00`,
      kind: '研修',
      title: '市町担当者向け 配信操作研修',
      place: '三重県総合文化センター',
      tenantIds: ['24202', '24203', '24204'],
      attendees: [
        { organization: '四日市市', name: '伊藤 真理' },
        { organization: '伊勢市', name: '小林 大輔' },
        { organization: '松阪市', name: '加藤 由美' },
      ],
      agenda: ['配信の作成・テスト送信・予約', 'セグメントの作り方'],
      discussion: '予約配信とテスト送信の操作を実習。セグメント条件 (AND/OR) の考え方について質問が多かった。',
      decisions: [],
      actionItems: [{ task: 'セグメント作成の手引きを配布', owner: '佐藤', due: null }],
      approve: false,
    },
  ];
  for (const { approve, ...input } of minutes) {
    const created = await store.createMinutes(minutesCreateSchema.parse(input), ACTOR);
    if (approve) {
      await store.changeMinutes(
        created.id,
        ACTOR,
        undefined,
        () => {},
        (x) => {
          x.status = 'approved';
          x.approvedBy = '三重県 健康推進課';
          x.approvedAt = tokyoIso(now);
          return 'approved';
        },
      );
    }
  }

  const issues = [
    {
      tenantId: '24201',
      raisedOn: day(3),
      category: 'リッチメニュー',
      description: 'リッチメニューの画像が古いデザインのまま',
      response: '新しいデザインの画像を作成中',
      owner: '鈴木',
      status: '対応中',
      dueOn: day(28),
    },
    {
      tenantId: '24202',
      raisedOn: day(9),
      category: '配信',
      description: '予約配信の時刻を間違えて登録した (担当者からの問い合わせ)',
      response: '予約の変更方法を案内し、正しい時刻で再予約',
      owner: '佐藤',
      status: '完了',
      dueOn: day(12),
      resolvedOn: day(10),
    },
    {
      tenantId: '24000',
      raisedOn: day(18),
      category: '報告',
      description: '月次報告に市町別の開封率の推移を加えてほしい (県からの要望)',
      owner: '佐藤',
      status: '未着手',
      dueOn: null,
    },
  ];
  for (const input of issues) await store.createIssue(issueCreateSchema.parse(input), ACTOR);
  return { minutes: minutes.length, issues: issues.length };
}
