/** The cards' staff page: image uploads (as base64 JSON), publishing, the shop code, a push to ticked holders. */
import { api, errorText } from '../../core/browser/kit.ts';

function status(form: HTMLElement, text: string): void {
  const s = form.querySelector<HTMLElement>('.status');
  if (s) s.textContent = text;
}

function base64(buf: ArrayBuffer): string {
  let s = '';
  const bytes = new Uint8Array(buf);
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

for (const form of document.querySelectorAll<HTMLFormElement>('.image-form')) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const file = form.querySelector<HTMLInputElement>('input[type=file]')?.files?.[0];
    if (!file) return status(form, '画像を選んでください');
    const r = await api('PUT', form.dataset.url!, { type: file.type, data: base64(await file.arrayBuffer()) });
    if (!r.ok) return status(form, errorText(r));
    location.reload();
  });
  form.querySelector<HTMLButtonElement>('[data-publish]')?.addEventListener('click', async (ev) => {
    const url = (ev.currentTarget as HTMLButtonElement).dataset.publish!;
    if (!confirm('下書きの画像を公開して、住民に表示しますか。')) return;
    const r = await api('POST', url);
    if (!r.ok) return status(form, errorText(r));
    location.reload();
  });
}

const shop = document.getElementById('shop-code-form') as HTMLFormElement | null;
shop?.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const value = (shop.elements.namedItem('shopCode') as HTMLInputElement).value;
  const r = await api('PUT', shop.dataset.url!, { shopCode: value });
  status(shop, r.ok ? '保存しました' : errorText(r));
});

const push = document.getElementById('push-form') as HTMLFormElement | null;
push?.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const userIds = [...push.querySelectorAll<HTMLInputElement>('input[name=userIds]:checked')].map((i) => i.value);
  const text = (push.elements.namedItem('text') as HTMLTextAreaElement).value;
  if (!userIds.length) return status(push, '送信先を選んでください');
  if (!confirm(`${userIds.length} 人にメッセージを送信しますか。`)) return;
  const r = await api<{ recipients: number; audienceLabel: string }>('POST', push.dataset.url!, { userIds, text });
  status(
    push,
    r.ok
      ? `${r.body.recipients} 人への配信を受け付けました (配信一覧に「${r.body.audienceLabel}」として載ります。ブロック中の方には届きません)`
      : errorText(r),
  );
});
