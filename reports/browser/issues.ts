// 課題管理表: the log with filters, raising and editing an entry (with a note), and its history field by field.
import {
  api,
  bindFilters,
  clearErrors,
  data,
  el,
  errorText,
  loader,
  markCurrentNav,
  say,
  showErrors,
  tenantName,
  todayTokyo,
  wareki,
} from '../../core/browser/kit.ts';
import { showHistory } from '../../core/browser/record-history.ts';
import { ISSUE_FIELDS, type Issue, type IssueField, type IssuesWords } from './types.ts';

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
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
    const actions = el('td', {}, [
      canManage && editor
        ? el('button', {
            type: 'button',
            class: 'secondary',
            'aria-label': `No.${i.no} を編集`,
            text: '編集',
            onclick: () => void editor.edit(i),
          })
        : null,
      ' ',
      el('button', {
        type: 'button',
        class: 'secondary',
        'aria-label': `No.${i.no} の変更履歴`,
        text: '履歴',
        onclick: () => void history(i, true),
      }),
    ]);
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
function issueEditor(on: {
  saved(i: Issue, wasEditing: boolean): Promise<void>;
}): { edit(i: Issue | null): Promise<void> } | null {
  const form = document.getElementById('issue-form') as HTMLFormElement | null;
  const section = document.getElementById('issue-editor');
  if (!form || !section) return null;
  const status = document.getElementById('issue-status')!;
  const save = document.getElementById('issue-save') as HTMLButtonElement;
  const note = document.getElementById('i-note')!.closest<HTMLElement>('.field')!;
  const ctl = (name: string) => form.elements.namedItem(name) as Control;
  let editing: Issue | null = null;

  const fill = (i: Issue | null) => {
    editing = i;
    clearErrors(form);
    form.reset();
    document.getElementById('issue-editor-title')!.textContent = i ? `No.${i.no} を編集` : '課題を起票する';
    save.textContent = i ? '変更を保存' : '起票する';
    note.hidden = !i;
    if (i) for (const k of ISSUE_FIELDS) ctl(k).value = i[k] ?? '';
    else {
      ctl('raisedOn').value = todayTokyo();
      if (data.ownTenant) ctl('tenantId').value = data.ownTenant;
    }
    section.hidden = false;
    ctl(i ? 'response' : 'tenantId').focus();
  };

  /** An edit starts from the entry as stored now (the list may be older), so its version is current. */
  const edit = async (i: Issue | null) => {
    if (!i) return fill(null);
    const r = await api<Issue>('GET', `/api/v1/issues/${i.id}`);
    if (!r.ok) return say(status, errorText(r), true);
    fill(r.body);
  };

  document.getElementById('issue-new')?.addEventListener('click', () => void edit(null));
  document.getElementById('issue-cancel')?.addEventListener('click', () => {
    section.hidden = true;
    editing = null;
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    say(status, '');
    clearErrors(form);
    const v = {} as IssueValues;
    for (const k of ISSUE_FIELDS) v[k] = ctl(k).value.trim();
    v.dueOn = v.dueOn || null;
    v.resolvedOn = v.resolvedOn || null;
    const was = editing;
    let body: Record<string, unknown>;
    if (was) {
      body = { version: was.version, note: ctl('note').value.trim() };
      for (const k of ISSUE_FIELDS) if ((was[k] === null ? null : String(was[k])) !== v[k]) body[k] = v[k];
    } else {
      body = { ...v };
      if (!v.raisedOn) delete body.raisedOn;
    }
    save.disabled = true;
    const r = was
      ? await api<Issue>('PATCH', `/api/v1/issues/${was.id}`, body)
      : await api<Issue>('POST', '/api/v1/issues', body);
    save.disabled = false;
    if (!r.ok) return showErrors(form, r);
    section.hidden = true;
    editing = null;
    await on.saved(r.body, !!was);
  });

  return { edit };
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
