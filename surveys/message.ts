/**
 * The 「アンケートに回答する」 message: a Flex bubble with the survey's title, its introduction (cut
 * short) and the answer window, and a button that opens the survey's LIFF form (ResidentShell.liffUrl).
 * A second button starts the survey in the talk (postback surveys:start:<id>, surveys/chat.ts).
 * A delivery carries it like any message (surveys/routes.ts makes the draft through delivery's service).
 */
import type { messagingApi } from '@line/bot-sdk';
import type { Survey } from './schemas.ts';

const until = new Intl.DateTimeFormat('ja-JP', {
  timeZone: 'Asia/Tokyo',
  month: 'long',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

export function surveyMessage(
  s: Pick<Survey, 'surveyId' | 'title' | 'introduction' | 'closesAt' | 'anonymous'>,
  url: string,
): messagingApi.FlexMessage {
  const intro = s.introduction.length > 120 ? `${s.introduction.slice(0, 119)}…` : s.introduction;
  return {
    type: 'flex',
    altText: `アンケートのお願い: ${s.title}`.slice(0, 400),
    contents: {
      type: 'bubble',
      body: {
        type: 'box',
        layout: 'vertical',
        spacing: 'sm',
        contents: [
          { type: 'text', text: 'アンケートのお願い', size: 'sm', color: '#1d6fa5', weight: 'bold' },
          { type: 'text', text: s.title, size: 'lg', weight: 'bold', wrap: true },
          ...(intro ? [{ type: 'text', text: intro, size: 'sm', wrap: true, color: '#333333' } as const] : []),
          {
            type: 'text',
            text: `回答期限: ${until.format(new Date(s.closesAt))}${s.anonymous ? '（匿名で回答できます）' : ''}`,
            size: 'xs',
            color: '#555555',
            wrap: true,
            margin: 'md',
          },
        ],
      },
      footer: {
        type: 'box',
        layout: 'vertical',
        spacing: 'sm',
        contents: [
          {
            type: 'button',
            style: 'primary',
            color: '#1d6fa5',
            action: { type: 'uri', label: 'アンケートに回答する', uri: url },
          },
          // choice questions can be answered in the talk too (surveys/chat.ts)
          {
            type: 'button',
            style: 'secondary',
            action: {
              type: 'postback',
              label: 'トークで回答する',
              data: `surveys:start:${s.surveyId}`,
              displayText: 'トークで回答する',
            },
          },
        ],
      },
    },
  };
}
