/**
 * Message objects a delivery may carry (text, image, video, sticker, flex — as LINE allows), checked
 * here first (per-field Japanese errors) and then by LINE's validate endpoint, whose details are
 * mapped back onto the same fields.
 */
import { z } from '../core/zod.ts';

const httpsUrl = (what: string) =>
  z
    .string({ error: `${what}を入力してください` })
    .trim()
    .min(1, `${what}を入力してください`)
    .max(2000, `${what}は 2000 文字以内です`)
    .refine((s) => /^https:\/\/[^\s]+$/.test(s), `${what}は https:// で始まる URL で指定してください`);

const textMessage = z.object({
  type: z.literal('text'),
  text: z
    .string({ error: '本文を入力してください' })
    .min(1, '本文を入力してください')
    .max(5000, '本文は 5000 文字以内です'),
});

const imageMessage = z.object({
  type: z.literal('image'),
  originalContentUrl: httpsUrl('画像の URL '),
  previewImageUrl: httpsUrl('プレビュー画像の URL '),
});

const videoMessage = z.object({
  type: z.literal('video'),
  originalContentUrl: httpsUrl('動画の URL '),
  previewImageUrl: httpsUrl('プレビュー画像の URL '),
  trackingId: z
    .string()
    .regex(/^[A-Za-z0-9!#$%&()*+,\-./:;<=>?@[\]^_{|}~]{1,100}$/, 'トラッキング ID は半角英数記号 100 文字以内です')
    .optional(),
});

const stickerMessage = z.object({
  type: z.literal('sticker'),
  packageId: z
    .string({ error: 'パッケージ ID を入力してください' })
    .regex(/^\d{1,20}$/, 'パッケージ ID は数字で指定してください'),
  stickerId: z
    .string({ error: 'スタンプ ID を入力してください' })
    .regex(/^\d{1,20}$/, 'スタンプ ID は数字で指定してください'),
});

const flexMessage = z.object({
  type: z.literal('flex'),
  altText: z
    .string({ error: '代替テキストを入力してください' })
    .trim()
    .min(1, '代替テキストを入力してください')
    .max(1500, '代替テキストは 1500 文字以内です'),
  contents: z
    .object(
      { type: z.enum(['bubble', 'carousel'], { message: 'contents.type は bubble か carousel です' }) },
      { error: 'Flex メッセージの内容 (contents) を指定してください' },
    )
    .loose(),
});

export const messageSchema = z.discriminatedUnion(
  'type',
  [textMessage, imageMessage, videoMessage, stickerMessage, flexMessage],
  {
    error: 'メッセージの種類は text・image・video・sticker・flex のいずれかです',
  },
);
export type DeliveryMessage = z.infer<typeof messageSchema>;

export const messagesSchema = z
  .array(messageSchema, { error: 'メッセージを指定してください' })
  .min(1, 'メッセージを 1 件以上指定してください')
  .max(5, 'メッセージは 5 件までです');

export interface FieldError {
  field: string;
  message: string;
}

/** "messages[0].text" (LINE) → "messages.0.text" (our field paths). */
export function lineFieldPath(property: string, prefix = ''): string {
  const p = property.replace(/\[(\d+)\]/g, '.$1').replace(/^\./, '');
  return prefix && !p.startsWith(prefix) ? `${prefix}.${p}` : p;
}

/** LINE's English detail → a Japanese message (known shapes; otherwise quoted as is). */
export function japaneseLineMessage(message: string): string {
  let m: RegExpExecArray | null;
  if ((m = /^Length must be between (\d+) and (\d+)$/.exec(message))) return `${m[1]}〜${m[2]} 文字で入力してください`;
  if ((m = /^Size must be between (\d+) and (\d+)$/.exec(message))) return `${m[1]}〜${m[2]} 件で指定してください`;
  if (/must be specified|may not be (null|empty)|required/i.test(message)) return '入力してください';
  if ((m = /^must be one of: (.*)$/.exec(message))) return `次のいずれかを指定してください: ${m[1]}`;
  if ((m = /must be greater than or equal to (\S+)/.exec(message))) return `${m[1]} 以上で指定してください`;
  if ((m = /must be less than or equal to (\S+)/.exec(message))) return `${m[1]} 以下で指定してください`;
  if (/must be a valid (uri|url)|invalid (uri|url)|https/i.test(message))
    return 'URL の形式が正しくありません (https:// で始まる URL)';
  if ((m = /^must be (\w+)$/.exec(message))) return `形式が正しくありません (${m[1]} で指定してください)`;
  return `LINE の検証でエラーになりました: ${message}`;
}
