/** Preview: the messages as a resident would see them in the LINE chat (HTML fragment). */
import type { DeliveryMessage } from './messages.ts';

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function flexText(node: unknown, out: string[]): void {
  if (!node || typeof node !== 'object') return;
  const n = node as Record<string, unknown>;
  if (n.type === 'text' && typeof n.text === 'string') out.push(n.text);
  for (const v of Object.values(n)) {
    if (Array.isArray(v)) v.forEach((x) => flexText(x, out));
    else if (v && typeof v === 'object') flexText(v, out);
  }
}

export function previewBubble(m: DeliveryMessage): { type: string; html: string; notificationText: string } {
  switch (m.type) {
    case 'text': {
      const linked = esc(m.text)
        .replace(/https?:\/\/[^\s<]+/g, (u) => `<a href="${u}" rel="noopener">${u}</a>`)
        .replace(/\n/g, '<br>');
      return { type: 'text', html: `<div class="bubble text">${linked}</div>`, notificationText: m.text.slice(0, 100) };
    }
    case 'image':
      return {
        type: 'image',
        html: `<div class="bubble image"><img src="${esc(m.previewImageUrl)}" alt="画像"></div>`,
        notificationText: '画像を送信しました',
      };
    case 'video':
      return {
        type: 'video',
        html: `<div class="bubble video"><img src="${esc(m.previewImageUrl)}" alt="動画"><span class="play">▶</span></div>`,
        notificationText: '動画を送信しました',
      };
    case 'sticker':
      return {
        type: 'sticker',
        html: `<div class="bubble sticker"><img src="https://stickershop.line-scdn.net/stickershop/v1/sticker/${esc(m.stickerId)}/android/sticker.png" alt="スタンプ"></div>`,
        notificationText: 'スタンプを送信しました',
      };
    case 'flex': {
      const texts: string[] = [];
      flexText(m.contents, texts);
      return {
        type: 'flex',
        html: `<div class="bubble flex">${texts.map((t) => `<p>${esc(t)}</p>`).join('')}</div>`,
        notificationText: m.altText,
      };
    }
  }
}

export function renderPreview(
  accountName: string,
  messages: DeliveryMessage[],
): { html: string; bubbles: ReturnType<typeof previewBubble>[]; notificationText: string } {
  const bubbles = messages.map(previewBubble);
  const html =
    `<div class="line-preview"><div class="account">${esc(accountName)}</div>` +
    bubbles.map((b) => `<div class="row">${b.html}</div>`).join('') +
    '</div>';
  return { html, bubbles, notificationText: bubbles[0]?.notificationText ?? '' };
}
