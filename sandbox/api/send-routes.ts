/**
 * Sending messages: push, multicast, broadcast, narrowcast (+ progress), reply, and the
 * validate/* endpoints. Bodies arrive already validated against the OpenAPI schemas.
 */
import type { Handler } from './context.ts';
import { invalidProperty, invalidReplyToken, invalidRequestBody, notFound } from './errors.ts';
import { checkMessageLimits } from './message-limits.ts';
import { NarrowcastRunner } from './narrowcast.ts';

const USER_ID = /^U[0-9a-f]{32}$/;
const CHAT_ID = /^[UCR][0-9a-f]{32}$/;

function requireMessageLimits(messages: unknown): void {
  const details = checkMessageLimits(messages);
  if (details.length) throw invalidRequestBody(details);
}

const pushMessage: Handler = (ctx) => {
  const { to, messages, customAggregationUnits } = ctx.body;
  if (!CHAT_ID.test(to)) throw invalidProperty('to');
  requireMessageLimits(messages);
  ctx.state.deliver(
    ctx.channel,
    { requestId: ctx.requestId, kind: 'push', retryKey: ctx.retryKey, messages, customAggregationUnits },
    [to],
  );
  const sentMessages = ctx.state.sentMessages(messages);
  return { status: 200, body: { sentMessages }, sentMessages };
};

const multicast: Handler = (ctx) => {
  if (ctx.toIndexes) {
    // Read by the fast path: every ID is one of the channel's residents (hence well-formed).
    const { messages, customAggregationUnits } = ctx.body as { messages: unknown[]; customAggregationUnits?: string[] };
    requireMessageLimits(messages);
    ctx.state.deliver(
      ctx.channel,
      { requestId: ctx.requestId, kind: 'multicast', retryKey: ctx.retryKey, messages, customAggregationUnits },
      [],
      false,
      ctx.toIndexes,
    );
    return { status: 200, body: {} };
  }
  const { to, messages, customAggregationUnits } = ctx.body as {
    to: string[];
    messages: unknown[];
    customAggregationUnits?: string[];
  };
  // Resolved once: an ID that is one of the channel's residents is well-formed by construction,
  // so only the others need the pattern check.
  const indexes = ctx.state.residentIndexes(ctx.channel, to);
  const details: { message: string; property: string }[] = [];
  for (let i = 0; i < to.length; i++) {
    if ((indexes === undefined || indexes[i]! < 0) && !USER_ID.test(to[i]!))
      details.push({ message: 'Invalid user ID', property: `to[${i}]` });
  }
  details.push(...checkMessageLimits(messages));
  if (details.length) throw invalidRequestBody(details);
  ctx.state.deliver(
    ctx.channel,
    { requestId: ctx.requestId, kind: 'multicast', retryKey: ctx.retryKey, messages, customAggregationUnits },
    to,
    false,
    indexes,
  );
  return { status: 200, body: {} };
};

const broadcast: Handler = (ctx) => {
  requireMessageLimits(ctx.body.messages);
  ctx.state.deliver(
    ctx.channel,
    { requestId: ctx.requestId, kind: 'broadcast', retryKey: ctx.retryKey, messages: ctx.body.messages },
    ctx.channel.followerIds(),
    true,
  );
  return { status: 200, body: {} };
};

const narrowcast: Handler = (ctx) => {
  requireMessageLimits(ctx.body.messages);
  NarrowcastRunner.check(ctx.body);
  ctx.state.narrowcasts.start(ctx.channel, ctx.requestId, ctx.retryKey, ctx.body);
  return { status: 202, body: {} };
};

const getNarrowcastProgress: Handler = (ctx) => {
  const job = ctx.state.narrowcasts.progress(ctx.channel.config.channelId, String(ctx.query.requestId));
  if (!job) throw notFound();
  const { requestId: _r, channelId: _c, ...progress } = job;
  return { status: 200, body: progress };
};

const replyMessage: Handler = (ctx) => {
  const { replyToken, messages } = ctx.body as { replyToken: string; messages: { type?: unknown }[] };
  if (!replyToken) throw invalidReplyToken();
  requireMessageLimits(messages);
  let recipients: string[];
  if (ctx.channel.consumeReplyToken) {
    const userId = ctx.channel.consumeReplyToken(replyToken);
    if (!userId) throw invalidReplyToken();
    recipients = [userId];
  } else {
    const key = `${ctx.channel.config.channelId}\u0000${replyToken}`;
    if (ctx.state.usedReplyTokens.has(key)) throw invalidReplyToken();
    ctx.state.usedReplyTokens.add(key);
    recipients = [];
  }
  ctx.state.deliver(ctx.channel, { requestId: ctx.requestId, kind: 'reply', messages }, recipients);
  return { status: 200, body: { sentMessages: ctx.state.sentMessages(messages) } };
};

const validateMessages: Handler = (ctx) => {
  requireMessageLimits(ctx.body.messages);
  return { status: 200, body: {} };
};

export const sendRoutes: Record<string, Handler> = {
  pushMessage,
  multicast,
  broadcast,
  narrowcast,
  getNarrowcastProgress,
  replyMessage,
  validatePush: validateMessages,
  validateMulticast: validateMessages,
  validateBroadcast: validateMessages,
  validateNarrowcast: validateMessages,
  validateReply: validateMessages,
};
