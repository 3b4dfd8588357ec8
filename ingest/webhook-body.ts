/**
 * LINE's webhook body (../shared/line-openapi/webhook.yml, CallbackRequest): checked by hand on the
 * hot path, and turned into raw_webhook_events rows that keep no message content.
 */

import { tokyoToday } from '../core/time.ts';

export interface WebhookEvent {
  type: string;
  timestamp: number;
  mode: string;
  webhookEventId: string;
  deliveryContext: { isRedelivery: boolean };
  source?: { type?: string; userId?: string; groupId?: string; roomId?: string };
  replyToken?: string;
  follow?: { isUnblocked?: boolean };
  postback?: { data?: string };
  message?: { type?: string; id?: string };
  [k: string]: unknown;
}

export interface WebhookBody {
  destination: string;
  events: WebhookEvent[];
}

export interface RawEventRow extends Record<string, unknown> {
  tenant_id: string;
  day: string;
  type: string;
  webhook_event_id: string;
  ts: number;
  mode: string;
  source_type: string;
  user_id: string;
  group_id: string;
  is_redelivery: number;
  is_unblocked: number;
  postback_data: string;
  message_type: string;
  received_at: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, max = 1000): string => (typeof v === 'string' ? v.slice(0, max) : '');

/** Returns the reason the body is not LINE's shape, or undefined when it is. */
export function checkWebhookBody(body: unknown): string | undefined {
  if (!isObj(body)) return '本文が JSON オブジェクトではありません';
  if (typeof body.destination !== 'string' || body.destination === '') return 'destination がありません';
  if (!Array.isArray(body.events)) return 'events が配列ではありません';
  for (let i = 0; i < body.events.length; i++) {
    const e: unknown = body.events[i];
    if (!isObj(e)) return `events[${i}] がオブジェクトではありません`;
    if (typeof e.type !== 'string' || e.type === '' || e.type.length > 64) return `events[${i}].type がありません`;
    if (typeof e.timestamp !== 'number' || !Number.isSafeInteger(e.timestamp))
      return `events[${i}].timestamp がミリ秒の整数ではありません`;
    if (e.timestamp < MIN_TIMESTAMP || e.timestamp > Date.now() + MAX_FUTURE_MS)
      return `events[${i}].timestamp が有効な日時ではありません`;
    if (typeof e.mode !== 'string') return `events[${i}].mode がありません`;
    if (typeof e.webhookEventId !== 'string' || e.webhookEventId === '' || e.webhookEventId.length > 64)
      return `events[${i}].webhookEventId がありません`;
    if (!isObj(e.deliveryContext) || typeof e.deliveryContext.isRedelivery !== 'boolean')
      return `events[${i}].deliveryContext.isRedelivery がありません`;
    if (e.source !== undefined) {
      if (!isObj(e.source)) return `events[${i}].source がオブジェクトではありません`;
      for (const k of ['type', 'userId', 'groupId', 'roomId'] as const)
        if (e.source[k] !== undefined && (typeof e.source[k] !== 'string' || e.source[k].length > 64))
          return `events[${i}].source.${k} が文字列ではありません`;
    }
    if (e.replyToken !== undefined && (typeof e.replyToken !== 'string' || e.replyToken.length > 256))
      return `events[${i}].replyToken が文字列ではありません`;
    if (e.postback !== undefined && (!isObj(e.postback) || typeof e.postback.data !== 'string'))
      return `events[${i}].postback.data が文字列ではありません`;
    if (e.message !== undefined && (!isObj(e.message) || typeof e.message.type !== 'string'))
      return `events[${i}].message.type がありません`;
  }
  return undefined;
}

/** LINE's webhooks began long after this; an earlier (or negative) timestamp is not an event time. */
const MIN_TIMESTAMP = Date.UTC(2011, 0, 1);
/** Clocks differ a little; an event a day ahead of ours is not plausible. */
const MAX_FUTURE_MS = 86_400_000;

/** The Asia/Tokyo calendar day of an epoch-ms instant, as yyyy-MM-dd. */
export function jstDay(ms: number): string {
  return tokyoToday(ms);
}

/** One row per event; message events keep only message.type. */
export function toRows(tenantId: string, events: WebhookEvent[], receivedAt: number): RawEventRow[] {
  return events.map((e) => ({
    tenant_id: tenantId,
    day: jstDay(e.timestamp),
    type: e.type,
    webhook_event_id: e.webhookEventId,
    ts: Math.trunc(e.timestamp),
    mode: str(e.mode, 16),
    source_type: str(e.source?.type, 16),
    user_id: str(e.source?.userId, 64),
    group_id: str(e.source?.groupId ?? e.source?.roomId, 64),
    is_redelivery: e.deliveryContext.isRedelivery ? 1 : 0,
    is_unblocked: e.type === 'follow' && isObj(e.follow) && e.follow.isUnblocked === true ? 1 : 0,
    postback_data: e.type === 'postback' && isObj(e.postback) ? str(e.postback.data, 300) : '',
    message_type: e.type === 'message' && isObj(e.message) ? str(e.message.type, 32) : '',
    received_at: receivedAt,
  }));
}

/**
 * The event as the log keeps it: everything the handlers read, but of a message only its type and
 * id (never text or media).
 */
export function forLog(e: WebhookEvent): WebhookEvent {
  if (e.type !== 'message' && e.message === undefined) return e;
  const { message, ...rest } = e;
  return isObj(message) ? { ...rest, message: { type: str(message.type, 32), id: str(message.id, 64) } } : rest;
}

/** LINE's reply tokens expire about a minute after the event; older events are not answered. */
export const REPLY_TOKEN_LIFETIME_MS = 55_000;

/** Whether the event can still be answered through the reply API (its token is fresh enough). */
export function replyTokenUsable(e: WebhookEvent, now = Date.now()): boolean {
  return (
    typeof e.replyToken === 'string' &&
    e.replyToken !== '' &&
    e.mode === 'active' &&
    now - e.timestamp < REPLY_TOKEN_LIFETIME_MS
  );
}
