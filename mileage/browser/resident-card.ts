/**
 * とこわか健康応援カード (resident): the card in its design with the municipality, card number, issue
 * date and validity; 「有効期限切れ」 when it has expired; before the goal, how many points are missing.
 * A clock with seconds and today's date runs under it, so shop staff can tell a live card from a
 * screenshot.
 */
import { liffConfig, residentFetch, setStatus } from '../../core/browser/liff.ts';
import { startLiveClock } from '../../core/browser/live-clock.ts';
import { textColourOn } from '../printables/contrast.ts';
import type { ResidentSummary } from '../schemas.ts';
import { byId, points, setText, tokyoDay, warekiDay } from './resident-kit.ts';
import { artworkUrl, type CardAnswer, DEFAULT_LOOK } from './resident-types.ts';

async function main(): Promise<void> {
  startLiveClock('m-today', 'm-now');
  const box = byId('m-card-box');
  const r = await residentFetch<CardAnswer>('mileage/card');
  if (!r.ok) {
    box?.removeAttribute('aria-busy');
    setStatus('');
    return;
  }
  const { card, design } = r.body;
  if (!card) {
    // how far the goal is: the summary has the balance (and makes a first visitor a participant)
    const s = await residentFetch<ResidentSummary>('mileage/summary');
    box?.removeAttribute('aria-busy');
    setStatus('');
    const none = byId('m-no-card');
    if (!none || !s.ok) return;
    none.hidden = false;
    none.textContent = s.body.programme
      ? `まだカードはありません (あと ${points(Math.max(0, s.body.goal - s.body.balance))})`
      : 'まだカードはありません (現在、受付中のマイレージ事業はありません)';
    return;
  }
  box?.removeAttribute('aria-busy');
  setStatus('');
  const section = byId('m-card');
  if (!section) return;
  const look = design ?? DEFAULT_LOOK;
  // CSSOM, not a style attribute (the page's CSP allows no inline style); text at AA contrast on the colour
  section.style.backgroundColor = look.colour;
  section.style.color = textColourOn(look.colour);
  setText('m-card-title', look.title);
  setText('m-card-note', look.note);
  const art = byId<HTMLImageElement>('m-card-art');
  if (art && design?.hasImage && design.status === 'published') {
    art.src = artworkUrl(liffConfig().tenantId, design.designId);
    art.hidden = false;
  }
  setText('m-card-no', card.cardNo);
  setText('m-card-issued', warekiDay(tokyoDay(card.issuedAt)));
  setText('m-card-valid', `${warekiDay(card.validUntil)}まで`);
  const expired = byId('m-card-expired');
  if (expired) expired.hidden = !card.expired;
  section.classList.toggle('m-card-is-expired', card.expired);
  section.hidden = false;
}

void main();
