/** Small helpers the residents' mileage scripts share: elements, 和暦 dates, points in words. */
import type { LedgerEntry } from '../schemas.ts';

export function byId<T extends HTMLElement = HTMLElement>(id: string): T | null {
  return document.getElementById(id) as T | null;
}

/** Sets an element's text, if it is on the page. */
export function setText(id: string, text: string): void {
  const node = byId(id);
  if (node) node.textContent = text;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

const wareki = new Intl.DateTimeFormat('ja-JP-u-ca-japanese', {
  era: 'long',
  year: 'numeric',
  month: 'long',
  day: 'numeric',
  timeZone: 'UTC',
});

/** 'YYYY-MM-DD' → 令和8年5月10日 */
export function warekiDay(day: string): string {
  return wareki.format(new Date(`${day.slice(0, 10)}T00:00:00Z`));
}

/** The Tokyo day of an ISO instant, 'YYYY-MM-DD'. */
export function tokyoDay(iso: string): string {
  return new Date(Date.parse(iso) + 9 * 3_600_000).toISOString().slice(0, 10);
}

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
