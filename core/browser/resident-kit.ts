/** Small helpers every residents' page script shares (LIFF pages): elements, text, 和暦 dates. */

export function byId<T extends HTMLElement = HTMLElement>(id: string): T | null {
  return document.getElementById(id) as T | null;
}

/** Sets an element's text, if it is on the page. */
export function setText(id: string, text: string): void {
  const node = byId(id);
  if (node) node.textContent = text;
}

/** A new element with text (always text, never HTML) and a class. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

const wareki = new Intl.DateTimeFormat('ja-JP-u-ca-japanese', {
  era: 'long',
  year: 'numeric',
  month: 'long',
  day: 'numeric',
  timeZone: 'UTC',
});

/** 'YYYY-MM-DD' (or an ISO instant's first ten characters) → 令和8年5月10日 */
export function warekiDay(day: string): string {
  return wareki.format(new Date(`${day.slice(0, 10)}T00:00:00Z`));
}

/** The Tokyo day of an ISO instant, 'YYYY-MM-DD'. */
export function tokyoDay(iso: string): string {
  return new Date(Date.parse(iso) + 9 * 3_600_000).toISOString().slice(0, 10);
}
