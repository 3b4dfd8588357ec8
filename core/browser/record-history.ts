// A record's change history in a panel: newest first, one row per changed field (before, after) with
// who, when, what and why. Shared by the record pages (課題管理表, the 運用 records).
import { api, dateTime, el, errorText } from './kit.ts';

export interface HistoryChange {
  field: string;
  label: string;
  from: unknown;
  to: unknown;
}

export interface HistoryItem {
  version: number;
  action: string;
  changedBy: string;
  changedAt: string;
  changes?: HistoryChange[];
  note?: string;
}

export interface HistoryPanelOptions {
  /** The panel's heading, e.g. 「No.3 の変更履歴」. */
  title: string;
  titleId: string;
  /** GET → { history: HistoryItem[] } */
  url: string;
  focus: boolean;
  actionLabels: Record<string, string>;
  /** A field's name as the page calls it (`label`: the one the record stored). */
  fieldLabel(field: string, label: string): string;
  /** A value as the page shows it. */
  shown(field: string, value: unknown): string;
  /** The panel was closed. */
  onClose(): void;
}

/** Fills `panel` with the history of one record (loading, then the table or the error). */
export async function showHistory(panel: HTMLElement, o: HistoryPanelOptions): Promise<void> {
  panel.textContent = '';
  panel.appendChild(
    el('div', { class: 'detail-head' }, [
      el('h2', { id: o.titleId, text: o.title }),
      el('div', { class: 'actions' }, [
        el('button', {
          type: 'button',
          class: 'secondary',
          text: '閉じる',
          onclick: () => {
            panel.hidden = true;
            o.onClose();
          },
        }),
      ]),
    ]),
  );
  const box = el('div', { class: 'history', text: '読み込み中…' });
  panel.appendChild(box);
  panel.hidden = false;
  if (o.focus) panel.focus();
  const r = await api<{ history: HistoryItem[] }>('GET', o.url);
  box.textContent = '';
  if (!r.ok) {
    box.appendChild(el('p', { class: 'error', role: 'alert', text: errorText(r) }));
    return;
  }
  const tb = el('tbody');
  for (const h of r.body.history.slice().sort((a, b) => b.version - a.version)) {
    const changes = (h.changes ?? []).filter((c) => h.action !== 'created' || (c.to !== null && c.to !== ''));
    const n = String(Math.max(1, changes.length));
    const head = [
      el('td', { rowspan: n, text: dateTime(h.changedAt) }),
      el('td', { rowspan: n, text: h.changedBy }),
      el('td', { rowspan: n, text: o.actionLabels[h.action] ?? h.action }),
    ];
    const tail = el('td', { rowspan: n, class: 'wrap', text: h.note ?? '' });
    if (!changes.length) {
      tb.appendChild(el('tr', {}, [...head, el('td', { colspan: '3', text: '—' }), tail]));
      continue;
    }
    changes.forEach((c, k) => {
      const cells = [
        el('th', { scope: 'row', text: o.fieldLabel(c.field, c.label) }),
        el('td', {
          class: `wrap${c.from === null || c.from === '' ? '' : ' from'}`,
          text: h.action === 'created' ? '' : o.shown(c.field, c.from),
        }),
        el('td', { class: 'wrap', text: o.shown(c.field, c.to) }),
      ];
      tb.appendChild(el('tr', {}, k === 0 ? [...head, ...cells, tail] : cells));
    });
  }
  box.appendChild(
    el('table', { 'aria-labelledby': o.titleId }, [
      el('thead', {}, [
        el(
          'tr',
          {},
          ['日時', '変更者', '操作', '項目', '変更前', '変更後', '変更の理由'].map((t) =>
            el('th', { scope: 'col', text: t }),
          ),
        ),
      ]),
      tb,
    ]),
  );
}
