/** faq (resident): 「解決しましたか？」 はい／いいえ on an answer, sent with the resident's ID token. */
import { residentFetch, setStatus } from '../../core/browser/liff.ts';

setStatus('');
const box = document.querySelector<HTMLElement>('.faq-feedback');
box?.addEventListener('click', async (e) => {
  const b = (e.target as HTMLElement).closest<HTMLButtonElement>('[data-resolved]');
  if (!b) return;
  const status = document.getElementById('faq-fb-status')!;
  for (const x of box.querySelectorAll('button')) x.disabled = true;
  const r = await residentFetch('faq/feedback', {
    method: 'POST',
    json: { nodeId: box.dataset.node, resolved: b.dataset.resolved === 'true' },
  });
  if (!r.ok) {
    for (const x of box.querySelectorAll('button')) x.disabled = false;
    return;
  }
  status.textContent =
    b.dataset.resolved === 'true'
      ? 'ご回答ありがとうございました。お役に立ててよかったです。'
      : 'ご回答ありがとうございました。お役に立てず申し訳ありません。ほかの質問もお探しください。';
});
