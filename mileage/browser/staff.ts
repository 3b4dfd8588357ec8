/**
 * mileage's staff pages (mileage/pages.ts draws them): the forms post to the mileage API; lists are
 * the server's, so a saved change reloads the page. A member's ledger (with corrections), the import
 * preview and its confirmation are drawn here.
 */
import { api, type ApiResult, clearErrors, el, errorText, say, showErrors } from '../../core/browser/kit.ts';
import type { AwardResult, ImportConfirmation, ImportPreview, LedgerEntry, Card } from '../schemas.ts';

const pts = (n: number) => `${n.toLocaleString('ja-JP')} ポイント`;
const wareki = new Intl.DateTimeFormat('ja-JP-u-ca-japanese', {
  era: 'long',
  year: 'numeric',
  month: 'long',
  day: 'numeric',
  timeZone: 'UTC',
});
const day = (d: string) => wareki.format(new Date(`${d.slice(0, 10)}T00:00:00Z`));
const newKey = () =>
  typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;

function statusOf(form: HTMLElement): HTMLElement {
  return form.querySelector<HTMLElement>('.status') ?? el('p');
}

/** A form's named controls as the API's body: numbers as numbers, Tokyo times with +09:00, empty dates left out. */
function bodyOf(form: HTMLFormElement): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const c of Array.from(form.elements)) {
    if (!(c instanceof HTMLInputElement || c instanceof HTMLSelectElement || c instanceof HTMLTextAreaElement))
      continue;
    if (!c.name || (c instanceof HTMLInputElement && c.type === 'file')) continue;
    const kind = c.dataset.type;
    const v = c.value;
    const empty = v.trim() === '';
    if (empty && (kind === 'number' || kind === 'tokyo' || c.type === 'date' || c.type === 'hidden')) continue;
    if (kind === 'number') body[c.name] = Number(v);
    else if (kind === 'tokyo') body[c.name] = `${v.length === 16 ? `${v}:00` : v}+09:00`;
    else body[c.name] = v;
  }
  return body;
}

/** A file's bytes as base64. */
function base64Of(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function grantMessage(r: AwardResult, memberNo: string): string {
  if (!r.awarded) return `会員番号 ${r.memberNo || memberNo} には、この付与は記録済みです (現在 ${pts(r.balance)})。`;
  const card = r.cardIssued ? ' 目標に達したため、カードを発行しました。' : '';
  return `会員番号 ${r.memberNo} に ${pts(r.points)}を付与しました (現在 ${pts(r.balance)})。${card}`;
}

/** Forms with class m-form: JSON to data-url with data-method, then go on (data-next), reload or say. */
function bindJsonForms(): void {
  for (const form of document.querySelectorAll<HTMLFormElement>('form.m-form')) {
    const key = form.querySelector<HTMLInputElement>('input[data-key]');
    if (key) key.value = newKey();
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const status = statusOf(form);
      const button = form.querySelector<HTMLButtonElement>('button[type=submit]');
      clearErrors(form);
      if (button) button.disabled = true;
      say(status, '送信しています…');
      const r = await api<Record<string, unknown>>(form.dataset.method ?? 'POST', form.dataset.url ?? '', bodyOf(form));
      if (button) button.disabled = false;
      if (!r.ok) {
        say(status, '');
        showErrors(form, r);
        return;
      }
      if (form.dataset.next) {
        location.href = form.dataset.next.replace(/\{(\w+)\}/g, (_, k: string) =>
          encodeURIComponent(String(r.body[k] ?? '')),
        );
      } else if (form.dataset.reload) {
        say(status, '保存しました。');
        location.reload();
      } else if (form.dataset.result === 'grant') {
        const memberNo = String(bodyOf(form).memberNo ?? '');
        say(status, grantMessage(r.body as unknown as AwardResult, memberNo));
        if (key) key.value = newKey();
      } else say(status, '保存しました。');
    });
  }
}

/** 変更 on an activity's row: the add form becomes its editor (PUT), 変更をやめる turns it back. */
function bindActivityEditor(): void {
  const form = document.querySelector<HTMLFormElement>('#activity-form');
  if (!form) return;
  const submit = form.querySelector<HTMLButtonElement>('#activity-submit')!;
  const cancel = form.querySelector<HTMLButtonElement>('#activity-cancel')!;
  const heading = document.getElementById('activity-form-h')!;
  const reset = () => {
    form.reset();
    form.dataset.method = 'POST';
    form.dataset.url = form.dataset.base ?? '';
    submit.textContent = '活動を追加';
    heading.textContent = '活動を追加';
    cancel.hidden = true;
    clearErrors(form);
  };
  cancel.addEventListener('click', reset);
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-edit-activity]')) {
    b.addEventListener('click', () => {
      const a = JSON.parse(b.dataset.editActivity ?? '{}') as Record<string, string | number>;
      for (const name of ['name', 'points', 'method', 'selfReportLabel', 'dailyCap', 'periodCap', 'sort']) {
        const c = form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null;
        if (c) c.value = String(a[name] ?? '');
      }
      form.dataset.method = 'PUT';
      form.dataset.url = `${form.dataset.base}/${a.activityId}`;
      submit.textContent = '変更を保存';
      heading.textContent = `活動「${a.name}」を変更`;
      cancel.hidden = false;
      (form.elements.namedItem('name') as HTMLInputElement).focus();
    });
  }
}

/** Buttons that act once after a confirmation (終了 an activity or a session, 公開 a design), then reload. */
function bindActionButtons(): void {
  for (const b of document.querySelectorAll<HTMLButtonElement>('button[data-action]')) {
    b.addEventListener('click', async () => {
      if (b.dataset.confirm && !confirm(b.dataset.confirm)) return;
      b.disabled = true;
      const r = await api(b.dataset.method ?? 'POST', b.dataset.action ?? '');
      b.disabled = false;
      if (r.ok) location.reload();
      else alert(errorText(r));
    });
  }
}

// ---------------------------------------------------------------- a member's ledger and corrections

interface MemberLedger {
  memberNo: string;
  balance: number;
  goal: number;
  card: Card | null;
  entries: LedgerEntry[];
  total: number;
}

function correctionForm(url: string, entry: LedgerEntry, left: number, done: () => void): HTMLFormElement {
  const id = `c-${entry.entryId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const form = el(
    'form',
    { class: 'm-correction', novalidate: true, 'aria-label': `${day(entry.activityOn)}の記録の訂正` },
    [
      el('div', { class: 'form-summary', role: 'alert', hidden: true }),
      el('div', { class: 'field' }, [
        el('label', { for: `${id}-points`, text: '取り消すポイント' }),
        el('input', {
          id: `${id}-points`,
          name: 'points',
          type: 'number',
          min: 1,
          max: left,
          value: left,
          'data-field': 'points',
          'aria-describedby': `${id}-points-error`,
        }),
        el('p', { class: 'field-error', id: `${id}-points-error`, hidden: true }),
      ]),
      el('div', { class: 'field' }, [
        el('label', { for: `${id}-reason` }, ['理由 ', el('span', { class: 'req', text: '必須' })]),
        el('input', {
          id: `${id}-reason`,
          name: 'reason',
          maxlength: 200,
          required: true,
          'aria-required': 'true',
          'data-field': 'reason',
          'aria-describedby': `${id}-reason-error`,
        }),
        el('p', { class: 'field-error', id: `${id}-reason-error`, hidden: true }),
      ]),
      el('p', { class: 'actions' }, [el('button', { type: 'submit', text: '訂正を記録' })]),
    ],
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const points = Number((form.elements.namedItem('points') as HTMLInputElement).value);
    const reason = (form.elements.namedItem('reason') as HTMLInputElement).value;
    const r = await api<AwardResult>('POST', url, { entryId: entry.entryId, points, reason });
    if (!r.ok) showErrors(form, r);
    else done();
  });
  return form;
}

function bindMemberLookup(): void {
  const form = document.querySelector<HTMLFormElement>('#member-lookup');
  const box = document.getElementById('member-ledger');
  if (!form || !box) return;
  const corrections = form.dataset.corrections ?? '';
  const show = async (memberNo: string) => {
    box.setAttribute('aria-busy', 'true');
    const r: ApiResult<MemberLedger> = await api<MemberLedger>(
      'GET',
      `${form.dataset.url}/${encodeURIComponent(memberNo)}/ledger?limit=100`,
    );
    box.removeAttribute('aria-busy');
    box.textContent = '';
    if (!r.ok) {
      box.append(el('p', { class: 'error', role: 'alert', text: errorText(r) }));
      return;
    }
    const m = r.body;
    const cardText = m.card
      ? `${m.card.cardNo} (${m.card.expired ? '有効期限切れ' : `${day(m.card.validUntil)}まで`})`
      : `なし (目標まで あと ${pts(Math.max(0, m.goal - m.balance))})`;
    box.append(
      el('h3', { text: `会員番号 ${m.memberNo}` }),
      el('dl', { class: 'm-facts' }, [
        el('dt', { text: 'ポイント' }),
        el('dd', { text: pts(m.balance), 'data-testid': 'member-balance' }),
        el('dt', { text: 'カード' }),
        el('dd', { text: cardText }),
      ]),
    );
    // how much of each entry is left to correct (corrections name the entry they correct)
    const corrected = new Map<string, number>();
    for (const e of m.entries) if (e.corrects) corrected.set(e.corrects, (corrected.get(e.corrects) ?? 0) - e.points);
    const rows = m.entries.map((e) => {
      const left = e.points - (corrected.get(e.entryId) ?? 0);
      const cell = el('td');
      if (corrections && e.kind !== 'correction' && e.points > 0 && left > 0) {
        const b = el('button', { type: 'button', class: 'secondary', text: '訂正' });
        b.addEventListener('click', () => {
          b.hidden = true;
          cell.append(correctionForm(corrections, e, left, () => void show(m.memberNo)));
          cell.querySelector<HTMLInputElement>('input[name=reason]')?.focus();
        });
        cell.append(b);
      }
      return el('tr', {}, [
        el('td', { text: day(e.activityOn) }),
        el('td', { text: e.kindLabel }),
        el('th', { scope: 'row', text: e.activityName || '—' }),
        el('td', { class: 'num', text: e.points.toLocaleString('ja-JP') }),
        el('td', { text: e.reason || '—' }),
        el('td', { text: e.actor === 'resident' ? '住民' : e.actor }),
        cell,
      ]);
    });
    box.append(
      el('div', { class: 'scroll' }, [
        el('table', { class: 'm-table' }, [
          el('caption', { text: `記録 (新しい順、${m.total} 件)` }),
          el('thead', {}, [
            el(
              'tr',
              {},
              ['活動日', '種類', '活動', 'ポイント', '理由', '記録者', '訂正'].map((h) =>
                el('th', { scope: 'col', text: h }),
              ),
            ),
          ]),
          el('tbody', {}, rows.length ? rows : [el('tr', {}, [el('td', { colspan: 7, text: '記録はありません' })])]),
        ]),
      ]),
    );
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const no = (form.elements.namedItem('memberNo') as HTMLInputElement).value.trim();
    if (!no) return;
    const q = new URLSearchParams(location.search);
    q.set('member', no);
    history.replaceState(null, '', `?${q}`);
    void show(no);
  });
  const initial = (form.elements.namedItem('memberNo') as HTMLInputElement).value.trim();
  if (initial) void show(initial);
}

// ---------------------------------------------------------------- import with a preview

function bindImport(): void {
  const form = document.querySelector<HTMLFormElement>('#import-form');
  const box = document.getElementById('import-preview');
  if (!form || !box) return;
  const status = statusOf(form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    box.textContent = '';
    const input = form.elements.namedItem('file') as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) {
      showErrors(form, {
        status: 400,
        body: {
          error: {
            message: 'ファイルを選んでください',
            details: [{ field: 'data', message: 'ファイルを選んでください' }],
          },
        },
      });
      return;
    }
    say(status, '読み込んでいます…');
    const reason = (form.elements.namedItem('reason') as HTMLInputElement).value;
    const r = await api<ImportPreview>('POST', form.dataset.url ?? '', {
      fileName: file.name,
      data: await base64Of(file),
      reason,
    });
    say(status, '');
    if (!r.ok) {
      showErrors(form, r);
      return;
    }
    drawPreview(form.dataset.url ?? '', box, r.body);
  });
}

function drawPreview(url: string, box: HTMLElement, p: ImportPreview): void {
  const summary = `${p.rows.length} 行のうち、取り込める行 ${p.valid} 件、誤りのある行 ${p.invalid} 件`;
  box.append(
    el('h3', { text: `「${p.fileName}」の内容` }),
    el('p', { text: summary, 'data-testid': 'import-summary' }),
  );
  const rows = p.rows.map((r) =>
    el('tr', { class: r.errors.length ? 'invalid' : '' }, [
      el('th', { scope: 'row', text: String(r.row) }),
      el('td', { text: r.memberNo || '—' }),
      el('td', { text: r.activity || '—' }),
      el('td', { text: r.activityOn || '—' }),
      el('td', { class: 'num', text: r.points ? r.points.toLocaleString('ja-JP') : '—' }),
      el('td', { text: r.reason || '—' }),
      el('td', { class: r.errors.length ? 'error-text' : '' }, [
        r.errors.length ? `誤り: ${r.errors.join(' / ')}` : 'OK',
      ]),
    ]),
  );
  box.append(
    el('div', { class: 'scroll' }, [
      el('table', { class: 'm-table', id: 'import-table' }, [
        el('caption', { text: '取り込む前の確認 (誤りのある行は取り込まれません)' }),
        el('thead', {}, [
          el(
            'tr',
            {},
            ['行', '会員番号', '活動', '活動日', 'ポイント', '理由', '確認結果'].map((h) =>
              el('th', { scope: 'col', text: h }),
            ),
          ),
        ]),
        el('tbody', {}, rows),
      ]),
    ]),
  );
  const status = el('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  if (p.valid > 0) {
    const confirmButton = el('button', { type: 'button', text: `${p.valid} 件を取り込む` });
    confirmButton.addEventListener('click', async () => {
      confirmButton.disabled = true;
      say(status, '取り込んでいます…');
      const r = await api<ImportConfirmation>('POST', `${url}/${encodeURIComponent(p.importId)}/confirm`);
      if (!r.ok) {
        confirmButton.disabled = false;
        say(status, errorText(r), true);
        return;
      }
      const c = r.body;
      const failed = c.failed.length
        ? `、失敗 ${c.failed.length} 件 (${c.failed.map((f) => `${f.row}行目: ${f.message}`).join(' / ')})`
        : '';
      say(
        status,
        `取り込みました: 付与 ${c.applied} 件、記録済み ${c.alreadyApplied} 件${failed}。`,
        c.failed.length > 0,
      );
    });
    box.append(el('p', { class: 'actions' }, [confirmButton]));
  } else {
    say(status, '取り込める行がありません。ファイルを直してもう一度選んでください。', true);
  }
  box.append(status);
}

// ---------------------------------------------------------------- card designs

function bindDesignForm(): void {
  const form = document.querySelector<HTMLFormElement>('#design-form');
  if (!form) return;
  const status = statusOf(form);
  const submit = form.querySelector<HTMLButtonElement>('#design-submit')!;
  const cancel = form.querySelector<HTMLButtonElement>('#design-cancel')!;
  const idInput = form.elements.namedItem('designId') as HTMLInputElement;
  const heading = document.getElementById('design-form-h')!;
  const reset = () => {
    form.reset();
    idInput.value = '';
    heading.textContent = '新しいデザイン (下書き)';
    cancel.hidden = true;
    clearErrors(form);
  };
  cancel.addEventListener('click', reset);
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-edit-design]')) {
    b.addEventListener('click', () => {
      const d = JSON.parse(b.dataset.editDesign ?? '{}') as Record<string, string>;
      for (const name of ['name', 'title', 'note', 'colour']) {
        const c = form.elements.namedItem(name) as HTMLInputElement | null;
        if (c) c.value = d[name] ?? '';
      }
      idInput.value = d.designId ?? '';
      heading.textContent = `「${d.name}」を編集 (下書き)`;
      cancel.hidden = false;
      (form.elements.namedItem('name') as HTMLInputElement).focus();
    });
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = bodyOf(form);
    delete body.designId;
    const file = (form.elements.namedItem('image') as HTMLInputElement).files?.[0];
    if (file) body.image = await base64Of(file);
    submit.disabled = true;
    say(status, '保存しています…');
    const id = idInput.value;
    const r = await api(
      id ? 'PUT' : 'POST',
      id ? `${form.dataset.url}/${encodeURIComponent(id)}` : (form.dataset.url ?? ''),
      body,
    );
    submit.disabled = false;
    if (!r.ok) {
      say(status, '');
      showErrors(form, r);
      return;
    }
    say(status, '保存しました。');
    location.reload();
  });
}

bindJsonForms();
bindActivityEditor();
bindActionButtons();
bindMemberLookup();
bindImport();
bindDesignForm();
