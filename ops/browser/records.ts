// The ops record pages: the list (newest first), registering and changing a record through its form
// (with the reason, for the history), and the history field by field. Times are Tokyo's.
import {
  data,
  dateTime,
  el,
  loader,
  markCurrentNav,
  say,
  tenantName,
  todayTokyo,
  wareki,
} from '../../core/browser/kit.ts';
import { type RecordEditor, recordEditor, recordRowButtons } from '../../core/browser/record-editor.ts';
import { showHistory } from '../../core/browser/record-history.ts';
import type { FormField, OpsRecord, OpsRecordsWords } from './types.ts';

const words = data as typeof data & OpsRecordsWords;
const API = `/api/v1/ops/${words.plural}`;
const byName = new Map(words.fields.map((f) => [f.name, f]));

markCurrentNav();
const recordsTable = document.getElementById('records') as HTMLTableElement | null;
if (recordsTable) recordsPage(recordsTable);

/** An instant → the value of a datetime-local input, in Tokyo time. */
function tokyoInput(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? '' : new Date(ms + 9 * 3_600_000).toISOString().slice(0, 16);
}

/** A stored value → what its control holds. */
function toControl(f: FormField, v: unknown): string {
  if (v === null || v === undefined) return '';
  return f.type === 'datetime' ? tokyoInput(String(v)) : String(v);
}

/** A control's value → what the API takes (Tokyo time with its offset; empty: null or ''). */
function fromControl(f: FormField, raw: string): string | null {
  const v = raw.trim();
  if (!v) return f.nullable ? null : '';
  return f.type === 'datetime' ? `${v}:00+09:00` : v;
}

/** A value as the list and the history show it. */
function shown(field: string, v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  const f = byName.get(field);
  if (f?.type === 'datetime') return dateTime(String(v));
  if (f?.type === 'date') return String(v).replace(/-/g, '/');
  if (f?.type === 'tenant') return tenantName(String(v));
  return String(v);
}

function recordsPage(table: HTMLTableElement): void {
  const tbody = table.tBodies[0]!;
  const columns = String(words.columns.length + 2);
  const status = document.getElementById('record-status')!;
  const historyBox = document.getElementById('record-history')!;
  let openHistory: string | null = null;

  const editor = opsRecordEditor({
    async saved(r, wasEditing) {
      say(status, wasEditing ? `No.${r.no} の変更を保存しました。` : `No.${r.no} を登録しました。`);
      await load();
      tbody.querySelector(`tr[data-id="${r.id}"]`)?.classList.add('highlight');
      if (openHistory === r.id) void history(r, false);
    },
  });

  const fetchList = loader<Record<string, OpsRecord[]>>(tbody, words.noun, (text) =>
    el('tr', {}, [el('td', { colspan: columns, class: 'error', role: 'alert', text })]),
  );

  async function load(): Promise<void> {
    const body = await fetchList(API);
    if (!body) return;
    const list = (body[words.plural] ?? []).slice().sort((a, b) => b.no - a.no);
    if (!list.length)
      tbody.appendChild(el('tr', {}, [el('td', { colspan: columns, class: 'note', text: 'まだ記録はありません。' })]));
    for (const r of list) tbody.appendChild(row(r));
  }

  function row(r: OpsRecord): HTMLTableRowElement {
    const actions = el('td', {}, [
      ...recordRowButtons(r.no, editor ? () => void editor.edit(r) : null, () => void history(r, true)),
      words.docx ? ' ' : null,
      words.docx
        ? el('a', { href: `${API}/${r.id}/report.docx`, 'aria-label': `No.${r.no} の報告書 (Word)`, text: 'Word' })
        : null,
    ]);
    return el('tr', { 'data-id': r.id, 'data-no': String(r.no) }, [
      el('td', { class: 'num', text: String(r.no) }),
      ...words.columns.map((c) => {
        const f = byName.get(c);
        return el('td', {
          class: f?.type === 'textarea' || f?.wide ? 'wrap' : null,
          title: f?.type === 'date' && r[c] ? wareki(String(r[c])) : null,
          text: shown(c, r[c]),
        });
      }),
      actions,
    ]);
  }

  function history(r: OpsRecord, focus: boolean): Promise<void> {
    openHistory = r.id;
    return showHistory(historyBox, {
      title: `No.${r.no} の変更履歴`,
      titleId: 'record-history-title',
      url: `${API}/${r.id}/history`,
      focus,
      actionLabels: words.actionLabels,
      fieldLabel: (field, label) => byName.get(field)?.label ?? label,
      shown,
      onClose: () => {
        openHistory = null;
      },
    });
  }

  void load();
}

/** Registering and changing a record (accounts with 帳票の管理), or null. */
function opsRecordEditor(on: {
  saved(r: OpsRecord, wasEditing: boolean): Promise<void>;
}): RecordEditor<OpsRecord> | null {
  return recordEditor<OpsRecord>({
    prefix: 'record',
    url: API,
    noteId: 'f-note',
    title: (r) => (r ? `No.${r.no} を編集` : `${words.noun}を登録する`),
    saveLabel: (r) => (r ? '変更を保存' : '登録する'),
    fill(r, ctl) {
      for (const f of words.fields) {
        if (r) ctl(f.name).value = toControl(f, r[f.name]);
        else if (f.initial === 'now') ctl(f.name).value = tokyoInput(new Date().toISOString());
        else if (f.initial === 'today') ctl(f.name).value = todayTokyo();
        else if (f.initial) ctl(f.name).value = f.initial;
      }
      return words.fields[0]!.name;
    },
    body(was, ctl) {
      const body: Record<string, unknown> = {};
      for (const f of words.fields) {
        const v = fromControl(f, ctl(f.name).value);
        // a change sends what changed; a new record what was filled in (required fields always)
        if (was ? toControl(f, was[f.name]) !== ctl(f.name).value.trim() : v !== null && (v !== '' || f.required))
          body[f.name] = v;
      }
      if (was) {
        const reason = ctl('note').value.trim();
        if (reason) body.note = reason;
      }
      return body;
    },
    saved: on.saved,
  });
}
