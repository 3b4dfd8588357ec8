/**
 * What delivery's page scripts share: ids for labelled controls, numbers as people read them, a busy
 * button, and the events between the composer and the delivery list (separate scripts: the 市町 page
 * loads the list without the composer).
 */

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
