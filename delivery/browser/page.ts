/**
 * What delivery's page scripts share: ids for labelled controls, numbers as people read them, a busy
 * button, and the events between the composer and the delivery list (separate scripts: the 市町 page
 * loads the list without the composer).
 */

import { el } from '../../core/browser/kit.ts';

let uid = 0;
/** A fresh element id: 'f-1', 'attr-2', … */
export const nextId = (prefix: string): string => `${prefix}-${++uid}`;

/** 12,345 */
export const nf = (n: number): string => Number(n).toLocaleString('ja-JP');

/** A button that waits for the API: disabled and aria-busy. */
export function busy(button: HTMLButtonElement, on: boolean): void {
  button.disabled = on;
  if (on) button.setAttribute('aria-busy', 'true');
  else button.removeAttribute('aria-busy');
}

/** Fired on document when a delivery was saved or sent: the list reloads. */
export const DELIVERIES_CHANGED = 'tayori:deliveries-changed';
/** Fired on document by the list's 編集 with `detail: { id }`: the composer opens that draft. */
export const EDIT_DELIVERY = 'tayori:edit-delivery';
/** Fired on document by the list's 複製 with `detail: { id }`: the composer starts a new delivery from it. */
export const COPY_DELIVERY = 'tayori:copy-delivery';

export const deliveriesChanged = (): void => void document.dispatchEvent(new CustomEvent(DELIVERIES_CHANGED));
export const editDelivery = (id: string): void =>
  void document.dispatchEvent(new CustomEvent<{ id: string }>(EDIT_DELIVERY, { detail: { id } }));
export const copyDelivery = (id: string): void =>
  void document.dispatchEvent(new CustomEvent<{ id: string }>(COPY_DELIVERY, { detail: { id } }));

/**
 * Shows a talk-screen preview the server rendered (delivery/preview.ts, through core/html.ts: every
 * text in it escaped there): links open in a new tab, an image that cannot load says so.
 */
export function showPreview(box: HTMLElement, serverHtml: string): void {
  box.innerHTML = serverHtml;
  for (const a of box.querySelectorAll('a')) a.setAttribute('target', '_blank');
  for (const img of box.querySelectorAll('img'))
    img.addEventListener('error', () =>
      img.replaceWith(el('span', { class: 'img-missing', text: `[${img.alt || '画像'}を表示できません]` })),
    );
}
