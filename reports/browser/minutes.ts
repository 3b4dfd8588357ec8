// 議事録: the month-by-month list, a record with its history, and the draft editor (reports' API).
import {
  api,
  bindFilters,
  data,
  dateTime,
  el,
  errorText,
  loader,
  localInput,
  markCurrentNav,
  say,
  seireki,
  tenantName,
  wareki,
  warekiMonth,
} from '../../core/browser/kit.ts';
import { type FormControl, type RecordEditor, recordEditor } from '../../core/browser/record-editor.ts';
import {
  type ActionItem,
  type Attendee,
  type HistoryEntry,
  MINUTES_FIELDS,
  type Minutes,
  type MinutesWords,
} from './types.ts';

/** What a person writes in the editor, as the API takes it. */
type MinutesBody = Pick<
  Minutes,
  | 'title'
  | 'kind'
  | 'heldAt'
  | 'endedAt'
  | 'place'
  | 'tenantIds'
  | 'attendees'
  | 'agenda'
  | 'discussion'
  | 'decisions'
  | 'actionItems'
>;
type RowKind = 'attendee' | 'action';

const words = data as typeof data & MinutesWords;

markCurrentNav();
const listBox = document.getElementById('minutes-list');
if (listBox) minutesPage(listBox);

function minutesPage(list: HTMLElement): void {
  const status = document.getElementById('minutes-status')!;
  const detail = document.getElementById('minutes-detail')!;
  const filter = document.getElementById('minutes-filter') as HTMLFormElement;
  const canManage = data.canManage;
  let records = new Map<string, Minutes>();
  let openId: string | null = null;

  const query = bindFilters(filter, () => void load());
  const editor = minutesEditor({
    saved(m) {
      say(status, `「${m.title}」の下書きを保存しました。`);
      openId = m.id;
      void load();
    },
  });

  const badge = (m: Minutes) =>
    el('span', { class: `badge ${m.status}`, text: m.statusLabel || words.statusLabels[m.status] || m.status });

  // ---- the list, by month --------------------------------------------------------------------------

  const fetchList = loader<{ minutes: Minutes[] }>(list, '議事録');
  async function load(): Promise<void> {
    const q = query();
    const body = await fetchList(`/api/v1/minutes${q ? `?${q}` : ''}`);
    if (!body) return;
    records = new Map();
    const byMonth = new Map<string, Minutes[]>();
    for (const m of body.minutes) {
      records.set(m.id, m);
      const group = byMonth.get(m.reportMonth);
      if (group) group.push(m);
      else byMonth.set(m.reportMonth, [m]);
    }
    const months = [...byMonth.keys()].sort().reverse();
    if (!months.length) list.appendChild(el('p', { class: 'note', text: '条件に合う議事録はありません。' }));
    for (const month of months) list.appendChild(monthGroup(month, byMonth.get(month)!));
    if (openId && records.has(openId)) show(openId, false);
  }

  function monthGroup(month: string, group: Minutes[]): HTMLElement {
    const items = group.sort((a, b) => (a.heldAt < b.heldAt ? -1 : 1));
    const due = items[0]!.reportDue;
    const drafts = items.filter((m) => m.status !== 'approved').length;
    const id = `month-${month}`;
    const rows = items.map((m) =>
      el('tr', { 'data-id': m.id }, [
        el('td', { text: timeRange(m) }),
        el('td', { text: m.kind }),
        el('td', { class: 'wrap' }, [
          el('button', { type: 'button', class: 'link', text: m.title, onclick: () => show(m.id, true) }),
        ]),
        el('td', {
          class: 'wrap',
          title: m.tenantIds.map(tenantName).join('、'),
          text: tenantsText(m.tenantIds) || '—',
        }),
        el('td', {}, [badge(m)]),
        el('td', { text: `${dateTime(m.updatedAt)} ${m.updatedBy}` }),
      ]),
    );
    return el('section', { class: 'month-group', 'aria-labelledby': id }, [
      el('h2', { id }, [
        `${warekiMonth(month)}分`,
        el('small', {
          text:
            seireki(month) +
            (due ? `・提出期限 ${wareki(due)}` : '') +
            `・${items.length}件` +
            (drafts ? ` (うち下書き ${drafts}件)` : ''),
        }),
      ]),
      el('div', { class: 'scroll' }, [
        el('table', { 'aria-labelledby': id }, [
          headRow(['開催日時', '種別', '件名', '関係団体', '状態', '最終更新']),
          el('tbody', {}, rows),
        ]),
      ]),
    ]);
  }

  // ---- one record ----------------------------------------------------------------------------------

  function close(): void {
    detail.hidden = true;
    openId = null;
  }

  function show(id: string, focus: boolean): void {
    const m = records.get(id);
    if (!m) {
      close();
      return;
    }
    openId = id;
    detail.textContent = '';
    const buttons = el('div', { class: 'actions' });
    const act = (label: string, cls: string, fn: () => void) =>
      buttons.appendChild(el('button', { type: 'button', class: cls, text: label, onclick: fn }));
    if (canManage && m.status === 'draft') {
      if (editor) act('編集', 'secondary', () => void edit(m));
      act('承認', '', () => void transition(m, 'approve', '承認しました。'));
      act('下書きを削除', 'danger', () => void remove(m));
    }
    if (canManage && m.status === 'approved') {
      act('差し戻し', 'secondary', () => {
        if (!window.confirm(`「${m.title}」を下書きに戻します。承認し直すまで帳票には載りません。よろしいですか?`))
          return;
        void transition(m, 'reopen', '下書きに差し戻しました。');
      });
    }
    act('変更履歴', 'secondary', () => void history(m));
    act('閉じる', 'secondary', close);
    detail.appendChild(
      el('div', { class: 'detail-head' }, [el('h2', { id: 'minutes-detail-title', text: m.title }), buttons]),
    );
    const dl = el('dl', { class: 'record' });
    const row = (label: string, value: Node | string) => {
      dl.appendChild(el('dt', { text: label }));
      dl.appendChild(el('dd', {}, [value]));
    };
    const listOf = (tag: 'ol' | 'ul', items: string[]) =>
      items.length
        ? el(
            tag,
            {},
            items.map((t) => el('li', { text: t })),
          )
        : '—';
    row(
      '状態',
      el('span', {}, [badge(m), m.status === 'approved' ? ` ${dateTime(m.approvedAt)} ${m.approvedBy} が承認` : '']),
    );
    row('種別', m.kind);
    row('日時', `${timeRange(m)} (${wareki(m.heldAt)})`);
    row('場所', m.place || '—');
    row('関係団体', m.tenantIds.map(tenantName).join('、') || '—');
    row(
      '出席者',
      listOf(
        'ul',
        m.attendees.map((a) => (a.organization ? `${a.organization} ` : '') + a.name),
      ),
    );
    row('議題', listOf('ol', m.agenda));
    row('協議内容', m.discussion || '—');
    row('決定事項', listOf('ol', m.decisions));
    row(
      '対応事項',
      m.actionItems.length
        ? el('table', {}, [
            headRow(['対応事項', '担当', '期限']),
            el(
              'tbody',
              {},
              m.actionItems.map((a) =>
                el('tr', {}, [
                  el('td', { class: 'wrap', text: a.task }),
                  el('td', { text: a.owner }),
                  el('td', { text: a.due ? wareki(a.due) : '—' }),
                ]),
              ),
            ),
          ])
        : '—',
    );
    row('提出', `${warekiMonth(m.reportMonth)}分${m.reportDue ? `・提出期限 ${wareki(m.reportDue)}` : ''}`);
    row('作成・更新', `${dateTime(m.createdAt)} ${m.createdBy} が作成、${dateTime(m.updatedAt)} ${m.updatedBy} が更新`);
    detail.appendChild(dl);
    detail.appendChild(el('div', { id: 'minutes-history', class: 'history' }));
    detail.hidden = false;
    if (focus) detail.focus();
  }

  /** Opens the editor on the record as stored now (the list may be older), so the change is made on its current version. */
  async function edit(m: Minutes): Promise<void> {
    const r = await api<Minutes>('GET', `/api/v1/minutes/${m.id}`);
    if (!r.ok) return say(status, errorText(r), true);
    if (r.body.status !== 'draft') {
      say(status, `「${m.title}」は承認済みになっています。変更するには差し戻してください。`, true);
      void load();
      return;
    }
    editor?.open(r.body);
  }

  async function remove(m: Minutes): Promise<void> {
    if (!window.confirm(`下書き「${m.title}」を削除します。よろしいですか?`)) return;
    const r = await api('DELETE', `/api/v1/minutes/${m.id}`);
    if (!r.ok) return say(status, errorText(r), true);
    say(status, `「${m.title}」を削除しました。`);
    close();
    void load();
  }

  async function transition(m: Minutes, verb: 'approve' | 'reopen', done: string): Promise<void> {
    const r = await api('POST', `/api/v1/minutes/${m.id}/${verb}`, { version: m.version });
    if (!r.ok) return say(status, errorText(r), true);
    say(status, `「${m.title}」を${done}`);
    openId = m.id;
    void load();
  }

  async function history(m: Minutes): Promise<void> {
    const box = document.getElementById('minutes-history')!;
    box.textContent = '読み込み中…';
    const r = await api<{ history: Array<HistoryEntry<Minutes>> }>('GET', `/api/v1/minutes/${m.id}/history`);
    box.textContent = '';
    if (!r.ok) {
      box.appendChild(el('p', { class: 'error', role: 'alert', text: errorText(r) }));
      return;
    }
    const entries = r.body.history.slice().sort((a, b) => a.version - b.version);
    let prev: Minutes | null = null;
    const rows = entries.map((h) => {
      const before = prev;
      const changed = before
        ? MINUTES_FIELDS.filter((f) => JSON.stringify(before[f]) !== JSON.stringify(h.record[f])).map(
            (f) => words.fieldLabels[f] ?? f,
          )
        : [];
      prev = h.record;
      return el('tr', {}, [
        el('td', { text: dateTime(h.changedAt) }),
        el('td', { text: words.actionLabels[h.action] ?? h.action }),
        el('td', { text: h.changedBy }),
        el('td', { class: 'wrap', text: h.action === 'updated' ? changed.join('、') || '—' : '' }),
      ]);
    });
    box.appendChild(el('h3', { text: `変更履歴 (${entries.length}件)` }));
    box.appendChild(
      el('table', { 'aria-label': `「${m.title}」の変更履歴` }, [
        headRow(['日時', '操作', '変更者', '変更した項目']),
        el('tbody', {}, rows.reverse()),
      ]),
    );
  }

  void load();
}

// ---- the editor ------------------------------------------------------------------------------------

/** The draft editor (only for accounts that may manage reports): → open(record or null for a new one), or null. */
function minutesEditor(on: { saved(m: Minutes): void }): RecordEditor<Minutes> | null {
  const form = document.getElementById('minutes-form') as HTMLFormElement | null;
  if (!form) return null;
  const ctl = (name: string) => form.elements.namedItem(name) as FormControl;
  const sets: Record<RowKind, HTMLFieldSetElement> = {
    attendee: document.getElementById('m-attendees') as HTMLFieldSetElement,
    action: document.getElementById('m-actionItems') as HTMLFieldSetElement,
  };
  const NOUN: Record<RowKind, string> = { attendee: '出席者', action: '対応事項' };

  const input = (field: string, name: string, v: string | null | undefined, attrs: Record<string, string> = {}) =>
    el('input', { 'data-field': field, name, value: v ?? '', ...attrs });
  const rowMakers: Record<RowKind, (i: number, v: Partial<Attendee & ActionItem>) => HTMLElement[]> = {
    attendee: (i, v) => [
      el('label', {}, [
        '所属',
        input(`attendees.${i}.organization`, 'organization', v.organization, { maxlength: '60' }),
      ]),
      el('label', {}, ['氏名', input(`attendees.${i}.name`, 'name', v.name, { maxlength: '60' })]),
    ],
    action: (i, v) => [
      el('label', {}, ['対応事項', input(`actionItems.${i}.task`, 'task', v.task, { maxlength: '500' })]),
      el('label', {}, ['担当', input(`actionItems.${i}.owner`, 'owner', v.owner, { maxlength: '60' })]),
      el('label', {}, ['期限', input(`actionItems.${i}.due`, 'due', v.due, { type: 'date' })]),
    ],
  };

  const kindOf = (set: HTMLElement) => set.getAttribute('data-row') as RowKind;
  const renumber = (set: HTMLFieldSetElement) => {
    const prefix = set.getAttribute('data-field');
    set.querySelectorAll('.row').forEach((r, i) => {
      for (const c of r.querySelectorAll<HTMLInputElement>('[data-field]'))
        c.setAttribute('data-field', `${prefix}.${i}.${c.name}`);
      r.querySelector('button')?.setAttribute('aria-label', `${i + 1}件目の${NOUN[kindOf(set)]}を削除`);
    });
  };
  const addRow = (set: HTMLFieldSetElement, v: Partial<Attendee & ActionItem>, focus = false) => {
    const holder = set.querySelector('.row-list')!;
    const row = el('div', { class: 'row' }, rowMakers[kindOf(set)](holder.children.length, v));
    row.appendChild(
      el('button', {
        type: 'button',
        class: 'secondary',
        text: '削除',
        onclick: () => {
          row.remove();
          renumber(set);
        },
      }),
    );
    row.appendChild(el('p', { class: 'field-error', hidden: true }));
    holder.appendChild(row);
    renumber(set);
    if (focus) row.querySelector('input')?.focus();
  };
  for (const b of form.querySelectorAll<HTMLButtonElement>('[data-add]'))
    b.addEventListener('click', () => addRow(sets[b.getAttribute('data-add') as RowKind], {}, true));

  const lines = (v: string) =>
    v
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
  /** A row set's values, leaving out the rows left empty. */
  const rowValues = (set: HTMLFieldSetElement) =>
    Array.from(set.querySelectorAll('.row'), (r) => {
      const o: Record<string, string> = {};
      for (const c of r.querySelectorAll('input')) o[c.name] = c.value.trim();
      return o;
    }).filter((o) => Object.values(o).some(Boolean));
  const tenantBoxes = () => Array.from(form.querySelectorAll<HTMLInputElement>('input[name=tenantIds]'));

  const values = (): MinutesBody => ({
    title: ctl('title').value,
    kind: ctl('kind').value,
    heldAt: ctl('heldAt').value,
    endedAt: ctl('endedAt').value || null,
    place: ctl('place').value,
    tenantIds: tenantBoxes()
      .filter((c) => c.checked)
      .map((c) => c.value),
    attendees: rowValues(sets.attendee).map((a) => ({ organization: a.organization ?? '', name: a.name ?? '' })),
    agenda: lines(ctl('agenda').value),
    discussion: ctl('discussion').value,
    decisions: lines(ctl('decisions').value),
    actionItems: rowValues(sets.action).map((a) => ({ task: a.task ?? '', owner: a.owner ?? '', due: a.due || null })),
  });

  return recordEditor<Minutes>({
    prefix: 'minutes',
    url: '/api/v1/minutes',
    title: (m) => (m ? '議事録を編集 (下書き)' : '新しい議事録'),
    fill(m) {
      for (const set of Object.values(sets)) set.querySelector('.row-list')!.textContent = '';
      for (const c of tenantBoxes()) c.checked = m ? m.tenantIds.includes(c.value) : c.value === data.ownTenant;
      if (m) {
        ctl('title').value = m.title;
        ctl('kind').value = m.kind;
        ctl('heldAt').value = localInput(m.heldAt);
        ctl('endedAt').value = localInput(m.endedAt);
        ctl('place').value = m.place;
        ctl('agenda').value = m.agenda.join('\n');
        ctl('discussion').value = m.discussion;
        ctl('decisions').value = m.decisions.join('\n');
        for (const a of m.attendees) addRow(sets.attendee, a);
        for (const a of m.actionItems) addRow(sets.action, a);
      }
      if (!m?.attendees.length) addRow(sets.attendee, {});
      if (!m?.actionItems.length) addRow(sets.action, {});
      return 'title';
    },
    body: (was) => (was ? changes(was, values()) : values()),
    saved: (m) => on.saved(m),
  });
}

/** Only what changed, on the version it was made on: a municipality account never drops tenants it cannot see. */
function changes(was: Minutes, body: MinutesBody): Partial<MinutesBody> & { version: number } {
  const before: MinutesBody = {
    ...was,
    heldAt: localInput(was.heldAt),
    endedAt: was.endedAt ? localInput(was.endedAt) : null,
  };
  const patch: Record<string, unknown> = { version: was.version };
  for (const k of Object.keys(body) as Array<keyof MinutesBody>)
    if (JSON.stringify(before[k]) !== JSON.stringify(body[k])) patch[k] = body[k];
  return patch as Partial<MinutesBody> & { version: number };
}

// ---- shared bits -------------------------------------------------------------------------------------

function headRow(labels: string[]): HTMLTableSectionElement {
  return el('thead', {}, [
    el(
      'tr',
      {},
      labels.map((h) => el('th', { scope: 'col', text: h })),
    ),
  ]);
}

function tenantsText(ids: string[]): string {
  const all = ids.map(tenantName);
  return all.length > 4 ? `${all.slice(0, 3).join('、')} ほか${all.length - 3}団体` : all.join('、');
}

function timeRange(m: Minutes): string {
  const end = m.endedAt
    ? `〜${m.endedAt.slice(0, 10) === m.heldAt.slice(0, 10) ? m.endedAt.slice(11, 16) : dateTime(m.endedAt)}`
    : '';
  return dateTime(m.heldAt) + end;
}
