/**
 * The LIFF page a test-device QR code opens (/liff/<tenant>/test-device/<token>): checks the code,
 * asks 「この端末をテスト端末として登録しますか」 with a name, and registers the signed-in LINE user.
 */
import { clearAlert, residentFetch, setStatus } from '../../core/browser/liff.ts';

const token = decodeURIComponent(location.pathname.split('/').pop() ?? '');
const path = `test-device/${encodeURIComponent(token)}`;
const root = document.getElementById('td-root');
const form = document.getElementById('td-form') as HTMLFormElement | null;
const label = document.getElementById('td-label') as HTMLInputElement | null;
const done = document.getElementById('td-done');
const expires = document.getElementById('td-expires');
const submit = document.getElementById('td-submit') as HTMLButtonElement | null;

const tokyo = new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', hour: '2-digit', minute: '2-digit' });

async function main(): Promise<void> {
  if (!root || !form || !label || !done || !submit) return;
  const r = await residentFetch<{ expiresAt: string; displayName: string | null }>(path);
  setStatus('');
  root.removeAttribute('aria-busy');
  if (!r.ok) return; // the Japanese reason is in the alert region
  label.value = r.body.displayName ?? '';
  if (expires) expires.textContent = `この QR コードは ${tokyo.format(new Date(r.body.expiresAt))} まで有効です。`;
  form.hidden = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    clearAlert();
    const saved = await residentFetch<{ label: string; friend: boolean }>(path, {
      method: 'POST',
      json: { label: label.value },
    });
    submit.disabled = false;
    if (!saved.ok) return;
    form.hidden = true;
    done.hidden = false;
    done.textContent = `テスト端末として登録しました${saved.body.label ? ` (${saved.body.label})` : ''}。${
      saved.body.friend ? '' : 'テスト送信を受け取るには、この公式アカウントを友だち追加してください。'
    }`;
  });
}

void main();
