/**
 * mileage/scan?c=<code> (resident): sends the event's code on opening and says what happened —
 * points added, already added for this venue, or the API's Japanese refusal (expired, another
 * municipality's code, not a code at all).
 */
import { clearAlert, residentFetch, setStatus } from '../../core/browser/liff.ts';
import type { AwardResult } from '../schemas.ts';
import { byId, points, progressText, setText } from './resident-kit.ts';

/** The code from the page's address (LIFF may hand the path's query on in liff.state). */
function codeOf(): string {
  const params = new URLSearchParams(location.search);
  const direct = params.get('c');
  if (direct) return direct;
  const state = params.get('liff.state');
  if (state) {
    const q = state.indexOf('?');
    if (q >= 0) return new URLSearchParams(state.slice(q + 1)).get('c') ?? '';
  }
  return '';
}

async function main(): Promise<void> {
  const box = byId('m-scan');
  const code = codeOf();
  if (!code) {
    box?.removeAttribute('aria-busy');
    setStatus('');
    setText('m-scan-result', 'QR コードの内容がありません。会場の QR コードを LINE のカメラで読み取ってください。');
    return;
  }
  const r = await residentFetch<AwardResult>('mileage/scan', { method: 'POST', json: { code } });
  box?.removeAttribute('aria-busy');
  setStatus('');
  const result = byId('m-scan-result');
  if (!r.ok) {
    // the API's Japanese reason is in the alert region (residentFetch put it there); the result says the outcome
    if (result) {
      result.textContent = 'ポイントは付与されませんでした';
      result.classList.add('m-refused');
      result.dataset.code = r.body.error?.code ?? 'error';
    }
    return;
  }
  clearAlert();
  const a = r.body;
  if (result) {
    result.textContent = a.awarded ? `${points(a.points)}獲得しました` : 'この会場のポイントは付与済みです';
    result.dataset.code = a.awarded ? 'awarded' : 'already';
  }
  setText('m-scan-balance', `現在 ${points(a.balance)}。${progressText(a.balance, a.goal)}`);
  if (a.cardIssued || a.balance >= a.goal) {
    const link = byId('m-scan-card');
    if (link) link.hidden = false;
    if (a.cardIssued)
      setText('m-scan-balance', `目標達成です！とこわか健康応援カードが発行されました (現在 ${points(a.balance)})`);
  }
}

void main();
