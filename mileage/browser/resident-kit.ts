/** What the residents' mileage scripts share beyond core/browser/resident-kit.ts: points in words, ledger entries. */
import type { LedgerEntry } from '../schemas.ts';

export { byId, el, setText, tokyoDay, warekiDay } from '../../core/browser/resident-kit.ts';
import { el, warekiDay } from '../../core/browser/resident-kit.ts';

export const points = (n: number) => `${n.toLocaleString('ja-JP')} ポイント`;
const signed = (n: number) => (n > 0 ? `+${points(n)}` : `−${points(-n)}`);

/** 目標 100 ポイントまで あと 40 ポイント (60%), or 目標達成 — in words, not by colour alone. */
export function progressText(balance: number, goal: number): string {
  if (goal <= 0) return '';
  const pct = Math.min(100, Math.floor((balance / goal) * 100));
  if (balance >= goal) return `目標 ${points(goal)}を達成しました (100%)`;
  return `目標 ${points(goal)}まで あと ${points(goal - balance)} (${pct}%)`;
}

/** One ledger entry as a list item: day, what, points (signed), and a correction's reason. */
export function entryItem(e: LedgerEntry): HTMLLIElement {
  const li = el('li', undefined, 'm-entry');
  const what = e.activityName || e.kindLabel;
  li.append(el('span', warekiDay(e.activityOn), 'm-entry-day'));
  li.append(el('span', e.kind === 'correction' ? `${e.kindLabel}: ${what}` : what, 'm-entry-what'));
  li.append(el('span', signed(e.points), e.points < 0 ? 'm-entry-points m-minus' : 'm-entry-points'));
  if (e.kind === 'correction' && e.reason) li.append(el('span', `理由: ${e.reason}`, 'm-entry-reason'));
  return li;
}
