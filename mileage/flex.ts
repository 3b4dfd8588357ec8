/**
 * The Flex messages residents get: the card on reaching the goal (push), and the points summary
 * 「マイレージ」 replies with (points, a progress bar to the goal, recent activities, period end, a
 * button to the LIFF mileage page). Plain objects in LINE's Flex shape (messagingApi types).
 */
import type { messagingApi } from '@line/bot-sdk';
import type { Card, Design, LedgerEntry, Programme } from './schemas.ts';

const jaDate = (day: string) => {
  const [y, m, d] = day.split('-').map(Number);
  return `${y}年${m}月${d}日`;
};

type FlexBox = messagingApi.FlexBox;
type FlexComponent = messagingApi.FlexComponent;

const textLine = (text: string, extra: Partial<messagingApi.FlexText> = {}): messagingApi.FlexText => ({
  type: 'text',
  text,
  wrap: true,
  ...extra,
});

const button = (label: string, uri: string): messagingApi.FlexButton => ({
  type: 'button',
  style: 'primary',
  action: { type: 'uri', label: label.slice(0, 40), uri },
});

export function cardMessage(o: {
  tenantName: string;
  programme: Programme;
  card: Card;
  design?: Design;
  url?: string;
  /** The resident's card as an image (https, 856×540), shown above the text. */
  imageUrl?: string;
}): messagingApi.FlexMessage {
  const colour = o.design?.colour ?? '#1d6fa5';
  const title = o.design?.title ?? '三重とこわか健康応援カード';
  const body: FlexComponent[] = [
    textLine('目標達成おめでとうございます！', { weight: 'bold', size: 'md' }),
    textLine(`${o.programme.name}の目標 ${o.programme.goalPoints} ポイントに到達しました。`, { size: 'sm' }),
    { type: 'separator', margin: 'md' },
    textLine(`${o.tenantName}`, { size: 'sm', margin: 'md', color: '#555555' }),
    textLine(`カード番号 ${o.card.cardNo}`, { size: 'md', weight: 'bold' }),
    textLine(`発行日 ${jaDate(o.card.issuedAt.slice(0, 10))}`, { size: 'sm' }),
    textLine(`有効期限 ${jaDate(o.card.validUntil)}まで`, { size: 'sm' }),
    ...(o.design?.note ? [textLine(o.design.note, { size: 'xs', color: '#555555', margin: 'md' })] : []),
  ];
  return {
    type: 'flex',
    altText: `${title}が発行されました (カード番号 ${o.card.cardNo}、${jaDate(o.card.validUntil)}まで有効)`,
    contents: {
      type: 'bubble',
      header: {
        type: 'box',
        layout: 'vertical',
        backgroundColor: colour,
        contents: [textLine(title, { weight: 'bold', color: '#ffffff', size: 'lg' })],
      },
      ...(o.imageUrl
        ? {
            hero: {
              type: 'image',
              url: o.imageUrl,
              size: 'full',
              aspectRatio: '856:540',
              aspectMode: 'fit',
              ...(o.url ? { action: { type: 'uri', label: 'カードを表示する', uri: o.url } } : {}),
            } as messagingApi.FlexImage,
          }
        : {}),
      body: { type: 'box', layout: 'vertical', spacing: 'sm', contents: body },
      ...(o.url
        ? { footer: { type: 'box', layout: 'vertical', contents: [button('カードを表示する', o.url)] } as FlexBox }
        : {}),
    },
  };
}

/** The progress bar: a filled box of the goal's share (0–100 %) inside a grey one. */
function progressBar(progress: number): FlexBox {
  const pct = Math.max(0, Math.min(100, Math.round(progress * 100)));
  return {
    type: 'box',
    layout: 'vertical',
    backgroundColor: '#dddddd',
    height: '12px',
    cornerRadius: '6px',
    margin: 'md',
    contents: [
      {
        type: 'box',
        layout: 'vertical',
        backgroundColor: '#1d6fa5',
        width: `${Math.max(pct, 1)}%`,
        height: '12px',
        cornerRadius: '6px',
        contents: [{ type: 'filler' }],
      },
    ],
  };
}

export function summaryMessage(o: {
  programme: Programme;
  balance: number;
  recent: LedgerEntry[];
  memberNo?: string;
  card: Card | null;
  url?: string;
}): messagingApi.FlexMessage {
  const goal = o.programme.goalPoints;
  const left = Math.max(0, goal - o.balance);
  const recent = o.recent.slice(0, 3);
  const body: FlexComponent[] = [
    textLine(o.programme.name, { size: 'sm', color: '#555555' }),
    textLine(`${o.balance} ポイント`, { size: 'xxl', weight: 'bold' }),
    textLine(left > 0 ? `目標 ${goal} ポイントまであと ${left} ポイント` : `目標 ${goal} ポイントを達成しました`, {
      size: 'sm',
    }),
    progressBar(goal > 0 ? o.balance / goal : 0),
    textLine(`ポイント対象期間: ${jaDate(o.programme.endsOn)}まで`, { size: 'xs', color: '#555555', margin: 'md' }),
    ...(recent.length
      ? [
          { type: 'separator', margin: 'md' } as FlexComponent,
          textLine('最近の記録', { size: 'sm', weight: 'bold', margin: 'md' }),
          ...recent.map((e) =>
            textLine(
              `${e.activityOn.slice(5).replace('-', '/')} ${e.activityName || e.kindLabel} ${e.points > 0 ? '+' : ''}${e.points}`,
              {
                size: 'sm',
              },
            ),
          ),
        ]
      : []),
    ...(o.card
      ? [
          textLine(
            o.card.expired
              ? `応援カード (${o.card.cardNo}) の有効期限が切れています`
              : `応援カード ${o.card.cardNo} (${jaDate(o.card.validUntil)}まで有効)`,
            { size: 'sm', margin: 'md', weight: 'bold' },
          ),
        ]
      : []),
    ...(o.memberNo ? [textLine(`会員番号 ${o.memberNo}`, { size: 'xs', color: '#555555', margin: 'md' })] : []),
  ];
  return {
    type: 'flex',
    altText: `マイレージ: ${o.balance} ポイント (目標 ${goal} ポイント)`,
    contents: {
      type: 'bubble',
      body: { type: 'box', layout: 'vertical', spacing: 'sm', contents: body },
      ...(o.url
        ? { footer: { type: 'box', layout: 'vertical', contents: [button('詳しく見る', o.url)] } as FlexBox }
        : {}),
    },
  };
}
