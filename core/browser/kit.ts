/**
 * The one browser kit every staff page's script imports (bundled by esbuild, checked by
 * tsconfig.browser.json with the DOM library): the API client with the session's CSRF token, building
 * elements (text is always text, never HTML), 和暦 dates, the page's data block, and showing the API's
 * Japanese errors field by field.
 */

import type { Vocabulary } from '../vocabulary.ts';

/** The API's answer: `status` 0 when the network failed. */
export interface ApiResult<T = unknown> {
  ok: boolean;
  status: number;
  body: T & { error?: ApiError };
}

export interface ApiError {
  code?: string;
  message?: string;
  details?: Array<{ field?: string; message: string }>;
}

/** What the server hands a page in `<script type="application/json" id="page-data">`. */
export interface PageData {
  tenants: Array<{ id: string; name: string; kind?: string }>;
  ownTenant: string | null;
  canManage: boolean;
  [key: string]: unknown;
}

const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

/** A JSON block the server wrote into the page (core/html.ts jsonBlock), or `fallback`. */
export function readJson<T>(id: string, fallback: T): T {
  const node = document.getElementById(id);
  return node?.textContent ? (JSON.parse(node.textContent) as T) : fallback;
}

export const data: PageData = readJson<PageData>('page-data', { tenants: [], ownTenant: null, canManage: false });

/** The built-in words of residents' registration (core/vocabulary.ts), handed to every page by the shell. */
export const vocabulary: Vocabulary = readJson<Vocabulary>('vocabulary', {
  itemLabels: {},
  genders: [],
  lifestyles: [],
  clickDimensions: {},
});
const names = new Map(data.tenants.map((t) => [t.id, t.name]));

/** JSON to and from the API → { ok, status, body }; a network failure becomes status 0. */
export async function api<T = Record<string, unknown>>(
  method: string,
  url: string,
  body?: unknown,
): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const init: RequestInit = { method, credentials: 'same-origin', headers };
  if (method !== 'GET') {
    headers['x-csrf-token'] = csrf;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
  }
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch {
    return { ok: false, status: 0, body: {} as ApiResult<T>['body'] };
  }
  const json = (await res.json().catch(() => ({}))) as ApiResult<T>['body'];
  return { ok: res.ok, status: res.status, body: json };
}

/** The API's Japanese message, or a plain one for what gave none. */
export function errorText(r: Pick<ApiResult, 'status' | 'body'>): string {
  const message = r.body?.error?.message;
  if (message) return message;
  if (r.status === 0) return 'サーバーに接続できませんでした。ネットワークを確認してください';
  if (r.status === 401) return 'サインインの有効期限が切れました。ページを読み込み直してサインインしてください';
  if (r.status === 403) return 'この操作を行う権限がありません';
  return `処理できませんでした (HTTP ${r.status})`;
}

type Attr = string | number | boolean | null | undefined | ((e: Event) => void);
type Child = Node | string | number | null | undefined | false;

/** el('td', { class: 'num' }, ['text', node]) — text is always text, never HTML; `on…` attributes are listeners. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, Attr> = {},
  children: readonly Child[] = [],
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = String(v);
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
}

const warekiDay = new Intl.DateTimeFormat('ja-JP-u-ca-japanese', {
  era: 'long',
  year: 'numeric',
  month: 'long',
  day: 'numeric',
  timeZone: 'UTC',
});
const warekiMon = new Intl.DateTimeFormat('ja-JP-u-ca-japanese', {
  era: 'long',
  year: 'numeric',
  month: 'long',
  timeZone: 'UTC',
});
const tokyoTime = new Intl.DateTimeFormat('ja-JP', {
  timeZone: 'Asia/Tokyo',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
});

/** 'YYYY-MM-DD' → 令和8年4月10日 */
export function wareki(day: string | null | undefined): string {
  return day ? warekiDay.format(new Date(`${day.slice(0, 10)}T00:00:00Z`)) : '';
}
/** 'YYYY-MM' → 令和8年4月 */
export function warekiMonth(month: string | null | undefined): string {
  return month ? warekiMon.format(new Date(`${month.slice(0, 7)}-01T00:00:00Z`)) : '';
}
/** 'YYYY-MM' → 2026年4月 */
export function seireki(month: string): string {
  return `${Number(month.slice(0, 4))}年${Number(month.slice(5, 7))}月`;
}
/** ISO instant → 2026/04/15 14:00 (Tokyo) */
export function dateTime(iso: string | null | undefined): string {
  return iso ? tokyoTime.format(new Date(iso)) : '';
}
/** ISO instant with +09:00 → the value of an <input type=datetime-local> */
export function localInput(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 16) : '';
}
/** Today in Tokyo, 'YYYY-MM-DD'. */
export function todayTokyo(): string {
  return new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 10);
}
/** A tenant's name from the page data, or its id. */
export function tenantName(id: string): string {
  return names.get(id) ?? id;
}

/** Clears the errors a form shows. */
export function clearErrors(form: HTMLElement): void {
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  for (const p of form.querySelectorAll<HTMLElement>('.field-error')) {
    p.textContent = '';
    p.hidden = true;
  }
  const summary = form.querySelector<HTMLElement>('.form-summary');
  if (summary) {
    summary.textContent = '';
    summary.hidden = true;
  }
}

/** The control for an API field path: exact ('attendees.0.name'), else the nearest parent ('agenda'). */
function controlFor(form: HTMLElement, path: string): { control: HTMLElement; rest: string[] } | null {
  const parts = path ? path.split('.') : [];
  for (let n = parts.length; n > 0; n--) {
    const c = form.querySelector<HTMLElement>(`[data-field="${parts.slice(0, n).join('.')}"]`);
    if (c) return { control: c, rest: parts.slice(n) };
  }
  return null;
}

function errorSlot(control: HTMLElement): HTMLElement | null {
  for (const id of (control.getAttribute('aria-describedby') ?? '').split(/\s+/)) {
    const p = id ? document.getElementById(id) : null;
    if (p?.classList.contains('field-error')) return p;
  }
  return control.closest('.field, fieldset, .row')?.querySelector<HTMLElement>('.field-error') ?? null;
}

function labelOf(control: Element): string {
  if (control.matches('fieldset')) return control.querySelector('legend')?.firstChild?.textContent?.trim() ?? '';
  if (control.id) {
    const l = document.querySelector(`label[for="${control.id}"]`);
    if (l) return l.firstChild?.textContent?.trim() ?? '';
  }
  return control.closest('label')?.firstChild?.textContent?.trim() ?? '';
}

/**
 * Shows an API error on the form: each detail next to its field (with aria-invalid), all of them in
 * the summary at the top (an alert), and focus on the first field in error.
 */
export function showErrors(form: HTMLElement, r: Pick<ApiResult, 'status' | 'body'>): void {
  clearErrors(form);
  const err: ApiError = r.body?.error ?? {};
  const details = Array.isArray(err.details) ? err.details : [];
  const summary = form.querySelector<HTMLElement>('.form-summary');
  const items: string[] = [];
  for (const d of details) {
    const found = controlFor(form, d.field ?? '');
    if (!found) {
      items.push(d.message);
      continue;
    }
    const prefix = found.rest.length && /^\d+$/.test(found.rest[0]!) ? `${Number(found.rest[0]) + 1}行目: ` : '';
    const message = prefix + d.message;
    found.control.setAttribute('aria-invalid', 'true');
    const slot = errorSlot(found.control);
    if (slot) {
      slot.textContent = slot.textContent ? `${slot.textContent} / ${message}` : message;
      slot.hidden = false;
    }
    let label = labelOf(found.control);
    const row = found.control.closest('.row');
    const set = row?.closest('fieldset');
    if (row && set && row.parentNode)
      label = `${labelOf(set)} ${Array.prototype.indexOf.call(row.parentNode.children, row) + 1}件目の${label}`;
    items.push((label ? `${label}: ` : '') + message);
  }
  const first = form.querySelector<HTMLElement>('[aria-invalid=true]'); // the first in the order a person reads
  if (summary) {
    // the API's own sentence, unless it is the generic one that lists field paths
    const head =
      !details.length || !/^入力内容に誤りがあります/.test(err.message ?? '')
        ? errorText(r)
        : `入力内容に誤りがあります (${details.length} 件)。`;
    summary.appendChild(el('strong', { text: head }));
    if (items.length)
      summary.appendChild(
        el(
          'ul',
          {},
          items.map((t) => el('li', { text: t })),
        ),
      );
    summary.hidden = false;
  }
  const target = first?.matches('fieldset') ? first.querySelector<HTMLElement>('input, select, textarea') : first;
  if (target) target.focus();
  else if (summary) {
    summary.tabIndex = -1;
    summary.focus();
  }
}

/**
 * A loader for a list: `box` is busy while it loads and emptied for the answer; a failure shows
 * 「<what>を読み込めませんでした」 with the API's words (in the node `failed` makes, a <p> by default).
 * Only the latest call's answer is drawn (filters change faster than answers come): → the body, or null.
 */
export function loader<T = Record<string, unknown>>(
  box: HTMLElement,
  what: string,
  failed?: (text: string) => Node,
): (url: string) => Promise<(T & { error?: ApiError }) | null> {
  let calls = 0;
  return async (url) => {
    const mine = ++calls;
    box.setAttribute('aria-busy', 'true');
    const r = await api<T>('GET', url);
    if (mine !== calls) return null;
    box.removeAttribute('aria-busy');
    box.textContent = '';
    if (r.ok) return r.body;
    const text = `${what}を読み込めませんでした: ${errorText(r)}`;
    box.appendChild(failed ? failed(text) : el('p', { class: 'error', role: 'alert', text }));
    return null;
  };
}

/** Writes a message to a status line (role=status); errors in their colour. */
export function say(node: HTMLElement, text: string, isError = false): void {
  node.textContent = text;
  node.classList.toggle('error-text', isError);
}

/** The filter form's values as a query string, kept in the address bar so the view can be shared. */
export function bindFilters(form: HTMLFormElement, onChange: (query: string) => void): () => string {
  const controls = () =>
    Array.from(form.elements).filter(
      (c): c is HTMLInputElement | HTMLSelectElement => 'name' in c && 'value' in c && !!(c as HTMLInputElement).name,
    );
  const params = new URLSearchParams(location.search);
  for (const c of controls()) if (params.has(c.name)) c.value = params.get(c.name)!;
  const query = () => {
    const q = new URLSearchParams();
    for (const c of controls()) if (c.value) q.set(c.name, c.value);
    return q.toString();
  };
  form.addEventListener('change', () => {
    const q = query();
    history.replaceState(null, '', location.pathname + (q ? `?${q}` : ''));
    onChange(q);
  });
  form.addEventListener('submit', (e) => e.preventDefault());
  return query;
}

/** Marks the current page in the header's navigation. */
export function markCurrentNav(): void {
  for (const a of document.querySelectorAll('header nav a'))
    if (a.getAttribute('href') === location.pathname) a.setAttribute('aria-current', 'page');
}
