// 課題管理表: the log with filters, raising and editing an entry (with a note), and its history field by field.
import {
  bindFilters,
  data,
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
import { ISSUE_FIELDS, type Issue, type IssueField, type IssuesWords } from './types.ts';

type IssueValues = Record<IssueField, string | null>;

const words = data as typeof data & IssuesWords;

markCurrentNav();
const issuesTable = document.getElementById('issues') as HTMLTableElement | null;
if (issuesTable) issuesPage(issuesTable);

function issuesPage(table: HTMLTableElement): void {
  const tbody = table.tBodies[0]!;
  const columns = String(table.tHead?.rows[0]?.cells.length ?? 11);
  const status = document.getElementById('issue-status')!;
  const historyBox = document.getElementById('issue-history')!;
  const filter = document.getElementById('issue-filter') as HTMLFormElement;
  const canManage = data.canManage;
  let issues = new Map<string, Issue>();
  let openHistory: string | null = null;

  const query = bindFilters(filter, () => void load());
  const editor = issueEditor({
    async saved(i, wasEditing) {
      say(status, wasEditing ? `No.${i.no} の変更を保存しました。` : `No.${i.no} を起票しました。`);
      await load();
      tbody.querySelector(`tr[data-id="${i.id}"]`)?.classList.add('highlight');
    },
  });

  const fetchList = loader<{ issues: Issue[] }>(tbody, '課題管理表', (text) =>
    el('tr', {}, [el('td', { colspan: columns, class: 'error', role: 'alert', text })]),
  );
  async function load(): Promise<void> {
    const q = query();
    const body = await fetchList(`/api/v1/issues${q ? `?${q}` : ''}`);
    if (!body) return;
    issues = new Map();
    const today = todayTokyo();
    const list = body.issues.slice().sort((a, b) => a.no - b.no);
    if (!list.length)
      tbody.appendChild(
        el('tr', {}, [el('td', { colspan: columns, class: 'note', text: '条件に合う課題はありません。' })]),
      );
    for (const i of list) {
      issues.set(i.id, i);
      tbody.appendChild(issueRow(i, today));
    }
    const open = openHistory ? issues.get(openHistory) : undefined;
    if (open) void history(open, false);
  }

  function issueRow(i: Issue, today: string): HTMLTableRowElement {
    const overdue = i.status !== words.closedStatus && !!i.dueOn && i.dueOn < today;
    const actions = el(
      'td',
      {},
      recordRowButtons(i.no, canManage && editor ? () => void editor.edit(i) : null, () => void history(i, true)),
    );
    const due = dateCell(i.dueOn, 'due');
    if (overdue) due.appendChild(el('span', { text: ' (期限切れ)' }));
    return el('tr', { 'data-id': i.id, 'data-no': String(i.no), class: overdue ? 'overdue' : null }, [
      el('td', { class: 'num', text: String(i.no) }),
      el('td', { text: tenantName(i.tenantId) }),
      dateCell(i.raisedOn),
      el('td', { text: i.category }),
      el('td', { class: 'wrap', text: i.description }),
      el('td', { class: 'wrap', text: i.response || '—' }),
      el('td', { text: i.owner || '—' }),
      el('td', {}, [el('span', { class: `badge s-${i.status}`, text: i.status })]),
      due,
      dateCell(i.resolvedOn),
      actions,
    ]);
  }

  function history(i: Issue, focus: boolean): Promise<void> {
    openHistory = i.id;
    return showHistory(historyBox, {
      title: `No.${i.no} (${tenantName(i.tenantId)}) の変更履歴`,
      titleId: 'issue-history-title',
      url: `/api/v1/issues/${i.id}/history`,
      focus,
      actionLabels: words.actionLabels,
      fieldLabel: (field, label) => words.fieldLabels[field as IssueField] ?? label,
      shown,
      onClose: () => {
        openHistory = null;
      },
    });
  }

  void load();
}

// ---- the editor ------------------------------------------------------------------------------------

/** Raising and editing an entry (only for accounts that may manage reports), or null. */
function issueEditor(on: { saved(i: Issue, wasEditing: boolean): Promise<void> }): RecordEditor<Issue> | null {
  return recordEditor<Issue>({
    prefix: 'issue',
    url: '/api/v1/issues',
    noteId: 'i-note',
    title: (i) => (i ? `No.${i.no} を編集` : '課題を起票する'),
    saveLabel: (i) => (i ? '変更を保存' : '起票する'),
    fill(i, ctl) {
      if (i) for (const k of ISSUE_FIELDS) ctl(k).value = i[k] ?? '';
      else {
        ctl('raisedOn').value = todayTokyo();
        if (data.ownTenant) ctl('tenantId').value = data.ownTenant;
      }
      return i ? 'response' : 'tenantId';
    },
    /** A change is made on the version it was read at (edit reads the entry as stored now). */
    body(was, ctl) {
      const v = {} as IssueValues;
      for (const k of ISSUE_FIELDS) v[k] = ctl(k).value.trim();
      v.dueOn = v.dueOn || null;
      v.resolvedOn = v.resolvedOn || null;
      if (!was) {
        const body: Record<string, unknown> = { ...v };
        if (!v.raisedOn) delete body.raisedOn;
        return body;
      }
      const body: Record<string, unknown> = { version: was.version, note: ctl('note').value.trim() };
      for (const k of ISSUE_FIELDS) if ((was[k] === null ? null : String(was[k])) !== v[k]) body[k] = v[k];
      return body;
    },
    saved: on.saved,
  });
}

// ---- cells -------------------------------------------------------------------------------------------

const slash = (d: string | null) => (d ? d.replace(/-/g, '/') : '');

function dateCell(d: string | null, cls?: string): HTMLTableCellElement {
  return el('td', { class: cls, title: d ? wareki(d) : null, text: d ? slash(d) : '—' });
}

/** A value in the history as the log shows it. */
function shown(field: string, v: unknown): string {
  if (v === null || v === undefined || v === '') return '(なし)';
  if (field === 'tenantId') return tenantName(String(v));
  if (/On$/.test(field)) return slash(String(v));
  return String(v);
}
