/** ポイントの記録 (resident): every entry, newest first, 20 at a time. */
import { residentFetch, setStatus } from '../../core/browser/liff.ts';
import type { LedgerEntry } from '../schemas.ts';
import { byId, el, entryItem, setText } from './resident-kit.ts';

const PAGE = 20;

interface HistoryPage {
  entries: LedgerEntry[];
  total: number;
  limit: number;
  offset: number;
}

async function main(): Promise<void> {
  const list = byId('m-history');
  const more = byId<HTMLButtonElement>('m-history-more');
  if (!list || !more) return;
  let offset = 0;
  const load = async () => {
    list.setAttribute('aria-busy', 'true');
    more.disabled = true;
    const r = await residentFetch<HistoryPage>(`mileage/history?limit=${PAGE}&offset=${offset}`);
    list.removeAttribute('aria-busy');
    more.disabled = false;
    setStatus('');
    if (!r.ok) return;
    const { entries, total } = r.body;
    if (!entries.length && offset === 0) list.append(el('li', 'まだ記録はありません。', 'm-empty'));
    list.append(...entries.map(entryItem));
    offset += entries.length;
    setText('m-history-count', `(${total.toLocaleString('ja-JP')} 件)`);
    more.hidden = offset >= total || !entries.length;
  };
  more.addEventListener('click', () => void load());
  await load();
}

void main();
