/** Webhook event objects in LINE's shape (../shared/line-openapi/webhook.yml). */
import { messageId, token32, ulid } from './ids.ts';
import { hash2 } from './prng.ts';

export interface WebhookEvent {
  type: string;
  mode: 'active';
  timestamp: number;
  source: { type: 'user'; userId: string };
  webhookEventId: string;
  deliveryContext: { isRedelivery: boolean };
  replyToken?: string;
  [k: string]: unknown;
}

export type ResidentAction =
  | { type: 'follow'; isUnblocked: boolean }
  | { type: 'unfollow' }
  | { type: 'postback'; data: string; params?: Record<string, string> }
  | { type: 'message'; text: string }
  | { type: 'videoPlayComplete'; trackingId: string };

/** Makes event objects for one channel; ids are deterministic per (channel key, sequence). */
export class EventFactory {
  private seq = 0;

  constructor(private readonly key: number) {}

  make(action: ResidentAction, userId: string, timestamp: number): WebhookEvent {
    const n = ++this.seq;
    const k = this.key;
    const ev: WebhookEvent = {
      type: action.type,
      mode: 'active',
      timestamp,
      source: { type: 'user', userId },
      webhookEventId: ulid(timestamp, k, n),
      deliveryContext: { isRedelivery: false },
    };
    if (action.type !== 'unfollow') ev.replyToken = token32(hash2(k, 0x2e91), n);
    switch (action.type) {
      case 'follow':
        ev.follow = { isUnblocked: action.isUnblocked };
        break;
      case 'postback':
        ev.postback = action.params ? { data: action.data, params: action.params } : { data: action.data };
        break;
      case 'message':
        ev.message = {
          id: messageId(k, n),
          type: 'text',
          text: action.text,
          quoteToken: token32(hash2(k, 0x9407), n) + token32(hash2(k, 0x9408), n),
        };
        break;
      case 'videoPlayComplete':
        ev.videoPlayComplete = { trackingId: action.trackingId };
        break;
      default:
        break;
    }
    return ev;
  }
}
