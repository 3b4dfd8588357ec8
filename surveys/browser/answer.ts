/**
 * surveys/<id> (resident): the survey form. Questions are drawn from the survey (surveys/flow.ts, the
 * same branching the server applies): a question off the current path is hidden. While the survey is
 * not yet sent, every change is saved as a partial answer (so it is resumed, not restarted); once sent,
 * changes are saved with 「回答を変更する」 until the window closes.
 */
import { clearAlert, residentFetch, setStatus, showAlert } from '../../core/browser/liff.ts';
import { type Answers, type AnswerValue, checkAnswers, OTHER, optionsOf, pathOf, type Question } from '../flow.ts';
import type { ResidentSurvey } from '../schemas.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T | null;
const setText = (id: string, t: string) => {
  const n = $(id);
  if (n) n.textContent = t;
};
const when = new Intl.DateTimeFormat('ja-JP', {
  timeZone: 'Asia/Tokyo',
  year: 'numeric',
  month: 'long',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

/** The survey id from the address (/liff/<tenant>/surveys/<id>, or LIFF's liff.state). */
function surveyIdOf(): string {
  const direct = /\/surveys\/([0-9a-f-]{36})\/?$/.exec(location.pathname);
  if (direct) return direct[1]!;
  const state = new URLSearchParams(location.search).get('liff.state') ?? '';
  return /surveys\/([0-9a-f-]{36})/.exec(state)?.[1] ?? '';
}

let questions: Question[] = [];
let answers: Answers = {};
let sent = false;
let timer: number | undefined;
let surveyId = '';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text !== undefined) n.textContent = text;
  return n;
}

/** The answer to `q` as the form holds it now. */
function read(q: Question): AnswerValue {
  const box = $(`q-${q.id}`);
  if (!box) return { choices: [], text: '' };
  if (q.type === 'single' || q.type === 'multiple' || q.type === 'rating') {
    const choices = Array.from(box.querySelectorAll<HTMLInputElement>('input[data-option]:checked'), (i) => i.value);
    const other = box.querySelector<HTMLInputElement>('input[data-other-text]');
    return { choices, text: choices.includes(OTHER) ? (other?.value ?? '') : '' };
  }
  const input = box.querySelector<HTMLInputElement | HTMLTextAreaElement>('[data-text]');
  return { choices: [], text: input?.value ?? '' };
}

function readAll(): Answers {
  const out: Answers = {};
  for (const q of questions) out[q.id] = read(q);
  return out;
}

/** Shows the questions on the path, hides the others; その他's text box only when その他 is chosen. */
function applyPath(): void {
  answers = readAll();
  const onPath = new Set(pathOf(questions, answers).map((q) => q.id));
  questions.forEach((q, i) => {
    const box = $(`q-${q.id}`);
    if (box) box.hidden = !onPath.has(q.id);
    const other = box?.querySelector<HTMLElement>('[data-other-box]');
    if (other) other.hidden = !answers[q.id]?.choices.includes(OTHER);
    const num = box?.querySelector('[data-num]');
    if (num) num.textContent = `Q${[...onPath].indexOf(q.id) + 1 || i + 1}. `;
  });
}

function questionBox(q: Question, a: AnswerValue | undefined): HTMLElement {
  const box = el('div', { id: `q-${q.id}`, class: 's-q', 'data-question': q.id });
  const errId = `q-${q.id}-error`;
  const helpId = `q-${q.id}-help`;
  const described = [q.help ? helpId : '', errId].filter(Boolean).join(' ');
  const heading = (into: HTMLElement) => {
    into.append(el('span', { 'data-num': '' }), document.createTextNode(q.text));
    if (q.required) into.append(el('span', { class: 's-req' }, '必須'));
  };
  const help = q.help ? el('p', { id: helpId, class: 's-help' }, q.help) : undefined;
  if (q.type === 'single' || q.type === 'multiple' || q.type === 'rating') {
    // single choice and rating: a radio group, which may carry aria-required (a plain group may not)
    const radio = q.type !== 'multiple';
    const fs = el('fieldset', { 'aria-describedby': described, ...(radio ? { role: 'radiogroup' } : {}) });
    if (q.required && radio) fs.setAttribute('aria-required', 'true');
    const legend = el('legend');
    heading(legend);
    fs.append(legend);
    if (help) fs.append(help);
    const group = el('div', { class: q.type === 'rating' ? 's-rating' : 's-choices' });
    for (const o of optionsOf(q)) {
      const id = `q-${q.id}-o-${o.id}`;
      const label = el('label', { class: 's-choice', for: id });
      const input = el('input', {
        type: q.type === 'multiple' ? 'checkbox' : 'radio',
        name: `q-${q.id}`,
        id,
        value: o.id,
        'data-option': '',
      });
      if (a?.choices.includes(o.id)) input.checked = true;
      label.append(input, el('span', {}, q.type === 'rating' ? o.label : o.label));
      group.append(label);
    }
    fs.append(group);
    if (q.type === 'rating') fs.append(el('p', { class: 's-help' }, '1 = 低い ／ 5 = 高い'));
    if (q.other) {
      const ob = el('div', { 'data-other-box': '' });
      const oid = `q-${q.id}-other`;
      ob.append(el('label', { for: oid, class: 's-q-label' }, 'その他の内容'));
      const t = el('input', { type: 'text', id: oid, 'data-other-text': '', maxlength: '2000' });
      t.value = a?.choices.includes(OTHER) ? a.text : '';
      ob.append(t);
      fs.append(ob);
    }
    box.append(fs);
  } else {
    const id = `q-${q.id}-input`;
    const label = el('label', { for: id, class: 's-q-label' });
    heading(label);
    box.append(label);
    if (help) box.append(help);
    const input =
      q.type === 'text'
        ? el('textarea', { id, maxlength: '2000' })
        : el('input', {
            id,
            type: q.type === 'number' ? 'number' : 'date',
            ...(q.type === 'number' ? { inputmode: 'decimal' } : {}),
          });
    input.setAttribute('data-text', '');
    input.setAttribute('aria-describedby', described);
    if (q.required) input.setAttribute('aria-required', 'true');
    input.value = a?.text ?? '';
    box.append(input);
  }
  box.append(el('p', { id: errId, class: 's-q-error' }));
  return box;
}

function showProblems(problems: Record<string, string>): void {
  for (const q of questions) setText(`q-${q.id}-error`, problems[q.id] ?? '');
  const first = questions.find((q) => problems[q.id]);
  if (first) {
    showAlert('入力内容を確認してください。');
    $(`q-${first.id}`)?.querySelector<HTMLElement>('input, textarea')?.focus();
  } else clearAlert();
}

/** Saves the answers so far (not yet sent): a short pause after the last change. */
function saveSoon(): void {
  if (sent) return;
  window.clearTimeout(timer);
  timer = window.setTimeout(() => void savePartial(), 600);
}

async function savePartial(): Promise<void> {
  const { kept } = checkAnswers(questions, readAll(), false);
  const body = Object.fromEntries(kept.map(([q, v]) => [q.id, v]));
  const r = await residentFetch(`surveys/${surveyId}/answer`, {
    method: 'PUT',
    json: { answers: body, partial: true },
  });
  if (r.ok) setText('s-saved', '途中まで保存しました。あとで続きから回答できます。');
}

async function submit(e: Event): Promise<void> {
  e.preventDefault();
  window.clearTimeout(timer);
  answers = readAll();
  const { kept, problems } = checkAnswers(questions, answers, true);
  showProblems(problems);
  if (Object.keys(problems).length) return;
  const body = Object.fromEntries(kept.map(([q, v]) => [q.id, v]));
  const r = await residentFetch(`surveys/${surveyId}/answer`, {
    method: 'PUT',
    json: { answers: body, partial: false },
  });
  if (!r.ok) {
    const fields = (r.body.error?.details as { fields?: Array<{ field: string; message: string }> } | undefined)
      ?.fields;
    if (fields) showProblems(Object.fromEntries(fields.map((f) => [f.field, f.message])));
    return;
  }
  clearAlert();
  const wasSent = sent;
  sent = true;
  setText(
    's-state',
    wasSent ? '回答を変更しました。ご協力ありがとうございます。' : '回答を送信しました。ご協力ありがとうございます。',
  );
  setText('s-saved', '');
  setText('s-submit', '回答を変更する');
  $('s-state')?.focus();
}

async function main(): Promise<void> {
  surveyId = surveyIdOf();
  const root = $('s-root');
  const r = await residentFetch<ResidentSurvey>(`surveys/${surveyId}`);
  root?.removeAttribute('aria-busy');
  setStatus('');
  if (!r.ok) {
    setText('s-title', 'アンケートを表示できません');
    return;
  }
  const v = r.body;
  document.title = `${v.survey.title} — アンケート`;
  setText('s-title', v.survey.title);
  setText('s-intro', v.survey.introduction);
  setText(
    's-window',
    `受付期間: ${when.format(new Date(v.survey.opensAt))} 〜 ${when.format(new Date(v.survey.closesAt))}${v.survey.anonymous ? '（匿名のアンケートです）' : ''}`,
  );
  const state = $('s-state');
  state?.setAttribute('tabindex', '-1');
  if (v.phase !== 'open') {
    setText('s-state', v.phaseMessage ?? 'このアンケートには回答できません。');
    if (state) state.dataset.phase = v.phase;
    return;
  }
  questions = v.survey.questions;
  answers = v.answers;
  sent = v.answeredAt !== null && !v.partial;
  const list = $('s-questions');
  for (const q of questions) list?.append(questionBox(q, answers[q.id]));
  const form = $<HTMLFormElement>('s-form');
  if (form) form.hidden = false;
  if (sent) {
    setText('s-state', '回答済みです。受付期間中は回答を変更できます。');
    setText('s-submit', '回答を変更する');
  } else if (v.answeredAt) setText('s-state', '前回の続きから回答できます。');
  if (state) state.dataset.phase = sent ? 'answered' : v.answeredAt ? 'partial' : 'new';
  applyPath();
  form?.addEventListener('change', () => {
    applyPath();
    saveSoon();
  });
  form?.addEventListener('input', (ev) => {
    if ((ev.target as HTMLElement).matches('[data-text], [data-other-text]')) saveSoon();
  });
  form?.addEventListener('submit', (ev) => void submit(ev));
}

void main();
