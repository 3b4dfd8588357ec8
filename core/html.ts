/**
 * The one way server-rendered pages build HTML: the `html` tagged template escapes every value it is
 * given unless the value is already `SafeHtml` (made by `html` itself, or by `trusted` for markup
 * written in the code). Forgetting to escape is therefore impossible rather than merely rare.
 *
 *   html`<td>${delivery.title}</td>`          → the title escaped
 *   html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>`   → arrays joined, each part escaped
 *   html`<a href="${safeUrl(link)}">…</a>`     → only http(s), mailto and same-site links
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Text escaped for an HTML text node or a quoted attribute value. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

/** Markup known to be safe: made by `html`, or by `trusted` from a constant in the code. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** What a template may hold: escaped unless SafeHtml; arrays joined; null, undefined and false vanish. */
export type HtmlValue = SafeHtml | string | number | bigint | boolean | null | undefined | readonly HtmlValue[];

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

/** Builds markup; every interpolated value is escaped unless it is SafeHtml. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Markup written in the code itself (a constant), passed through as it is. Never for stored text. */
export function trusted(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** A link target for href/src: http(s), mailto, or a path on this site; anything else (javascript:, data:) becomes '#'. */
export function safeUrl(url: string): string {
  const u = url.trim();
  if (/^(https?:|mailto:)/i.test(u)) return u;
  if (u.startsWith('/') && !u.startsWith('//') && !u.startsWith('/\\')) return u;
  if (u.startsWith('#') || u.startsWith('?')) return u;
  return '#';
}

/**
 * Data handed to a page's script: a JSON block the browser never executes (CSP allows it), with `<`
 * escaped so no stored text can close the element. Read with JSON.parse(el.textContent).
 */
export function jsonBlock(id: string, value: unknown): SafeHtml {
  const text = JSON.stringify(value ?? null)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return new SafeHtml(`<script type="application/json" id="${escapeHtml(id)}">${text}</script>`);
}

/** The full page as the string a route sends. */
export function toHtmlString(page: SafeHtml): string {
  return page.value;
}
