/**
 * ops/' page in the staff shell: 運用 (/ops) — the month's availability against the 99% target, the
 * planned stops (the shell's notice on every page from ten days before), open incidents (each with its 障害報告書 in Word), the
 * support history with the two-open-day figure, the operations issue log and recent backups.
 * Server-rendered, no script. Records are made and changed on their own pages (record-pages.ts:
 * /ops/incidents, /ops/supports, /ops/issues, /ops/stops — forms and history) or the JSON API.
 */
import { canSeeEvery } from '../core/auth.ts';
import { AppError } from '../core/errors.ts';
import { fileSizeText } from '../core/file-size.ts';
import { html, type SafeHtml } from '../core/html.ts';
import type { Notice, PageShell } from '../core/page-shell.ts';
import { formatWarekiMonth, tokyoMinute, tokyoMonth } from '../core/time.ts';
import { answerDays, incidentDue } from './documents.ts';
import type { Ops } from './index.ts';
import { ANSWER_OPEN_DAYS } from './open-days.ts';
import { RECORD_PAGES, registerOpsRecordPages } from './record-pages.ts';
import { KIND_LABELS } from './schemas.ts';

const when = (iso: string | null) => (iso ? tokyoMinute(Date.parse(iso)) : '—');

/** How long the dashboard's notices (planned stops, availability) are reused before they are read again. */
const NOTICES_MS = 5000;

/**
 * The lines every staff page shows from ops/: a planned stop from ten days before it starts (to
 * everyone signed in), and on 県全体 the month's availability against the target.
 */
function registerOpsNotices(shell: PageShell, ops: Ops): void {
  let notices: { stops: Notice[]; availability: Notice[] } = { stops: [], availability: [] };
  let readAt = 0;
  let reading: Promise<void> | undefined;
  const refresh = () =>
    (reading ??= ops
      .status()
      .then((s) => {
        const a = s.availability;
        notices = {
          stops: s.upcomingStops.map((stop) => ({
            level: 'warning',
            where: 'every',
            text: `計画停止: ${when(stop.startsAt)} 〜 ${when(stop.endsAt)} — ${stop.reason}`,
          })),
          availability:
            a.percent === null
              ? []
              : [
                  {
                    level: a.met === false ? 'warning' : 'info',
                    where: 'overview',
                    href: '/ops',
                    text: `今月 (${formatWarekiMonth(a.month)}) の稼働率 ${a.percent.toFixed(2)}% (目標 ${a.target}% 以上${a.met ? '、達成' : '、未達'}。計画停止 ${a.plannedMinutes} 分は除く)`,
                  },
                ],
        };
      })
      .catch(() => {
        // ClickHouse unreachable: the last notices stay; the page itself says what is wrong
      })
      .finally(() => {
        readAt = Date.now();
        reading = undefined;
      }));
  void refresh();
  shell.notices((p) => {
    if (Date.now() - readAt > NOTICES_MS) void refresh();
    return [...notices.stops, ...(canSeeEvery(p) ? notices.availability : [])];
  });
}

/** A table, or one sentence saying there is nothing to list. */
const orEmpty = (n: number, none: string, table: SafeHtml): SafeHtml => (n ? table : html`<p>${none}</p>`);

export function registerOpsPages(shell: PageShell, ops: Ops): void {
  registerOpsNotices(shell, ops);
  shell.nav({ href: '/ops', label: '運用', visible: canSeeEvery });
  registerOpsRecordPages(shell);
  shell.page('/ops', async ({ principal }) => {
    if (!canSeeEvery(principal))
      throw new AppError('forbidden', '運用の記録は県・受託者・管理者のアカウントで見られます', 403);
    const status = await ops.status();
    const a = status.availability;
    const supports = await ops.records.list('support');
    const issues = (await ops.records.list('issue')).filter((i) => i.status !== '完了');
    const incidents = (await ops.records.list('incident')).slice(-20).reverse();
    const answered = supports.filter((s) => s.answeredAt);
    const within = answered.filter((s) => (answerDays(s, ops.isOpenDay) ?? 99) <= ANSWER_OPEN_DAYS).length;
    const body = html`
<h1>運用</h1>
<nav aria-label="運用の記録"><ul class="links">${RECORD_PAGES.map((r) => html`<li><a href="${r.path}">${KIND_LABELS[r.kind]} (登録・変更・履歴)</a></li>`)}</ul></nav>
<section aria-labelledby="availability-h"><h2 id="availability-h">稼働率 (${formatWarekiMonth(tokyoMonth())})</h2>
<p class="stat" id="availability" data-percent="${a.percent ?? ''}">${a.percent === null ? '計測なし' : `${a.percent.toFixed(2)}%`} (目標 ${a.target}% 以上${a.met === null ? '' : a.met ? '、達成' : '、未達'})</p>
<p class="note">計測 ${a.measuredMinutes} 分のうち停止 ${a.downMinutes} 分。計画停止 ${a.plannedMinutes} 分は計算から除いています。${
      status.lastCheck
        ? `最後の自己診断: ${when(status.lastCheck.at)} (${status.lastCheck.up ? '正常' : '異常'}${status.lastCheck.problems.length ? `、${status.lastCheck.problems.map((p) => p.message).join('、')}` : ''})`
        : ''
    }</p></section>
<section aria-labelledby="incidents-h"><h2 id="incidents-h">障害報告書</h2>
${orEmpty(
  incidents.length,
  '障害の記録はありません。',
  html`<div class="scroll"><table><thead><tr><th scope="col">No.</th><th scope="col">件名</th><th scope="col">検知</th><th scope="col">復旧</th><th scope="col">報告期限</th><th scope="col">状況</th><th scope="col">報告書</th></tr></thead><tbody>
${incidents.map(
  (i) =>
    html`<tr><td>${i.no}</td><td>${i.title}</td><td>${when(i.detectedAt)}</td><td>${when(i.recoveredAt)}</td><td>${incidentDue(i, ops.isOpenDay) ?? '—'}</td><td>${i.status}</td><td><a href="/api/v1/ops/incidents/${i.id}/report.docx">Word (No.${i.no})</a></td></tr>`,
)}
</tbody></table></div>`,
)}</section>
<section aria-labelledby="supports-h"><h2 id="supports-h">対応履歴管理表</h2>
<p class="note">受付 ${supports.length} 件、回答済み ${answered.length} 件のうち ${ANSWER_OPEN_DAYS} 開庁日以内の回答 ${within} 件</p>
${orEmpty(
  supports.length,
  '問い合わせの記録はありません。',
  html`<div class="scroll"><table><thead><tr><th scope="col">No.</th><th scope="col">受付日時</th><th scope="col">問い合わせ者</th><th scope="col">内容</th><th scope="col">回答日時</th><th scope="col">開庁日数</th></tr></thead><tbody>
${supports
  .slice(-50)
  .reverse()
  .map(
    (s) =>
      html`<tr><td>${s.no}</td><td>${when(s.receivedAt)}</td><td>${s.inquirer}</td><td>${s.content}</td><td>${when(s.answeredAt)}</td><td>${answerDays(s, ops.isOpenDay) ?? '未回答'}</td></tr>`,
  )}
</tbody></table></div>`,
)}</section>
<section aria-labelledby="issues-h"><h2 id="issues-h">運用課題管理表 (未完了)</h2>
${orEmpty(
  issues.length,
  '未完了の課題はありません。',
  html`<div class="scroll"><table><thead><tr><th scope="col">No.</th><th scope="col">起票日</th><th scope="col">課題</th><th scope="col">担当</th><th scope="col">状況</th><th scope="col">期限</th></tr></thead><tbody>
${issues.map((i) => html`<tr><td>${i.no}</td><td>${i.raisedOn}</td><td>${i.title}</td><td>${i.owner}</td><td>${i.status}</td><td>${i.dueOn ?? '—'}</td></tr>`)}
</tbody></table></div>`,
)}</section>
<section aria-labelledby="backups-h"><h2 id="backups-h">バックアップ</h2>
<p class="note" data-testid="backup-schedule">${
      status.backupSchedule.scheduled
        ? `毎日 ${status.backupSchedule.time} (日本時間) に自動で作成し、`
        : '自動の作成はこのプロセスでは動いていません (Redis なし)。'
    }日次 ${status.backupSchedule.keepDaily} 世代・週次 ${status.backupSchedule.keepWeekly} 世代を保持します。管理者は <code>npx tayori backup create</code> (または <code>POST /api/v1/ops/backups</code>) で今すぐ作れます。</p>
${orEmpty(
  status.backups.length,
  'まだバックアップはありません。',
  html`<div class="scroll"><table><caption class="visually-hidden">最近のバックアップ (新しい順)</caption><thead><tr><th scope="col">開始</th><th scope="col">結果</th><th scope="col">容量</th><th scope="col">実行者</th></tr></thead><tbody>
${status.backups.map(
  (b) =>
    html`<tr class="${b.ok ? '' : 'error'}"><td>${b.startedAt.slice(0, 16).replace('T', ' ')}</td><td>${b.ok ? '成功' : `失敗: ${b.error}`}</td><td class="num">${b.ok ? fileSizeText(b.bytes) : '—'}</td><td>${b.madeBy}</td></tr>`,
)}
</tbody></table></div>`,
)}</section>`;
    return { title: '運用', body, scripts: false };
  });
}
