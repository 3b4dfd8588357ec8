/**
 * The parts 配信設定's sections are made of: a section card with its status line, a named row (edit,
 * 廃止する / 使用に戻す, ↑ ↓), a one-field add form, and changes through the API said in the status line.
 */
import { type ApiResult, api, el, errorText, say } from '../../core/browser/kit.ts';
import { nextId } from './page.ts';

export interface Section {
  box: HTMLElement;
  status: HTMLElement;
}

/** A section card appended to `root`: its heading, its lead, its body and its status line. */
export function section(root: HTMLElement, id: string, title: string, lead: string): Section {
  const box = el('div', { class: 'section-body' });
  const status = el('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  root.appendChild(
    el('section', { class: 'card settings', id, 'aria-labelledby': `${id}-h` }, [
      el('h2', { id: `${id}-h`, text: title }),
      el('p', { class: 'note', text: lead }),
      box,
      status,
    ]),
  );
  return { box, status };
}

/** By sort number, then id (the order residents see in their quick replies). */
export const bySort = (a: { sort: number; id: string }, b: { sort: number; id: string }): number =>
  a.sort - b.sort || (a.id < b.id ? -1 : 1);

/** The API's complaint in words: its field messages, or its sentence. */
const problem = (r: Pick<ApiResult, 'status' | 'body'>) => {
  const details = r.body.error?.details;
  return details?.length ? details.map((d) => d.message).join(' ') : errorText(r);
};

/** A call that changes something: its outcome said in `status`, then `after` (a reload) on success. */
export async function change(
  status: HTMLElement,
  method: string,
  url: string,
  body: unknown,
  done: string,
  after?: () => Promise<unknown>,
): Promise<boolean> {
  say(status, '保存しています…');
  const r = await api(method, url, body);
  if (!r.ok) {
    say(status, problem(r), true);
    return false;
  }
  await after?.();
  say(status, done); // said once the section shows the change
  return true;
}

/**
 * Moves list[i] one place up (-1) or down (+1) among its siblings: the order residents see in
 * their quick replies. Every sibling whose place changed gets its new sort number.
 */
export async function reorder<T extends { sort: number }>(
  status: HTMLElement,
  list: T[],
  i: number,
  dir: number,
  urlOf: (x: T) => string,
  done: string,
  after: () => Promise<unknown>,
): Promise<void> {
  const next = list.slice();
  const j = i + dir;
  next[i] = list[j]!;
  next[j] = list[i]!;
  say(status, '保存しています…');
  let ok = true;
  for (const [k, x] of next.entries()) {
    if (x.sort === k) continue;
    const r = await api('PATCH', urlOf(x), { sort: k });
    if (!r.ok) {
      say(status, problem(r), true);
      ok = false;
      break;
    }
  }
  await after();
  if (ok) say(status, done);
}

/** GETs `url`, empties the sections and draws the answer; a failure is said in the first section. */
export async function reload<T>(
  url: string,
  sections: Section[],
  what: string,
  draw: (body: T) => void,
): Promise<void> {
  const r = await api<T>('GET', url);
  for (const x of sections) x.box.textContent = '';
  if (!r.ok) {
    say(sections[0]!.status, `${what}を読み込めませんでした: ${errorText(r)}`, true);
    return;
  }
  draw(r.body);
}

export interface NameRowOptions {
  canEdit: boolean;
  name: string;
  retired: boolean;
  /** Names the thing for screen readers and messages: 地域「久居」. */
  what: string;
  indent?: boolean;
  first?: boolean;
  last?: boolean;
  onMove?: (dir: number) => void;
  onSave: (name: string) => void;
  onToggle: (retired: boolean) => void;
}

/** One named thing (an area, a category, an item, an option): its name to edit and save, and 廃止する / 使用に戻す. */
export function nameRow(opts: NameRowOptions): HTMLElement {
  const { canEdit, what, retired } = opts;
  const id = nextId('name');
  const input = el('input', { id, value: opts.name, maxlength: 20, 'data-role': 'name', disabled: !canEdit });
  const save = el('button', {
    type: 'button',
    class: 'secondary small',
    text: '名前を保存',
    'aria-label': `${what}の名前を保存`,
    disabled: !canEdit,
    onclick: () => {
      if (input.value.trim() === opts.name) return;
      opts.onSave(input.value);
    },
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      save.click();
    }
  });
  const move = (dir: number, text: string, label: string) =>
    el('button', {
      type: 'button',
      class: 'secondary small',
      text,
      'aria-label': what + label,
      disabled: !canEdit || !opts.onMove || (dir < 0 ? opts.first : opts.last),
      onclick: () => opts.onMove?.(dir),
    });
  return el('div', { class: `name-row${retired ? ' retired' : ''}${opts.indent ? ' indent' : ''}` }, [
    el('label', { for: id, class: 'sr', text: `${what}の名前` }),
    input,
    save,
    el('button', {
      type: 'button',
      class: `${retired ? 'secondary' : 'danger'} small`,
      text: retired ? '使用に戻す' : '廃止する',
      'aria-label': what + (retired ? 'を使用に戻す' : 'を廃止する'),
      disabled: !canEdit,
      onclick: () => opts.onToggle(!retired),
    }),
    opts.onMove ? move(-1, '↑', 'を上へ') : null,
    opts.onMove ? move(1, '↓', 'を下へ') : null,
    retired ? el('span', { class: 'badge', text: '廃止' }) : null,
  ]);
}

/** A one-field form that adds something (Enter or the button); null without the right to edit. */
export function addRow(
  canEdit: boolean,
  label: string,
  placeholder: string,
  onAdd: (value: string) => Promise<boolean>,
): HTMLFormElement | null {
  if (!canEdit) return null;
  const id = nextId('add');
  const input = el('input', { id, maxlength: 20, placeholder, 'data-role': 'new' });
  const form = el('form', { class: 'add-row' }, [
    el('label', { for: id, text: label }),
    ' ',
    input,
    ' ',
    el('button', { type: 'submit', class: 'small', text: '追加' }),
  ]);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (await onAdd(input.value)) input.value = '';
  });
  return form;
}
