/** マイレージ (resident): points, progress to the goal, recent entries, period, member number. */
import { clearAlert, residentFetch, setStatus } from '../../core/browser/liff.ts';
import type { ResidentSummary } from '../schemas.ts';
import { byId, el, entryItem, points, progressText, setText, warekiDay } from './resident-kit.ts';

const METHOD_WORDS: Record<string, string> = {
  qr: '会場の QR コードを読み取り',
  self_report: 'LINE のメニューから報告',
  grant: '市町が確認して付与',
};

async function main(): Promise<void> {
  const box = byId('m-home');
  const r = await residentFetch<ResidentSummary>('mileage/summary');
  box?.removeAttribute('aria-busy');
  setStatus('');
  if (!r.ok) return;
  clearAlert();
  const s = r.body;
  if (!s.programme) {
    setText('m-balance', '0');
    setText('m-progress-text', '現在、受付中のマイレージ事業はありません。');
    setText('m-member', s.memberNo ?? '—');
    return;
  }
  setText('m-balance', s.balance.toLocaleString('ja-JP'));
  const progress = byId<HTMLProgressElement>('m-progress');
  if (progress) {
    progress.value = Math.floor(Math.min(1, Math.max(0, s.progress)) * 100);
    progress.setAttribute('aria-valuetext', progressText(s.balance, s.goal));
  }
  setText('m-progress-text', progressText(s.balance, s.goal));
  setText('m-period', `${warekiDay(s.programme.startsOn)} 〜 ${warekiDay(s.programme.endsOn)}まで`);
  setText('m-member', s.memberNo ?? '—');
  if (s.card) setText('m-card-link', s.card.expired ? 'カードを見る (有効期限切れ)' : 'とこわか健康応援カードを見る');
  const recent = byId('m-recent');
  if (recent) {
    if (s.recent.length) recent.append(...s.recent.map(entryItem));
    else recent.append(el('li', 'まだ記録はありません。健康づくりの活動でポイントをためましょう。', 'm-empty'));
  }
  const activities = byId('m-activities');
  if (activities) {
    for (const a of s.programme.activities) {
      const li = el('li', undefined, 'm-entry');
      li.append(el('span', a.name, 'm-entry-what'), el('span', points(a.points), 'm-entry-points'));
      const caps = [a.dailyCap ? `1日${a.dailyCap}回まで` : '', a.periodCap ? `期間中${a.periodCap}回まで` : ''];
      li.append(el('span', [METHOD_WORDS[a.method] ?? '', ...caps].filter(Boolean).join('・'), 'm-entry-reason'));
      activities.append(li);
    }
  }
}

void main();
