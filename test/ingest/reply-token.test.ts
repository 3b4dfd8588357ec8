import { describe, expect, it } from 'vitest';
import { replyTokenUsable, type WebhookEvent } from '../../ingest/index.ts';

const ev = (over: Partial<WebhookEvent>): WebhookEvent => ({
  type: 'message',
  mode: 'active',
  timestamp: 1_800_000_000_000,
  webhookEventId: 'x',
  deliveryContext: { isRedelivery: false },
  replyToken: 'tok',
  ...over,
});

describe('replyTokenUsable', () => {
  const now = 1_800_000_000_000;
  it('answers fresh active events only', () => {
    expect(replyTokenUsable(ev({}), now + 1000)).toBe(true);
    expect(replyTokenUsable(ev({}), now + 120_000)).toBe(false); // an old event (history, late redelivery)
    expect(replyTokenUsable(ev({ mode: 'standby' }), now)).toBe(false);
    expect(replyTokenUsable(ev({ replyToken: undefined }), now)).toBe(false);
    expect(replyTokenUsable(ev({ replyToken: '' }), now)).toBe(false);
  });
});
