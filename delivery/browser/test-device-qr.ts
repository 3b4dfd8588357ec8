/**
 * 配信設定's 「QR コードで登録」: a one-time code for the tenant (delivery/test-device-pairing.ts),
 * shown until a staff member scans it with LINE and confirms on the LIFF page, or until it expires;
 * then the device list reloads.
 */
import { api, dateTime, el, errorText, say } from '../../core/browser/kit.ts';

interface Pairing {
  pairingId: string;
  status: 'waiting' | 'used' | 'expired';
  expiresAt: string;
  url?: string;
  qr?: string;
  device?: { userId: string; label: string };
}

const POLL_MS = 2000;

/** The button and the place the code appears; `reload` redraws the device list after a registration. */
export function qrPairing(base: string, status: HTMLElement, reload: () => Promise<void>): HTMLElement {
  const area = el('div', { class: 'qr-pairing', 'aria-live': 'polite' });
  const button = el('button', { type: 'button', class: 'secondary', text: 'QR コードで登録', id: 'test-device-qr' });
  let timer: number | undefined;
  const stop = () => {
    if (timer !== undefined) window.clearTimeout(timer);
    timer = undefined;
  };
  const poll = (id: string) => {
    timer = window.setTimeout(async () => {
      const r = await api<Pairing>('GET', `${base}/test-devices/pairings/${encodeURIComponent(id)}`);
      if (!r.ok) {
        stop();
        say(status, errorText(r), true);
        return;
      }
      if (r.body.status === 'waiting') return poll(id);
      stop();
      area.replaceChildren();
      if (r.body.status === 'expired') {
        say(status, 'QR コードの有効期限が切れました。もう一度「QR コードで登録」を押してください。', true);
        return;
      }
      await reload();
      say(status, `テスト端末「${r.body.device?.label || r.body.device?.userId || ''}」が QR コードで登録されました。`);
    }, POLL_MS);
  };
  button.addEventListener('click', async () => {
    stop();
    say(status, 'QR コードを作成しています…');
    const r = await api<Pairing>('POST', `${base}/test-devices/pairings`, {});
    if (!r.ok || !r.body.qr || !r.body.url) {
      say(status, errorText(r), true);
      return;
    }
    say(status, '');
    area.replaceChildren(
      el('img', {
        src: r.body.qr,
        width: 240,
        height: 240,
        alt: 'テスト端末登録用の QR コード',
        'data-url': r.body.url,
        id: 'test-device-qr-image',
      }),
      el('p', {
        text: `登録するスマートフォンの LINE でこの QR コードを読み取り、表示された画面で「登録する」を押してください。1 回だけ、${dateTime(r.body.expiresAt)} まで使えます。`,
      }),
    );
    poll(r.body.pairingId);
  });
  return el('div', { class: 'qr-box' }, [button, area]);
}
