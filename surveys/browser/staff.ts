/**
 * surveys' staff pages: the builder (questions drawn from the survey's JSON, sent to the surveys API
 * as a whole; after the first answer the structure is read-only here, and the API refuses it anyway)
 * and the 「配信の下書きを作る」 button on the results page.
 */
import { api, clearErrors, el, errorText, localInput, readJson, say, showErrors } from '../../core/browser/kit.ts';
import type { Question, Survey } from '../schemas.ts';

const TYPES: Array<[Question['type'], string]> = [
  ['single', '単一選択'],
  ['multiple', '複数選択'],
  ['text', '自由記述'],
  ['number', '数値'],
  ['date', '日付'],
  ['rating', '5段階評価'],
];

let serial = 0;

function questionItem(list: HTMLElement, q: Partial<Question>, locked: boolean, all: () => Question[]): HTMLElement {
  const n = ++serial;
  const id = (k: string) => `q${n}-${k}`;
  const type = el(
    'select',
    { id: id('type'), 'data-q': 'type', disabled: locked },
    TYPES.map(([v, label]) => el('option', { value: v, text: label, selected: v === (q.type ?? 'single') })),
  );
  const text = el('input', { id: id('text'), 'data-q': 'text', maxlength: 300, value: q.text ?? '' });
  const help = el('input', { id: id('help'), 'data-q': 'help', maxlength: 500, value: q.help ?? '' });
  const required = el('input', { id: id('required'), type: 'checkbox', 'data-q': 'required', disabled: locked });
  required.checked = q.required ?? false;
  const other = el('input', { id: id('other'), type: 'checkbox', 'data-q': 'other', disabled: locked });
  other.checked = q.other ?? false;
  const options = el('textarea', { id: id('options'), 'data-q': 'options', rows: 4, disabled: locked });
  options.value = (q.options ?? []).map((o) => o.label).join('\n');
  const branches = el('textarea', { id: id('branches'), 'data-q': 'branches', rows: 2, disabled: locked });
  const ids = all().map((x) => x.id);
  branches.value = (q.branches ?? [])
    .map((b) => {
      const label = q.options?.find((o) => o.id === b.option)?.label ?? b.option;
      return `${label}=${b.goTo === '_end' ? '終了' : ids.indexOf(b.goTo) + 1}`;
    })
    .join('\n');
  const remove = el('button', {
    type: 'button',
    class: 'secondary',
    text: 'この設問を削除',
    disabled: locked,
    onclick: () => li.remove(),
  });
  const f = (label: string, control: HTMLElement, wide = false) =>
    el('div', { class: `field${wide ? ' wide' : ''}` }, [el('label', { for: control.id, text: label }), control]);
  const li = el('li', { 'data-question': q.id ?? '' }, [
    el('div', { class: 'form-grid' }, [
      f('設問文', text, true),
      f('種類', type),
      el('div', { class: 'field' }, [el('label', {}, [required, ' 回答を必須にする'])]),
      f('補足 (任意)', help, true),
      f('選択肢 (1 行に 1 つ)', options, true),
      el('div', { class: 'field' }, [el('label', {}, [other, ' 「その他 (自由記述)」を加える'])]),
      f('分岐 (選択肢=設問番号 / 選択肢=終了)', branches, true),
    ]),
    el('p', {}, [remove]),
  ]);
  list.appendChild(li);
  return li;
}

/** The questions as the form holds them (ids kept for existing questions; options matched by label). */
function readQuestions(list: HTMLElement, before: Question[]): unknown[] {
  const items = Array.from(list.children) as HTMLElement[];
  const val = (li: HTMLElement, k: string) =>
    li.querySelector<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>(`[data-q="${k}"]`)!;
  const ids = items.map((li, i) => li.dataset.question || `q${i + 1}`);
  return items.map((li, i) => {
    const old = before.find((q) => q.id === li.dataset.question);
    const labels = val(li, 'options')
      .value.split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
    const options = labels.map((label, k) => ({
      id: old?.options.find((o) => o.label === label)?.id ?? `o${k + 1}`,
      label,
    }));
    const branches = val(li, 'branches')
      .value.split('\n')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((line) => {
        const [label = '', to = ''] = line.split('=').map((s) => s.trim());
        const option = options.find((o) => o.label === label)?.id ?? label;
        return { option, goTo: to === '終了' ? '_end' : Number(to) ? (ids[Number(to) - 1] ?? Number(to)) : to };
      });
    return {
      id: ids[i],
      type: val(li, 'type').value,
      text: val(li, 'text').value,
      help: val(li, 'help').value,
      required: (val(li, 'required') as HTMLInputElement).checked,
      other: (val(li, 'other') as HTMLInputElement).checked,
      options,
      branches,
    };
  });
}

function setUpBuilder(form: HTMLFormElement): void {
  const s = readJson<Survey | null>('survey-data', null);
  const locked = form.dataset.locked === '1';
  const list = document.getElementById('sv-questions')!;
  const field = (k: string) => form.querySelector<HTMLInputElement>(`[data-field="${k}"]`)!;
  field('title').value = s?.title ?? '';
  (form.querySelector('[data-field="introduction"]') as HTMLTextAreaElement).value = s?.introduction ?? '';
  field('opensAt').value = s ? localInput(s.opensAt) : '';
  field('closesAt').value = s ? localInput(s.closesAt) : '';
  (form.querySelector('[data-field="status"]') as HTMLSelectElement).value = s?.status ?? 'draft';
  field('anonymous').checked = s?.anonymous ?? false;
  const before = s?.questions ?? [];
  for (const q of before) questionItem(list, q, locked, () => before);
  if (!before.length) questionItem(list, {}, false, () => []);
  document.getElementById('sv-add')?.addEventListener('click', () => {
    const li = questionItem(list, {}, false, () => before);
    li.querySelector<HTMLElement>('[data-q="text"]')?.focus();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const status = form.querySelector<HTMLElement>('.status')!;
    const body = {
      title: field('title').value,
      introduction: (form.querySelector('[data-field="introduction"]') as HTMLTextAreaElement).value,
      opensAt: field('opensAt').value,
      closesAt: field('closesAt').value,
      status: (form.querySelector('[data-field="status"]') as HTMLSelectElement).value,
      anonymous: field('anonymous').checked,
      questions: readQuestions(list, before),
    };
    const r = await api<Survey>(form.dataset.method ?? 'POST', form.dataset.url ?? '', body);
    if (!r.ok) {
      showErrors(form, r);
      say(status, errorText(r), true);
      return;
    }
    say(status, '保存しました');
    location.href = (form.dataset.next ?? '').replace('{surveyId}', encodeURIComponent(r.body.surveyId));
  });
}

const form = document.getElementById('survey-form') as HTMLFormElement | null;
if (form) setUpBuilder(form);

const deliver = document.getElementById('sv-deliver') as HTMLButtonElement | null;
deliver?.addEventListener('click', async () => {
  const status = document.getElementById('sv-deliver-status')!;
  deliver.disabled = true;
  const r = await api<{ id?: string; deliveryId?: string }>('POST', deliver.dataset.url ?? '', {});
  deliver.disabled = false;
  if (!r.ok) say(status, errorText(r), true);
  else
    say(status, '配信の下書きを作りました。「配信」の画面で対象 (全員・セグメント) と日時を確認して送信してください。');
});

const firstUse = document.getElementById('sv-first-use') as HTMLButtonElement | null;
firstUse?.addEventListener('click', async () => {
  const status = document.getElementById('sv-first-use-status')!;
  firstUse.disabled = true;
  const r = await api('PUT', firstUse.dataset.url ?? '', { surveyId: firstUse.dataset.survey ?? '' });
  firstUse.disabled = false;
  if (!r.ok) return say(status, errorText(r), true);
  location.reload();
});
