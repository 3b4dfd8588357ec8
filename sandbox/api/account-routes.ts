/**
 * Reading the account: profiles, follower IDs, bot info, quota and consumption, numbers of
 * sent messages per day, and custom aggregation units used this month.
 */
import { createHash } from 'node:crypto';
import type { Handler } from './context.ts';
import { invalidQuery, notFound } from './errors.ts';
import { TOKYO_OFFSET_MS } from '../../core/time.ts';

const FOLLOWERS_DEFAULT_LIMIT = 300;
const AGGREGATION_LIST_DEFAULT_LIMIT = 100;
const AGGREGATION_LIST_MAX_LIMIT = 100;

/** yyyyMMdd of a simulated instant in Asia/Tokyo. */
export function tokyoDate(epochMs: number): string {
  return new Date(epochMs + TOKYO_OFFSET_MS).toISOString().slice(0, 10).replace(/-/g, '');
}

function encodeCursor(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}

/** Offset from a continuation token, or undefined when it is not one of ours. */
function decodeCursor(token: string): number | undefined {
  const m = /^o:(\d{1,10})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  return m ? Number(m[1]) : undefined;
}

function page<T>(items: readonly T[], start: unknown, limit: number, param = 'start'): { items: T[]; next?: string } {
  let offset = 0;
  if (start !== undefined) {
    const decoded = decodeCursor(String(start));
    if (decoded === undefined) throw invalidQuery([{ message: 'Invalid continuation token', property: param }]);
    offset = decoded;
  }
  const slice = items.slice(offset, offset + limit);
  const nextOffset = offset + slice.length;
  return nextOffset < items.length ? { items: slice, next: encodeCursor(nextOffset) } : { items: slice };
}

const getProfile: Handler = (ctx) => {
  const profile = ctx.channel.profile(ctx.params.userId!);
  if (!profile) throw notFound();
  return { status: 200, body: profile };
};

const getFollowers: Handler = (ctx) => {
  const limit = ctx.query.limit === undefined ? FOLLOWERS_DEFAULT_LIMIT : Number(ctx.query.limit);
  if (limit < 1) throw invalidQuery([{ message: 'must be greater than or equal to 1', property: 'limit' }]);
  const { items, next } = page(ctx.channel.followerIds(), ctx.query.start, limit);
  return { status: 200, body: next ? { userIds: items, next } : { userIds: items } };
};

const getBotInfo: Handler = (ctx) => {
  const { botUserId, displayName, channelId } = ctx.channel.config;
  const basicId = '@' + createHash('sha256').update(channelId).digest('hex').slice(0, 7) + 'x';
  return {
    status: 200,
    body: { userId: botUserId, basicId, displayName, chatMode: 'bot', markAsReadMode: 'auto' },
  };
};

const getMessageQuota: Handler = () => ({ status: 200, body: { type: 'none' } });

const getMessageQuotaConsumption: Handler = (ctx) => ({
  status: 200,
  body: { totalUsage: ctx.state.usageThisMonth(ctx.channel.config.channelId) },
});

function sentOnDate(kind: 'reply' | 'push' | 'multicast' | 'broadcast'): Handler {
  return (ctx) => {
    const date = String(ctx.query.date);
    if (!/^\d{8}$/.test(date)) throw invalidQuery([{ message: 'must be yyyyMMdd', property: 'date' }]);
    if (date >= tokyoDate(ctx.state.world.now())) return { status: 200, body: { status: 'unready' } };
    if (date < '20180331') return { status: 200, body: { status: 'out_of_service' } };
    let success = 0;
    for (const r of ctx.state.book(ctx.channel.config.channelId).accepted()) {
      if (r.kind === kind && tokyoDate(r.simulatedAt) === date) success += r.recipients.length;
    }
    return { status: 200, body: { status: 'ready', success } };
  };
}

const getAggregationUnitUsage: Handler = (ctx) => ({
  status: 200,
  body: { numOfCustomAggregationUnits: ctx.channel.aggregationUnitsThisMonth().length },
});

const getAggregationUnitNameList: Handler = (ctx) => {
  const limit = ctx.query.limit === undefined ? AGGREGATION_LIST_DEFAULT_LIMIT : Number(ctx.query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > AGGREGATION_LIST_MAX_LIMIT) {
    throw invalidQuery([{ message: `must be between 1 and ${AGGREGATION_LIST_MAX_LIMIT}`, property: 'limit' }]);
  }
  const { items, next } = page(ctx.channel.aggregationUnitsThisMonth(), ctx.query.start, limit);
  return { status: 200, body: next ? { customAggregationUnits: items, next } : { customAggregationUnits: items } };
};

export const accountRoutes: Record<string, Handler> = {
  getProfile,
  getFollowers,
  getBotInfo,
  getMessageQuota,
  getMessageQuotaConsumption,
  getNumberOfSentReplyMessages: sentOnDate('reply'),
  getNumberOfSentPushMessages: sentOnDate('push'),
  getNumberOfSentMulticastMessages: sentOnDate('multicast'),
  getNumberOfSentBroadcastMessages: sentOnDate('broadcast'),
  getAggregationUnitUsage,
  getAggregationUnitNameList,
};
