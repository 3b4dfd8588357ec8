/**
 * パパ・ママ応援ショップ優待カード (resident): the card image, the holder's registered data, the shop
 * code (its barcode and as text) and a running clock; for a household no longer eligible, why the card is not shown.
 */
import { residentFetch, setStatus } from '../../core/browser/liff.ts';
import { startLiveClock } from '../../core/browser/live-clock.ts';
import type { CardAnswer } from '../resident-api.ts';
import { byId, setText, warekiDay } from '../../core/browser/resident-kit.ts';

async function main(): Promise<void> {
  startLiveClock('c-today', 'c-now');
  const box = byId('c-box');
  const r = await residentFetch<CardAnswer>('cards/card');
  box?.removeAttribute('aria-busy');
  setStatus('');
  if (!r.ok) return;
  const a = r.body;
  if (!a.registered || !a.household) {
    const u = byId('c-unregistered');
    if (u) u.hidden = false;
    return;
  }
  const h = a.household;
  setText('c-holder-name', h.holderName);
  setText('c-relationship', h.relationship);
  setText('c-kind', h.kindLabel);
  const list = byId('c-children');
  if (list) {
    list.replaceChildren(
      ...h.children.map((c, i) => {
        const li = document.createElement('li');
        li.textContent = `第${i + 1}子 ${c.name} (${warekiDay(c.birthDate)}生)`;
        return li;
      }),
    );
  }
  const holder = byId('c-holder');
  if (holder) holder.hidden = false;
  if (a.eligibility && !a.eligibility.eligible) {
    setText('c-reason', a.eligibility.reason);
    const n = byId('c-ineligible');
    if (n) n.hidden = false;
    return;
  }
  const card = byId('c-card');
  if (card) card.hidden = false;
  if (a.shopCode) {
    setText('c-shop-code', a.shopCode);
    // the barcode (an SVG the suite draws): a changed code is a new URL, not a cached old bar pattern
    const bars = byId<HTMLImageElement>('c-barcode');
    if (bars) {
      bars.alt = `ショップコード ${a.shopCode} のバーコード`;
      bars.src = `${bars.dataset.src}?v=${encodeURIComponent(a.shopCode)}`;
    }
    const s = byId('c-shop');
    if (s) s.hidden = false;
  }
  if (a.hasImage) {
    const img = await residentFetch<{ type: string; data: string }>('cards/card-image');
    const el = byId<HTMLImageElement>('c-image');
    if (img.ok && el) {
      el.src = `data:${img.body.type};base64,${img.body.data}`;
      el.hidden = false;
    }
  }
}

void main();
